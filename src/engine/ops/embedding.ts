// Embedding lookup (torch.nn.functional.embedding semantics): rows of a weight table picked by
// int32 indices, with a deterministic scatter-add backward (shaders/embedding.ts).

import { runtime, grid1d, EngramError } from '../runtime.js';
import { EMBEDDING_WGSL, EMBEDDING_BACKWARD_WGSL, EMBEDDING_BACKWARD_SORTED_WGSL } from '../../shaders/embedding.js';
import { sort } from './sort.js';
import { toFloat } from './fill.js';
import { reshape } from './shape-ops.js';
import { noGrad } from '../scope.js';
import { empty, withGrad, type Tensor } from '../tensor.js';
import { shapeStr } from '../shape.js';

/**
 * Rows of `weight` [numEmbeddings, embeddingDim] picked by the int32 `indices` (any shape), like
 * torch.nn.functional.embedding: the result has shape [...indices.shape, embeddingDim]. An index
 * outside [0, numEmbeddings) cannot be seen without reading the GPU back: it is reported at the
 * next readback or sync (an error naming the value and the range) and its output row is NaN.
 * The gradient flows to `weight` only (repeated indices sum, deterministically); the row
 * `paddingIdx` (negative counts from the end, as in PyTorch) gets none.
 */
export function embedding(indices: Tensor, weight: Tensor, paddingIdx: number | null = null): Tensor {
  if (typeof indices !== 'object' || indices === null || indices.dtype !== 'int32') {
    throw new EngramError(`embedding: indices must be an int32 tensor, got ${indices?.dtype ?? typeof indices}${indices?.shape ? ` (shape ${shapeStr(indices.shape)})` : ''} (convert with toInt())`);
  }
  if (weight.dtype !== 'float32' || weight.rank !== 2) {
    throw new EngramError(`embedding: weight must be a float32 matrix [numEmbeddings, embeddingDim], got ${weight.dtype} ${shapeStr(weight.shape)}`);
  }
  const [V, E] = weight.shape as [number, number];
  let pad = -1;
  if (paddingIdx !== null) {
    if (!Number.isInteger(paddingIdx) || paddingIdx < -V || paddingIdx >= V) {
      throw new EngramError(`embedding: paddingIdx must be an integer in [${-V}, ${V}) for a weight of ${V} rows, got ${paddingIdx}`);
    }
    pad = paddingIdx < 0 ? paddingIdx + V : paddingIdx;
  }
  const K = indices.size;
  const rt = runtime();
  // The last binding is the index check's flags: an out-of-range index raises at the next readback.
  const k = rt.kernel({ name: 'embedding', wgsl: EMBEDDING_WGSL, bindings: ['read', 'read', 'write', 'write'] });
  const out = empty([...indices.shape, E]);
  rt.dispatch(k, [weight.buffer, indices.buffer, out.buffer, rt.indexFlags()], [out.size, V, E, 0x7fc00000], grid1d(out.size));
  return withGrad(out, 'embedding', [weight], (g) => {
    const rb = runtime();
    const dw = empty(weight.shape);
    const params = [dw.size, E, K, pad >>> 0];
    if (useSortedBackward(V, E, K)) {
      // Sort the indices once (stable: equal indices keep ascending j), then each (v, e) sums
      // its run: the same additions in the same order as the scan below.
      const { values, indices: perm } = noGrad(() => {
        const flat = reshape(indices, [K]);
        const asFloat = toFloat(flat);
        const s = sort(asFloat, 0);
        if (flat !== indices) flat.dispose();
        asFloat.dispose();
        return s;
      });
      const kb = rb.kernel({ name: 'embedding_bwd_sorted', wgsl: EMBEDDING_BACKWARD_SORTED_WGSL, bindings: ['read', 'read', 'read', 'write'] });
      rb.dispatch(kb, [g.buffer, values.buffer, perm.buffer, dw.buffer], params, grid1d(dw.size));
      values.dispose();
      perm.dispose();
      return [dw];
    }
    const kb = rb.kernel({ name: 'embedding_bwd', wgsl: EMBEDDING_BACKWARD_WGSL, bindings: ['read', 'read', 'write'] });
    rb.dispatch(kb, [g.buffer, indices.buffer, dw.buffer], params, grid1d(dw.size));
    return [dw];
  }, { saved: [indices] });
}

/**
 * Whether the embedding backward sorts the indices first: the scan costs V * E * K steps, the
 * sorted form K^2 (the rank sort) + V * E * log2(K) + K * E, so it wins for large tables. Indices
 * travel as float32 in the sort, exact only below 2^24 rows. Exported for the tests, which run
 * both forms.
 * @internal
 */
export function useSortedBackward(V: number, E: number, K: number): boolean {
  if (V >= 2 ** 24 || K < 2) return false;
  return K * K + V * E * Math.log2(K) + K * E < V * E * K;
}
