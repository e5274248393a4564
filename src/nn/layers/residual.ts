// Residual connection: y = body(x) + shortcut(x) (shortcut defaults to the identity), the building
// block of ResNets.

import { add } from '../../engine/ops/elementwise.js';
import type { Tensor } from '../../engine/tensor.js';
import { Module } from '../module.js';

export class Residual extends Module {
  readonly body: Module;
  readonly shortcut: Module | null;

  constructor(body: Module, shortcut: Module | null = null) {
    super();
    this.body = this.registerModule('body', body);
    this.shortcut = shortcut ? this.registerModule('shortcut', shortcut) : null;
  }

  forward(x: Tensor): Tensor {
    const s = this.shortcut ? this.shortcut.forward(x) : x;
    return add(this.body.forward(x), s);
  }
}
