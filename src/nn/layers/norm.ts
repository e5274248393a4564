// Normalization layers. Batch normalization with PyTorch semantics: batch statistics (biased variance) in training,
// running statistics (updated with momentum 0.1 from the unbiased variance) in evaluation.
// LayerNorm and GroupNorm: per-row statistics, identical in training and evaluation.

import { EngramError } from '../../engine/runtime.js';
import { batchNorm } from '../../engine/ops/batchnorm.js';
import { layerNorm, groupNorm } from '../../engine/ops/norm.js';
import { zeros, ones, type Tensor } from '../../engine/tensor.js';
import { addInt_ } from '../../engine/ops/fill.js';
import { shapeStr } from '../../engine/shape.js';
import { Module } from '../module.js';
import { checkBoolean, checkInt, checkNumber } from '../../engine/validate.js';

/** Options of `BatchNorm1d` and `BatchNorm2d`, as in PyTorch. */
export interface BatchNormLayerOptions {
  /** Added to the variance before the square root (default 1e-5). */
  eps?: number;
  /** Weight of each new batch statistic in the running averages (default 0.1). */
  momentum?: number;
  /** Learn a per-channel scale (weight) and shift (bias) (default true). */
  affine?: boolean;
  /**
   * Keep running mean and variance for evaluation mode (default true); without them, batch statistics are
   * used in evaluation too.
   */
  trackRunningStats?: boolean;
}

abstract class BatchNormBase extends Module {
  /** Per-channel scale, [numFeatures] (initialized to 1), or null without `affine`. */
  readonly weight: Tensor | null;
  /** Per-channel shift, [numFeatures] (initialized to 0), or null without `affine`. */
  readonly bias: Tensor | null;
  /** Running mean, [numFeatures] (buffer 'running_mean'), or null without `trackRunningStats`. */
  readonly runningMean: Tensor | null;
  /**
   * Running variance (unbiased), [numFeatures] (buffer 'running_var'), or null without `trackRunningStats`.
   */
  readonly runningVar: Tensor | null;
  private readonly numBatchesTracked: Tensor | null;
  /** Added to the variance before the square root. */
  readonly eps: number;
  /** Weight of each new batch statistic in the running averages. */
  readonly momentum: number;

  /** @param numFeatures Number of channels C (dimension 1 of the input). */
  constructor(readonly numFeatures: number, opts: BatchNormLayerOptions, private readonly ranks: number[]) {
    super();
    const op = new.target.name;
    checkInt(op, 'numFeatures', numFeatures, 1);
    this.eps = checkNumber(op, 'eps', opts.eps ?? 1e-5, { min: 0, minInclusive: false });
    // momentum weighs the new batch statistic in the running average: outside [0, 1] it diverges.
    this.momentum = checkNumber(op, 'momentum', opts.momentum ?? 0.1, { min: 0, max: 1 });
    const affine = checkBoolean(op, 'affine', opts.affine ?? true);
    const track = checkBoolean(op, 'trackRunningStats', opts.trackRunningStats ?? true);
    this.weight = affine ? this.registerParameter('weight', ones([numFeatures])) : null;
    this.bias = affine ? this.registerParameter('bias', zeros([numFeatures])) : null;
    this.runningMean = track ? this.registerBuffer('running_mean', zeros([numFeatures])) : null;
    this.runningVar = track ? this.registerBuffer('running_var', ones([numFeatures])) : null;
    this.numBatchesTracked = track ? this.registerBuffer('num_batches_tracked', zeros([], { dtype: 'int32' })) : null;
  }

  forward(x: Tensor): Tensor {
    return this.normalize(x, false);
  }

  /** relu(forward(x)) with the ReLU in the normalization kernel (see Sequential). */
  forwardRelu(x: Tensor): Tensor {
    return this.normalize(x, true);
  }

  /**
   * The forward that `forwardRelu` fuses with a ReLU (`Sequential` fuses only while `forward` is this one,
   * not a subclass override).
   */
  readonly fusedForward = BatchNormBase.prototype.forward;

  private normalize(x: Tensor, relu: boolean): Tensor {
    if (!this.ranks.includes(x.rank) || x.shape[1] !== this.numFeatures) {
      throw new EngramError(`${this.constructor.name}(${this.numFeatures}): expected input of rank ${this.ranks.join(' or ')} with ${this.numFeatures} channels in dimension 1, got ${shapeStr(x.shape)}`);
    }
    const useBatchStats = this.training || !this.runningMean;
    if (this.training && this.numBatchesTracked) addInt_(this.numBatchesTracked, 1);
    return batchNorm(x, this.runningMean, this.runningVar, this.weight, this.bias, {
      training: useBatchStats,
      momentum: this.training ? this.momentum : 0,
      eps: this.eps,
      relu,
    });
  }

  override extraRepr(): string {
    return `${this.numFeatures}, eps=${this.eps}, momentum=${this.momentum}`;
  }
}

/** BatchNorm over N (input [N, C] or [N, C, L]). */
export class BatchNorm1d extends BatchNormBase {
  constructor(numFeatures: number, opts: BatchNormLayerOptions = {}) {
    super(numFeatures, opts, [2, 3]);
  }
}

