// Batch normalization (torch.nn.functional.batch_norm semantics) over [N, C], [N, C, L],
// [N, C, H, W] (any rank >= 2): statistics per channel over every dimension but C.
// Training normalizes with the batch mean and biased variance and updates the running stats in
// place on the GPU; eval normalizes with the running stats. Nothing is read back.
// Training runs either two kernels per pass (statistics over one workgroup per channel, then one
// thread per element) or, where one workgroup per channel is parallelism enough (`batchNormFusion`),
// one fused kernel per pass that reduces and then normalizes (or writes dx) in the same workgroup.

import { runtime, grid1d, f32bits, EngramError } from '../runtime.js';
import {
  bnStatsWGSL, BN_EVAL_STATS_WGSL, bnNormalizeWGSL, bnBackwardReduceWGSL, bnBackwardDxWGSL,
  bnStatsNormalizeWGSL, bnBackwardFusedWGSL,
} from '../../shaders/batchnorm.js';
import { empty, zeros, withGrad, type Tensor } from '../tensor.js';
import { shapeStr } from '../shape.js';

/** Options for `batchNorm()`. */
export interface BatchNormOptions {
  /** Batch statistics (true) or running statistics (false). */
  training: boolean;
  /** Weight of the new batch statistic in the running average (default 0.1). */
  momentum?: number;
  /** Added to the variance before the square root (default 1e-5). */
  eps?: number;
  /**
   * Apply ReLU to the output in the same kernel: equals `relu(batchNorm(...))` (values and
   * gradients) without the extra passes over the activation in forward and backward.
   */
  relu?: boolean;
}

/**
 * When training-mode batch norm runs its fused kernels (statistics + normalize, reduce + dx: one
 * workgroup per channel does both passes): 'auto' (default) on CPU-backed adapters always (their
 * few cores are kept busy by a handful of channel workgroups, and the second pass reads the channel
 * from cache), on GPUs when C >= FUSED_MIN_CHANNELS_GPU; 'always' and 'never' force one path (tests,
 * benchmarks). Results are the same up to float rounding either way (tested).
 */
export const batchNormFusion: BatchNormFusion = { mode: 'auto', vec4: true };

/** The setting `batchNormFusion` holds. */
export interface BatchNormFusion {
  /** 'auto' (the adapter decides, see `batchNormFusion`), 'always' or 'never'. */
  mode: 'auto' | 'always' | 'never';
  /**
   * The fused kernels read and write four values per load when the spatial size (H * W) is a
   * multiple of 4 (the `_vec4` kernels; default true): a quarter of the loads and bounds checks.
   * Their sums add in another order, so the statistics equal the scalar kernels' to rounding.
   */
  vec4: boolean;
}

/** Whether the fused kernels take their vec4 form for this layout. */
function fusedVec4(L: Layout): boolean {
  return batchNormFusion.vec4 && L.S % 4 === 0;
}

/**
 * Channels from which a GPU runs the fused kernels in 'auto' mode: one workgroup per channel then
 * gives about two workgroups per compute unit of a large GPU (an H200 has 132). Not yet measured on a
 * GPU; below it the per-element kernels spread the elementwise pass over the whole device.
 */
export const FUSED_MIN_CHANNELS_GPU = 256;

function fused(C: number): boolean {
  const mode = batchNormFusion.mode;
  if (mode !== 'auto') return mode === 'always';
  return runtime().cpuBacked || C >= FUSED_MIN_CHANNELS_GPU;
}

interface Layout {
  C: number;
  /** Product of the spatial dimensions (1 for [N, C]). */
  S: number;
  /** Elements per channel: N * S. */
  count: number;
}

/** Elementwise kernels on the (ceil(S/64), C, N) grid: spatial inputs within the grid limits. */
function planesGrid(x: Tensor, L: Layout): [number, number, number] | null {
  const max = runtime().device.limits.maxComputeWorkgroupsPerDimension;
  const N = x.shape[0]!;
  return L.S >= 64 && L.C <= max && N <= max && N > 0 ? [Math.ceil(L.S / 64), L.C, N] : null;
}

function layoutOf(x: Tensor): Layout {
  const C = x.shape[1]!;
  let S = 1;
  for (let d = 2; d < x.rank; d++) S *= x.shape[d]!;
  return { C, S, count: x.shape[0]! * S };
}

