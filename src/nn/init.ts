// Parameter initialization matching PyTorch's defaults, drawing from engram's seeded generator.

import { uniform, zeros, ones, type Tensor } from '../engine/tensor.js';
import { defaultGenerator, type Generator } from '../engine/random.js';

/**
 * PyTorch's default for Linear and Conv2d weights: kaiming_uniform_(a = sqrt(5)), which works out to
 * U(-1/sqrt(fanIn), 1/sqrt(fanIn)); biases use the same bound.
 */
export function defaultUniform(shape: readonly number[], fanIn: number, generator: Generator = defaultGenerator): Tensor {
  const bound = fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0;
  return uniform(shape, -bound, bound, { generator });
}

/** Kaiming (He) uniform for ReLU networks: U(-b, b) with b = sqrt(6 / fanIn). */
export function kaimingUniform(shape: readonly number[], fanIn: number, generator: Generator = defaultGenerator): Tensor {
  const bound = Math.sqrt(6 / fanIn);
  return uniform(shape, -bound, bound, { generator });
}

export { zeros, ones };
