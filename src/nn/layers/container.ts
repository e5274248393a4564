// Sequential: children applied in order, named "0", "1", ... as in torch.nn.Sequential.

import { EngramError } from '../../engine/runtime.js';
import type { Tensor } from '../../engine/tensor.js';
import { Module } from '../module.js';

export class Sequential extends Module {
  private readonly layers: Module[];

  constructor(...layers: Module[]) {
    super();
    this.layers = layers;
    layers.forEach((m, i) => this.registerModule(String(i), m));
  }

  forward(x: Tensor): Tensor {
    let h = x;
    for (const m of this.layers) h = m.forward(h);
    return h;
  }

  /** The i-th layer (negative counts from the end). */
  at(i: number): Module {
    const m = this.layers[i < 0 ? this.layers.length + i : i];
    if (!m) throw new EngramError(`Sequential.at: index ${i} out of range for ${this.layers.length} layers`);
    return m;
  }

  get length(): number {
    return this.layers.length;
  }
}