function checkVector(t: Tensor | null, what: string, x: Tensor, C: number): void {
  if (!t) return;
  if (t.dtype !== 'float32') throw new EngramError(`batchNorm: ${what} must be float32, got ${t.dtype}`);
  if (t.rank !== 1 || t.shape[0] !== C) {
    throw new EngramError(`batchNorm: ${what} has shape ${shapeStr(t.shape)}, expected [${C}] for input ${shapeStr(x.shape)} (C = ${C})`);
  }
}

function validate(x: Tensor, rm: Tensor | null, rv: Tensor | null, w: Tensor | null, b: Tensor | null, training: boolean): Layout {
  if (x.dtype !== 'float32') throw new EngramError(`batchNorm: expects a float32 input, got ${x.dtype} (shape ${shapeStr(x.shape)})`);
  if (x.rank < 2) throw new EngramError(`batchNorm: expected an input of shape [N, C, ...] (2 or more dimensions), got ${shapeStr(x.shape)}`);
  const L = layoutOf(x);
  checkVector(rm, 'runningMean', x, L.C);
  checkVector(rv, 'runningVar', x, L.C);
  checkVector(w, 'weight', x, L.C);
  checkVector(b, 'bias', x, L.C);
  if ((rm === null) !== (rv === null)) throw new EngramError('batchNorm: pass both runningMean and runningVar, or neither');
  if ((w === null) !== (b === null)) throw new EngramError('batchNorm: pass both weight and bias, or neither');
  // Only exactly one value per channel is an error, as in PyTorch: an empty batch is not (see batchNorm).
  if (training && L.count === 1) {
    throw new EngramError(`batchNorm: expected more than 1 value per channel when training, got input of shape ${shapeStr(x.shape)}`);
  }
  if (!training && !rm) throw new EngramError('batchNorm: runningMean and runningVar are required in eval mode (training: false)');
  return L;
}

/** Per-channel mean and 1/sqrt(var + eps) from the batch, updating running stats in place. */
function batchStats(x: Tensor, L: Layout, rm: Tensor | null, rv: Tensor | null, momentum: number, eps: number): [Tensor, Tensor] {
  const rt = runtime();
  const running = rm !== null && rv !== null;
  const k = rt.kernel({ name: 'bn_stats', wgsl: bnStatsWGSL(running), bindings: running ? ['read', 'write', 'write', 'write', 'write'] : ['read', 'write', 'write'] });
  const mean = empty([2 * L.C]); // hi, then lo: see bnStatsWGSL
  const invstd = empty([L.C]);
  const bufs = [x.buffer, mean.buffer, invstd.buffer];
  if (running) bufs.push(rm.buffer, rv.buffer);
  rt.dispatch(k, bufs, [L.C, L.S, L.count, f32bits(momentum), f32bits(eps)], grid1d(L.C, 1));
  return [mean, invstd];
}

/** Batch statistics and the normalized output in one dispatch (bnStatsNormalizeWGSL): [mean, invstd, y]. */
function statsNormalize(x: Tensor, L: Layout, rm: Tensor | null, rv: Tensor | null, w: Tensor | null, b: Tensor | null, momentum: number, eps: number, relu: boolean): [Tensor, Tensor, Tensor] {
  const rt = runtime();
  const running = rm !== null && rv !== null;
  const affine = w !== null && b !== null;
  const mean = empty([2 * L.C]); // hi, then lo: see bnStatsWGSL
  const invstd = empty([L.C]);
  const y = empty(x.shape);
  const bufs = [x.buffer, mean.buffer, invstd.buffer];
  if (running) bufs.push(rm.buffer, rv.buffer);
  const written = bufs.length - 1;
  if (affine) bufs.push(w.buffer, b.buffer);
  bufs.push(y.buffer);
  const bindings = ['read', ...Array<'write'>(written).fill('write'), ...(affine ? ['read', 'read'] : []), 'write'] as ('read' | 'write')[];
  const vec4 = fusedVec4(L);
  const k = rt.kernel({ name: `bn_stats_normalize${vec4 ? '_vec4' : ''}${relu ? '_relu' : ''}`, wgsl: bnStatsNormalizeWGSL(running, affine, relu, vec4), bindings });
  rt.dispatch(k, bufs, [L.C, L.S, L.count, f32bits(momentum), f32bits(eps)], grid1d(L.C, 1));
  return [mean, invstd, y];
}

