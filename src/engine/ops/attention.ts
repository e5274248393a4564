// Scaled dot-product attention with the semantics of PyTorch 2.x's
// torch.nn.functional.scaled_dot_product_attention (math path):
//   out = softmax(q kᵀ · scale + mask) v
// q [..., L, E], k [..., S, E], v [..., S, Ev] -> out [..., L, Ev]; batch dimensions broadcast as in matmul.
//
// Two implementations, chosen automatically ('auto'; `implementation` forces one):
//  - fused: one WGSL kernel forward (flash-attention style, src/shaders/attention.ts: online softmax over
//    key tiles in workgroup memory, the [L, S] scores never stored) and two backward kernels that recompute
//    the probabilities from the saved row log-sum-exp. Used when the head dims E and Ev are at most 64,
//    q, k and v have the same batch dimensions, and the mask is none, causal, or [L, S] (or [1, S]) shared
//    by all batches or given along one run of batch dimensions (e.g. [N, 1, L, S] or a key padding mask
//    [N, 1, 1, S] for [N, heads, L, E]), taking no gradient.
//  - composed: existing ops (matmul, mul, add/where, softmax), so autograd gives the backward as the
//    composition of those ops' WGSL backward kernels. Everything else (broadcast batches, batched masks,
//    large head dims, a mask that requires grad).
//
// Masks, as in PyTorch: a float32 `attnMask` is added to the scores (use -Infinity to exclude a key);
// an int32 `attnMask` is boolean, non-zero = the key takes part (PyTorch's bool mask, True = attend).
// `isCausal` keeps key j for query i where j <= i (top-left aligned, as torch.ones(L, S).tril()).
// A query row whose keys are all masked gives NaN, as PyTorch's math path does (softmax of a row of -inf);
// its gradient is NaN when composed and 0 when fused.

import { EngramError, runtime, f32bits } from '../runtime.js';
import { empty, tensor, withGrad, type Tensor } from '../tensor.js';
import { scope } from '../scope.js';
import { numel, sameShape, shapeStr } from '../shape.js';
import { add, mul, where } from './elementwise.js';
import { matmul } from './matmul.js';
import { expand, narrow, reshape, stack, transpose } from './shape-ops.js';
import { softmax } from './softmax.js';
import { sum } from './reduce.js';
import {
  attentionForwardWGSL, attentionBackwardQWGSL, attentionBackwardKVWGSL, ATTENTION_MAX_HEAD_DIM, type AttentionMask,
} from '../../shaders/attention.js';
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
  /**
   * 'auto' (default): the fused kernels where they apply, else the composed ops; 'fused' (raises where the
   * fused kernels do not apply) or 'composed' to choose.
   */
  implementation?: 'auto' | 'fused' | 'composed';
}

/**
 * Scaled dot-product attention, as torch.nn.functional.scaled_dot_product_attention (PyTorch 2.x):
 * softmax(q kᵀ · scale + mask) v, with q [..., L, E], k [..., S, E], v [..., S, Ev] giving [..., L, Ev].
 * One fused WGSL kernel forward and two backward (flash-attention style) for head dims up to 64, equal
 * batch dimensions and a mask that is none, causal or [L, S] per batch or shared; otherwise composed of matmul, softmax and
 * elementwise ops. A query whose keys are all masked out gives NaN, as in PyTorch.
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
  const impl = opts.implementation ?? 'auto';
  if (impl !== 'auto' && impl !== 'fused' && impl !== 'composed') throw new EngramError(`${op}: implementation must be 'auto', 'fused' or 'composed', got ${String(impl)}`);
  const Ev = v.shape[v.rank - 1]!;
  const batch = q.shape.slice(0, -2);
  const B = numel(batch);
  const layout = mask ? maskLayout(mask.shape, batch, L, S) : null;
  const why = impl === 'composed' ? 'composed requested'
    : E > ATTENTION_MAX_HEAD_DIM || Ev > ATTENTION_MAX_HEAD_DIM ? `head dims ${E}, ${Ev} above ${ATTENTION_MAX_HEAD_DIM}`
    : !sameShape(batch, k.shape.slice(0, -2)) || !sameShape(batch, v.shape.slice(0, -2)) ? 'q, k and v differ in batch dimensions'
    : B * L * S === 0 || B > 65535 ? 'empty or too large a batch'
    : mask && !layout ? `the mask ${shapeStr(mask.shape)} is not [L, S] broadcast along one run of batch dimensions`
    : mask?.requiresGrad ? 'the mask requires grad'
    : null;
  if (why === null) return fusedAttention(q, k, v, mask, isCausal, scale, { B, L, S, E, Ev }, layout ?? { mdiv: 1, mmod: 1, expandTo: null });
  if (impl === 'fused') throw new EngramError(`${op}: the fused kernels do not apply here (${why})`);
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

interface MaskLayout {
  /** Batch b of the flattened batch dims reads mask (b / mdiv) % mmod. */
  mdiv: number;
  mmod: number;
  /** The shape to expand the mask to when its query dim is 1 (else null). */
  expandTo: number[] | null;
}