/** BatchNorm over N, H, W (input [N, C, H, W]). */
export class BatchNorm2d extends BatchNormBase {
  constructor(numFeatures: number, opts: BatchNormLayerOptions = {}) {
    super(numFeatures, opts, [4]);
  }
}


/** Options of `LayerNorm`, as in PyTorch. */
export interface LayerNormOptions {
  /** Added to the variance before the square root (default 1e-5). */
  eps?: number;
  /** Learn an elementwise scale (weight, init 1) and shift (bias, init 0) of the normalized shape (default true). */
  elementwiseAffine?: boolean;
}

/**
 * Layer normalization, as torch.nn.LayerNorm: normalizes the last dimensions of the input (which
 * must equal `normalizedShape`) with their mean and biased variance, then scales and shifts
 * elementwise. The same in training and evaluation (no running statistics).
 */
export class LayerNorm extends Module {
  /** The normalized trailing dimensions. */
  readonly normalizedShape: readonly number[];
  /** Elementwise scale of shape `normalizedShape` (initialized to 1), or null without `elementwiseAffine`. */
  readonly weight: Tensor | null;
  /** Elementwise shift of shape `normalizedShape` (initialized to 0), or null without `elementwiseAffine`. */
  readonly bias: Tensor | null;
  /** Added to the variance before the square root. */
  readonly eps: number;

  /** @param normalizedShape The trailing dimensions to normalize over (a number for one dimension). */
  constructor(normalizedShape: number | readonly number[], opts: LayerNormOptions = {}) {
    super();
    const shape = typeof normalizedShape === 'number' ? [normalizedShape] : [...normalizedShape];
    if (shape.length === 0) throw new EngramError('LayerNorm: normalizedShape must name at least one dimension, got []');
    shape.forEach((d, k) => checkInt('LayerNorm', `normalizedShape[${k}]`, d, 1));
    this.normalizedShape = shape;
    this.eps = checkNumber('LayerNorm', 'eps', opts.eps ?? 1e-5, { min: 0 });
    const affine = checkBoolean('LayerNorm', 'elementwiseAffine', opts.elementwiseAffine ?? true);
    this.weight = affine ? this.registerParameter('weight', ones(shape)) : null;
    this.bias = affine ? this.registerParameter('bias', zeros(shape)) : null;
  }

  forward(x: Tensor): Tensor {
    return layerNorm(x, this.normalizedShape, this.weight, this.bias, this.eps);
  }

  override extraRepr(): string {
    return `[${this.normalizedShape.join(', ')}], eps=${this.eps}, elementwise_affine=${this.weight !== null}`;
  }
}

/** Options of `GroupNorm`, as in PyTorch. */
export interface GroupNormLayerOptions {
  /** Added to the variance before the square root (default 1e-5). */
  eps?: number;
  /** Learn a per-channel scale (weight, init 1) and shift (bias, init 0) (default true). */
  affine?: boolean;
}

/**
 * Group normalization, as torch.nn.GroupNorm: the channels of x [N, C, ...] are split into
 * `numGroups` groups; each sample's group is normalized with its mean and biased variance, then
 * scaled and shifted per channel. The same in training and evaluation.
 */
export class GroupNorm extends Module {
  /** Per-channel scale, [numChannels] (initialized to 1), or null without `affine`. */
  readonly weight: Tensor | null;
  /** Per-channel shift, [numChannels] (initialized to 0), or null without `affine`. */
  readonly bias: Tensor | null;
  /** Added to the variance before the square root. */
  readonly eps: number;

  /**
   * @param numGroups Number of groups; must divide `numChannels`.
   * @param numChannels Number of channels C (dimension 1 of the input).
   */
  constructor(readonly numGroups: number, readonly numChannels: number, opts: GroupNormLayerOptions = {}) {
    super();
    checkInt('GroupNorm', 'numGroups', numGroups, 1);
    checkInt('GroupNorm', 'numChannels', numChannels, 1);
    if (numChannels % numGroups !== 0) {
      throw new EngramError(`GroupNorm: numChannels (${numChannels}) must be divisible by numGroups (${numGroups})`);
    }
    this.eps = checkNumber('GroupNorm', 'eps', opts.eps ?? 1e-5, { min: 0 });
    const affine = checkBoolean('GroupNorm', 'affine', opts.affine ?? true);
    this.weight = affine ? this.registerParameter('weight', ones([numChannels])) : null;
    this.bias = affine ? this.registerParameter('bias', zeros([numChannels])) : null;
  }

  forward(x: Tensor): Tensor {
    if (x.rank < 2 || x.shape[1] !== this.numChannels) {
      throw new EngramError(`GroupNorm(${this.numGroups}, ${this.numChannels}): expected input [N, ${this.numChannels}, ...], got ${shapeStr(x.shape)}`);
    }
    return groupNorm(x, this.numGroups, this.weight, this.bias, this.eps);
  }

  override extraRepr(): string {
    return `${this.numGroups}, ${this.numChannels}, eps=${this.eps}, affine=${this.weight !== null}`;
  }
}