function evalStats(rm: Tensor, rv: Tensor, C: number, eps: number): [Tensor, Tensor] {
  const rt = runtime();
  const k = rt.kernel({ name: 'bn_eval_stats', wgsl: BN_EVAL_STATS_WGSL, bindings: ['read', 'read', 'write', 'write'] });
  const mean = empty([2 * C]); // hi = running mean, lo = 0: the layout of the batch statistics
  const invstd = empty([C]);
  rt.dispatch(k, [rm.buffer, rv.buffer, mean.buffer, invstd.buffer], [C, f32bits(eps)], grid1d(C));
  return [mean, invstd];
}

function normalize(x: Tensor, L: Layout, mean: Tensor, invstd: Tensor, w: Tensor | null, b: Tensor | null, relu: boolean): Tensor {
  const rt = runtime();
  const affine = w !== null && b !== null;
  const planes = planesGrid(x, L);
  const k = rt.kernel({ name: relu ? 'bn_normalize_relu' : 'bn_normalize', wgsl: bnNormalizeWGSL(affine, relu, planes !== null), bindings: affine ? ['read', 'read', 'read', 'read', 'read', 'write'] : ['read', 'read', 'read', 'write'] });
  const y = empty(x.shape);
  const bufs = [x.buffer, mean.buffer, invstd.buffer];
  if (affine) bufs.push(w.buffer, b.buffer);
  bufs.push(y.buffer);
  rt.dispatch(k, bufs, [x.size, L.C, L.S], planes ?? grid1d(x.size));
  return y;
}

/**
 * [sum(g), sum(g * xhat)] per channel: the bias and weight gradients. `reluOut` is the output of a
 * fused ReLU, which masks g (null without one).
 */
function backwardSums(g: Tensor, x: Tensor, L: Layout, mean: Tensor, invstd: Tensor, reluOut: Tensor | null): [Tensor, Tensor] {
  const rt = runtime();
  const bufs = [g.buffer, x.buffer, mean.buffer, invstd.buffer];
  if (reluOut) bufs.push(reluOut.buffer);
  const k = rt.kernel({
    name: reluOut ? 'bn_backward_reduce_relu' : 'bn_backward_reduce',
    wgsl: bnBackwardReduceWGSL(reluOut !== null),
    bindings: [...bufs.map(() => 'read' as const), 'write', 'write'],
  });
  const sumG = empty([L.C]);
  const sumGX = empty([L.C]);
  rt.dispatch(k, [...bufs, sumG.buffer, sumGX.buffer], [L.C, L.S, L.count], grid1d(L.C, 1));
  return [sumG, sumGX];
}

/**
 * Training backward in one dispatch (bnBackwardFusedWGSL): [dx, sum(g), sum(g * xhat)]. `reluOut` as
 * in backwardSums.
 */
function backwardFused(g: Tensor, x: Tensor, L: Layout, mean: Tensor, invstd: Tensor, w: Tensor | null, reluOut: Tensor | null): [Tensor, Tensor, Tensor] {
  const rt = runtime();
  const bufs = [g.buffer, x.buffer, mean.buffer, invstd.buffer];
  if (w) bufs.push(w.buffer);
  if (reluOut) bufs.push(reluOut.buffer);
  const vec4 = fusedVec4(L);
  const k = rt.kernel({
    name: `bn_backward_fused${vec4 ? '_vec4' : ''}${reluOut ? '_relu' : ''}`,
    wgsl: bnBackwardFusedWGSL(w !== null, reluOut !== null, vec4),
    bindings: [...bufs.map(() => 'read' as const), 'write', 'write', 'write'],
  });
  const sumG = empty([L.C]);
  const sumGX = empty([L.C]);
  const dx = empty(x.shape);
  rt.dispatch(k, [...bufs, sumG.buffer, sumGX.buffer, dx.buffer], [L.C, L.S, L.count], grid1d(L.C, 1));
  return [dx, sumG, sumGX];
}

function backwardDx(g: Tensor, x: Tensor, L: Layout, mean: Tensor, invstd: Tensor, w: Tensor | null, sums: [Tensor, Tensor] | null, reluOut: Tensor | null): Tensor {
  const rt = runtime();
  const training = sums !== null;
  const planes = planesGrid(x, L);
  const bufs = training ? [g.buffer, x.buffer, mean.buffer, invstd.buffer] : [g.buffer, invstd.buffer];
  if (w) bufs.push(w.buffer);
  if (sums) bufs.push(sums[0].buffer, sums[1].buffer);
  if (reluOut) bufs.push(reluOut.buffer);
  const k = rt.kernel({
    name: reluOut ? 'bn_backward_dx_relu' : 'bn_backward_dx',
    wgsl: bnBackwardDxWGSL(training, w !== null, reluOut !== null, planes !== null),
    bindings: [...bufs.map(() => 'read' as const), 'write'],
  });
  const dx = empty(x.shape);
  bufs.push(dx.buffer);
  rt.dispatch(k, bufs, [x.size, L.C, L.S, f32bits(L.count)], planes ?? grid1d(x.size));
  return dx;
}