/**
 * How the fused kernels index a mask of `shape` broadcast to [...batch, L, S]: its key dim is S, its
 * query dim L or 1, and its batch dims equal the batch's along one run of dimensions and are 1
 * elsewhere. Null when the mask has another shape (the composed path takes it).
 */
function maskLayout(shape: readonly number[], batch: readonly number[], L: number, S: number): MaskLayout | null {
  const rank = batch.length + 2;
  if (shape.length > rank || shape.length === 0) return null;
  const m = [...new Array<number>(rank - shape.length).fill(1), ...shape];
  if (m[rank - 1] !== S || (m[rank - 2] !== L && m[rank - 2] !== 1)) return null;
  const run: number[] = [];
  for (let i = 0; i < batch.length; i++) {
    if (m[i] === batch[i]) {
      if (batch[i] !== 1) run.push(i);
    } else if (m[i] !== 1) return null;
  }
  if (run.length > 0 && run[run.length - 1]! - run[0]! + 1 !== run.length) return null;
  const mmod = run.length ? numel(batch.slice(run[0]!, run[run.length - 1]! + 1)) : 1;
  const mdiv = run.length ? numel(batch.slice(run[run.length - 1]! + 1)) : 1;
  return { mdiv, mmod, expandTo: m[rank - 2] === L ? null : [...m.slice(0, -2), L, S] };
}

/** The fused path: forward kernel now, the two backward kernels in the gradient function. */
function fusedAttention(q: Tensor, k: Tensor, v: Tensor, mask: Tensor | null, isCausal: boolean, scale: number, d: { B: number; L: number; S: number; E: number; Ev: number }, layout: MaskLayout): Tensor {
  const { B, L, S, E, Ev } = d;
  const rt = runtime();
  const kind: AttentionMask = mask ? 'add' : isCausal ? 'causal' : 'none';
  // An int32 mask becomes additive (0 where kept, -inf where excluded); a mask with a query dim of 1 is
  // expanded to L rows. Both are owned by the graph.
  let m = mask?.dtype === 'int32' ? where(mask, 0, -Infinity) : mask;
  if (m && layout.expandTo) {
    const e = expand(m, layout.expandTo);
    if (m !== mask) m.dispose();
    m = e;
  }
  const owned = m && m !== mask ? [m] : [];
  const mbuf = m ? m.buffer : q.buffer; // unused binding when there is no mask buffer
  const params = [B, L, S, f32bits(scale), layout.mdiv, layout.mmod];
  const out = empty([...q.shape.slice(0, -1), Ev]);
  const lse = empty([B * L]);
  const fwd = rt.kernel({ name: `sdpa_fwd_${kind}`, wgsl: attentionForwardWGSL(E, Ev, kind), bindings: ['read', 'read', 'read', 'read', 'write', 'write'] });
  rt.dispatch(fwd, [q.buffer, k.buffer, v.buffer, mbuf, out.buffer, lse.buffer], params, [Math.ceil(L / 64), B]);
  return withGrad(out, 'scaledDotProductAttention', [q, k, v], (g) => {
    // STATS [B * L, 2]: the row log-sum-exp and D = sum(g * out) over the row.
    const delta = sum(mul(g, out), -1);
    const flat = reshape(delta, [B * L]);
    const stats = stack([lse, flat], -1);
    flat.dispose();
    delta.dispose();
    const bindings = ['read', 'read', 'read', 'read', 'read', 'read', 'write'] as const;
    let dq: Tensor | null = null;
    if (q.requiresGrad) {
      const kq = rt.kernel({ name: `sdpa_bwd_q_${kind}`, wgsl: attentionBackwardQWGSL(E, Ev, kind), bindings: [...bindings] });
      dq = empty(q.shape);
      rt.dispatch(kq, [q.buffer, k.buffer, v.buffer, mbuf, stats.buffer, g.buffer, dq.buffer], params, [Math.ceil(L / 64), B]);
    }
    let dk: Tensor | null = null;
    let dv: Tensor | null = null;
    if (k.requiresGrad || v.requiresGrad) {
      const kkv = rt.kernel({ name: `sdpa_bwd_kv_${kind}`, wgsl: attentionBackwardKVWGSL(E, Ev, kind), bindings: [...bindings] });
      const dkv = empty([B, S, E + Ev]);
      rt.dispatch(kkv, [q.buffer, k.buffer, v.buffer, mbuf, stats.buffer, g.buffer, dkv.buffer], params, [Math.ceil(S / 64), B]);
      if (k.requiresGrad) {
        const t = narrow(dkv, -1, 0, E);
        dk = reshape(t, k.shape);
        t.dispose();
      }
      if (v.requiresGrad) {
        const t = narrow(dkv, -1, E, Ev);
        dv = reshape(t, v.shape);
        t.dispose();
      }
      dkv.dispose();
    }
    stats.dispose();
    return [dq, dk, dv];
  }, { saved: [q, k, v, out, ...(m ? [m] : [])], owned: [lse, ...owned] });
}
