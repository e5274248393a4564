// Sequential: children applied in order, named "0", "1", ... as in torch.nn.Sequential.
// A layer that can apply ReLU inside its own kernel (Conv2d, Linear, batch norm) followed by a ReLU module
// runs as one fused op (same values and gradients, one pass less over the activation).

import { EngramError } from '../../engine/runtime.js';
import type { Tensor } from '../../engine/tensor.js';
import { Module } from '../module.js';
import { ReLU } from './activation.js';

/** A layer whose forward can end with a ReLU computed in the same kernel (Conv2d, Linear, BatchNorm). */
export interface ReluFusable {
  /** relu(forward(x)), fused. */
  forwardRelu(x: Tensor): Tensor;
  /** The forward that forwardRelu fuses: a subclass that overrides forward alone is not fused. */
  readonly fusedForward: (x: Tensor) => Tensor;
}

function reluFusable(m: Module): m is Module & ReluFusable {
  const f = m as Module & Partial<ReluFusable>;
  return typeof f.forwardRelu === 'function' && f.fusedForward === f.forward;
}

/**
 * Applies its layers in order, as torch.nn.Sequential; children are named "0", "1", ... A Conv2d, Linear or
 * batch-norm layer followed by a ReLU runs as one fused op (see `fuseRelu`).
 */
export class Sequential extends Module {
  /** Fuse "layer, ReLU" pairs (see the file comment); set false to run every layer on its own. */
  static fuseRelu = true;
  private readonly layers: Module[];

  constructor(...layers: Module[]) {
    super();
    this.layers = layers;
    layers.forEach((m, i) => this.registerModule(String(i), m));
  }

  forward(x: Tensor): Tensor {
    let h = x;
    const layers = this.layers;
    for (let i = 0; i < layers.length; i++) {
      const m = layers[i]!;
      const next = layers[i + 1];
      if (Sequential.fuseRelu && next?.constructor === ReLU && reluFusable(m)) {
        h = m.forwardRelu(h);
        i++; // the ReLU is done
      } else {
        h = m.forward(h);
      }
    }
    return h;
  }

  /** The i-th layer (negative counts from the end). */
  at(i: number): Module {
    const m = this.layers[i < 0 ? this.layers.length + i : i];
    if (!m) throw new EngramError(`Sequential.at: index ${i} out of range for ${this.layers.length} layers`);
    return m;
  }

  /** Number of layers. */
  get length(): number {
    return this.layers.length;
  }
}