/**
 * An input with no elements (batch 0, or an empty spatial dimension): as in PyTorch, an empty
 * output, running stats untouched (there is no batch statistic to blend in), and gradients that
 * are empty for x and zero for weight and bias (sums over no elements).
 */
function emptyBatchNorm(x: Tensor, weight: Tensor | null, bias: Tensor | null, relu: boolean): Tensor {
  const inputs = [x];
  if (weight && bias) inputs.push(weight, bias);
  const C = x.shape[1]!;
  return withGrad(empty(x.shape), relu ? 'batchNormRelu' : 'batchNorm', inputs, () =>
    weight ? [empty(x.shape), zeros([C]), zeros([C])] : [empty(x.shape)]);
}

/**
 * Batch normalization of x [N, C, ...] per channel C, like torch.nn.functional.batch_norm.
 * Training: batch mean and biased variance; runningMean/runningVar (when given) are updated in
 * place with the unbiased variance. Eval: the running stats are used (and required).
 * `weight`/`bias` ([C]) are the optional affine transform. Gradients flow to x, weight and bias.
 */
export function batchNorm(
  x: Tensor,
  runningMean: Tensor | null,
  runningVar: Tensor | null,
  weight: Tensor | null,
  bias: Tensor | null,
  opts: BatchNormOptions,
): Tensor {
  const training = opts.training;
  const momentum = opts.momentum ?? 0.1;
  const eps = opts.eps ?? 1e-5;
  if (!(eps >= 0)) throw new EngramError(`batchNorm: eps must be non-negative, got ${eps}`);
  if (!Number.isFinite(momentum)) throw new EngramError(`batchNorm: momentum must be a finite number, got ${momentum}`);
  const L = validate(x, runningMean, runningVar, weight, bias, training);
  if (x.size === 0) return emptyBatchNorm(x, weight, bias, opts.relu === true);

  const relu = opts.relu === true;
  // The fused kernels run where the shapes allow (see batchNormFusion); eval mode never fuses (its
  // statistics are one thread per channel, not a reduction).
  const fuse = training && fused(L.C);
  let mean: Tensor, invstd: Tensor, y: Tensor;
  if (fuse) {
    [mean, invstd, y] = statsNormalize(x, L, runningMean, runningVar, weight, bias, momentum, eps, relu);
  } else {
    [mean, invstd] = training
      ? batchStats(x, L, runningMean, runningVar, momentum, eps)
      : evalStats(runningMean!, runningVar!, L.C, eps);
    y = normalize(x, L, mean, invstd, weight, bias, relu);
  }

  const inputs = [x];
  if (weight && bias) inputs.push(weight, bias);
  const out = withGrad(y, relu ? 'batchNormRelu' : 'batchNorm', inputs, (g) => {
    const reluOut = relu ? y : null;
    let dx: Tensor | null = null;
    let sums: [Tensor, Tensor] | null = null;
    if (fuse && x.requiresGrad) {
      const [fdx, sumG, sumGX] = backwardFused(g, x, L, mean, invstd, weight, reluOut);
      dx = fdx;
      sums = [sumG, sumGX];
    } else {
      // The training dx needs both sums; eval needs them only for the affine gradients.
      const wantSums = training || (weight !== null && (weight.requiresGrad || bias!.requiresGrad));
      sums = wantSums ? backwardSums(g, x, L, mean, invstd, reluOut) : null;
      dx = x.requiresGrad ? backwardDx(g, x, L, mean, invstd, weight, training ? sums : null, reluOut) : null;
    }
    if (!weight) {
      sums?.[0].dispose();
      sums?.[1].dispose();
      return [dx];
    }
    if (!sums) return [dx, null, null];
    const [sumG, sumGX] = sums;
    return [dx, sumGX, sumG];
  }, { saved: [x, ...(weight ? [weight] : []), ...(relu ? [y] : [])], owned: [mean, invstd] });
  // mean and invstd are owned by the graph (freed with it); without a graph withGrad freed them.
  return out;
}
