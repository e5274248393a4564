// softmax, logSoftmax (over any dimension) and crossEntropy (logits [N, C], int32 labels [N]).
// Forward and backward are GPU kernels; nothing is read back to the CPU.

import { runtime, grid1d, f32bits, EngramError } from '../runtime.js';
import { ROW_MAPPING_MIN, type ReduceLayout } from '../../shaders/reduce.js';
import {
  softmaxForwardWGSL, softmaxBackwardWGSL, crossEntropyForwardWGSL, CROSS_ENTROPY_BACKWARD_WGSL,
} from '../../shaders/softmax.js';
import { empty, needsGrad, withGrad, type Tensor } from '../tensor.js';
import { noGrad } from '../scope.js';
import { normalizeDim, numel, shapeStr } from '../shape.js';
import { mean, sum } from './reduce.js';

/** Launch a row kernel over `rows` rows of length r: a workgroup per row, or a thread per row. */
function launch(layout: ReduceLayout, rows: number): [number, number] {
  return layout === 'row' ? grid1d(rows, 1) : grid1d(rows);
}

function layoutFor(r: number, inner: number): ReduceLayout {
  return inner === 1 && r >= ROW_MAPPING_MIN ? 'row' : 'col';
}

function softmaxFamily(log: boolean, x: Tensor, dim: number): Tensor {
  const op = log ? 'logSoftmax' : 'softmax';
  if (x.dtype !== 'float32') throw new EngramError(`${op}: expects a float32 tensor, got ${x.dtype} (shape ${shapeStr(x.shape)}); convert with toFloat()`);
  if (typeof dim !== 'number') throw new EngramError(`${op}: dim must be a single integer, got ${JSON.stringify(dim)}`);
  const d = normalizeDim(dim, x.rank, op);
  const shape = x.rank === 0 ? [1] : x.shape; // a scalar is a row of one
  const outer = numel(shape.slice(0, d));
  const r = shape[d]!;
  const inner = numel(shape.slice(d + 1));
  const layout = layoutFor(r, inner);
  const params = [outer, r, inner];
  const rt = runtime();
  const fwd = rt.kernel({ name: `${op}_fwd_${layout}`, wgsl: softmaxForwardWGSL(log, layout), bindings: ['read', 'write'] });
  const y = empty(x.shape);
  rt.dispatch(fwd, [x.buffer, y.buffer], params, launch(layout, outer * inner));
  return withGrad(y, op, [x], (g) => {
    const bwd = rt.kernel({ name: `${op}_bwd_${layout}`, wgsl: softmaxBackwardWGSL(log, layout), bindings: ['read', 'read', 'write'] });
    const dx = empty(x.shape);
    rt.dispatch(bwd, [g.buffer, y.buffer, dx.buffer], params, launch(layout, outer * inner));
    return [dx];
  });
}

/** softmax along `dim` (default last), like torch.softmax. */
export function softmax(x: Tensor, dim = -1): Tensor {
  return softmaxFamily(false, x, dim);
}

/** log(softmax(x)) along `dim`, computed stably as x - max - log(sum(exp(x - max))). */
export function logSoftmax(x: Tensor, dim = -1): Tensor {
  return softmaxFamily(true, x, dim);
}

/** Options for `crossEntropy()`. */
export interface CrossEntropyOptions {
  /** 'mean' (default) over the N rows, 'sum', or 'none' for the per-row losses [N]. */
  reduction?: 'mean' | 'sum' | 'none';
}

/**
 * Cross-entropy between logits [N, C] (float32) and class indices labels [N] (int32), like
 * torch.nn.functional.cross_entropy: per row, logsumexp(logits) - logits[label].
 *
 * Labels outside [0, C) cannot be detected without a GPU->CPU readback, which this op never does;
 * instead the row's loss (and so a 'mean'/'sum' loss) and its gradient come out NaN. There is no
 * ignore_index: a label of -100 is out of range too.
 */
export function crossEntropy(logits: Tensor, labels: Tensor, opts: CrossEntropyOptions = {}): Tensor {
  const reduction = opts.reduction ?? 'mean';
  if (reduction !== 'mean' && reduction !== 'sum' && reduction !== 'none') {
    throw new EngramError(`crossEntropy: reduction must be 'mean', 'sum' or 'none', got ${JSON.stringify(reduction)}`);
  }
  if (logits.dtype !== 'float32') {
    throw new EngramError(`crossEntropy: logits must be float32, got ${logits.dtype} (shape ${shapeStr(logits.shape)})`);
  }
  if (labels.dtype !== 'int32') {
    throw new EngramError(`crossEntropy: labels must be int32 class indices, got ${labels.dtype} (shape ${shapeStr(labels.shape)}); build them with { dtype: 'int32' }`);
  }
  if (logits.rank !== 2 || labels.rank !== 1 || labels.shape[0] !== logits.shape[0]) {
    throw new EngramError(`crossEntropy: logits ${shapeStr(logits.shape)} and labels ${shapeStr(labels.shape)} do not match; expected logits [N, C] and labels [N]`);
  }
  const [n, c] = logits.shape as [number, number];
  if (c === 0) throw new EngramError(`crossEntropy: logits ${shapeStr(logits.shape)} have no classes`);

  const rt = runtime();
  const layout = layoutFor(c, 1);
  const fwd = rt.kernel({ name: `crossEntropy_fwd_${layout}`, wgsl: crossEntropyForwardWGSL(layout), bindings: ['read', 'read', 'write', 'write'] });
  const losses = empty([n]);
  const lse = empty([n]);
  rt.dispatch(fwd, [logits.buffer, labels.buffer, losses.buffer, lse.buffer], [n, c, 1, f32bits(NaN)], launch(layout, n));

  let out = losses;
  if (reduction !== 'none') {
    out = noGrad(() => (reduction === 'mean' ? mean(losses) : sum(losses)));
    losses.dispose();
  }
  if (!needsGrad(logits)) {
    lse.dispose();
    return out;
  }
  const gstride = reduction === 'none' ? 1 : 0; // a reduced loss has one upstream value for all rows
  const scale = reduction === 'mean' ? 1 / n : 1;
  return withGrad(out, 'crossEntropy', [logits, labels], (g) => {
    const bwd = rt.kernel({ name: 'crossEntropy_bwd', wgsl: CROSS_ENTROPY_BACKWARD_WGSL, bindings: ['read', 'read', 'read', 'read', 'write'] });
    const dx = empty(logits.shape);
    rt.dispatch(bwd, [logits.buffer, labels.buffer, lse.buffer, g.buffer, dx.buffer], [n * c, c, gstride, f32bits(scale)], grid1d(n * c));
    lse.dispose(); // the graph is freed after backward; lse is not needed again
    return [dx, null];
  });
}
