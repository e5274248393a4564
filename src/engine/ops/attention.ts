// Scaled dot-product attention with the semantics of PyTorch 2.x's
// torch.nn.functional.scaled_dot_product_attention (math path):
//   out = softmax(q kᵀ · scale + mask) v
// q [..., L, E], k [..., S, E], v [..., S, Ev] -> out [..., L, Ev]; batch dimensions broadcast as in matmul.
//
// Composed of existing ops (matmul, mul, add/where, softmax), so autograd gives the backward: every
// gradient is the composition of those ops' WGSL backward kernels.
//
// Masks, as in PyTorch: a float32 `attnMask` is added to the scores (use -Infinity to exclude a key);
// an int32 `attnMask` is boolean, non-zero = the key takes part (PyTorch's bool mask, True = attend).
// `isCausal` keeps key j for query i where j <= i (top-left aligned, as torch.ones(L, S).tril()).
// A query row whose keys are all masked gives NaN, as PyTorch's math path does (softmax of a row of -inf).

import { EngramError } from '../runtime.js';
import { tensor, type Tensor } from '../tensor.js';
import { scope } from '../scope.js';
import { shapeStr } from '../shape.js';
import { add, mul, where } from './elementwise.js';
import { matmul } from './matmul.js';
import { transpose } from './shape-ops.js';
import { softmax } from './softmax.js';
import { checkBoolean, checkNumber } from '../validate.js';

/** Options of {@link scaledDotProductAttention}. */
export interface ScaledDotProductAttentionOptions {
  /**
   * Mask broadcast to the scores [..., L, S]: float32 is added to the scores (-Infinity excludes a key);
   * int32 is boolean, non-zero where the key takes part (PyTorch's bool mask, True = attend).
   */
  attnMask?: Tensor | null;
  /** Causal masking: query i attends to keys 0..i only (top-left aligned); not together with `attnMask`. */
  isCausal?: boolean;
  /** Factor on q kᵀ (default 1 / sqrt(E)). */
  scale?: number;
}

/**
 * Scaled dot-product attention, as torch.nn.functional.scaled_dot_product_attention (PyTorch 2.x):
 * softmax(q kᵀ · scale + mask) v, with q [..., L, E], k [..., S, E], v [..., S, Ev] giving [..., L, Ev].
 * Composed of matmul, softmax and elementwise ops (their WGSL kernels, forward and backward). A query
 * whose keys are all masked out gives NaN, as in PyTorch.
 */
export function scaledDotProductAttention(q: Tensor, k: Tensor, v: Tensor, opts: ScaledDotProductAttentionOptions = {}): Tensor {
  const op = 'scaledDotProductAttention';
  for (const [name, t] of [['q', q], ['k', k], ['v', v]] as const) {
    if (t.dtype !== 'float32') throw new EngramError(`${op}: ${name} must be float32, got ${t.dtype}`);
    if (t.rank < 2) throw new EngramError(`${op}: ${name} needs at least 2 dimensions ([..., length, features]), got ${shapeStr(t.shape)}`);
  }
  const E = q.shape[q.rank - 1]!;
  const L = q.shape[q.rank - 2]!;
  const S = k.shape[k.rank - 2]!;
  if (k.shape[k.rank - 1] !== E) throw new EngramError(`${op}: q ${shapeStr(q.shape)} and k ${shapeStr(k.shape)} differ in the last dimension`);
  if (v.shape[v.rank - 2] !== S) throw new EngramError(`${op}: k ${shapeStr(k.shape)} and v ${shapeStr(v.shape)} differ in the sequence dimension (-2)`);
  const isCausal = checkBoolean(op, 'isCausal', opts.isCausal ?? false);
  const scale = opts.scale === undefined ? 1 / Math.sqrt(E) : checkNumber(op, 'scale', opts.scale);
  const mask = opts.attnMask ?? null;
  if (mask && isCausal) throw new EngramError(`${op}: pass either attnMask or isCausal, not both (as PyTorch)`);
  if (mask && mask.dtype !== 'float32' && mask.dtype !== 'int32') throw new EngramError(`${op}: attnMask must be float32 (additive) or int32 (boolean), got ${mask.dtype}`);
  return scope(() => {
    let scores = mul(matmul(q, transpose(k, -2, -1)), scale);
    if (mask) {
      scores = mask.dtype === 'int32' ? where(mask, scores, -Infinity) : add(scores, mask);
    } else if (isCausal) {
      const m = new Float32Array(L * S);
      for (let i = 0; i < L; i++) for (let j = i + 1; j < S; j++) m[i * S + j] = -Infinity;
      scores = add(scores, tensor(m, [L, S]));
    }
    return matmul(softmax(scores, -1), v);
  });
}
