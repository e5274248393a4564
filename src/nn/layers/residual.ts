// Residual connection: y = body(x) + shortcut(x) (shortcut defaults to the identity), the building
// block of ResNets.

import { add } from '../../engine/ops/elementwise.js';
import type { Tensor } from '../../engine/tensor.js';
import { Module } from '../module.js';

/**
 * Residual connection y = body(x) + shortcut(x), the building block of ResNets; the shortcut defaults to the
 * identity.
 */
export class Residual extends Module {
  /** The main branch (child 'body'). */
  readonly body: Module;
  /** The shortcut branch (child 'shortcut'), or null for the identity. */
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
