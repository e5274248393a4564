// Pooling layers over NCHW input.

import { EngramError } from '../../engine/runtime.js';
import { maxPool2d, avgPool2d, adaptiveAvgPool2d } from '../../engine/ops/pool.js';
import type { Size2 } from '../../engine/ops/pool.js';
import type { Tensor } from '../../engine/tensor.js';
import { Module } from '../module.js';
import { checkBoolean, checkPair } from '../../engine/validate.js';

/** A size per axis (height, width), or one number for both. */
type Pair = Size2;

/** Checked at construction (the ops check again per call, against the input's size). */
function checkPoolArgs(op: string, kernelSize: Pair, stride: Pair | undefined, padding: Pair): void {
  const k = checkPair(op, 'kernelSize', kernelSize, 1);
  if (stride !== undefined) checkPair(op, 'stride', stride, 1);
  const p = checkPair(op, 'padding', padding, 0);
  // PyTorch's rule: padding at most half the kernel (a window entirely in the padding is empty).
  if (p[0] > k[0] / 2 || p[1] > k[1] / 2) {
    throw new EngramError(`${op}: padding must be at most half of kernelSize, got padding ${p.join('x')} for kernelSize ${k.join('x')}`);
  }
}

/**
 * 2-D max pooling over [N, C, H, W] (or [C, H, W]) input, as torch.nn.MaxPool2d (no dilation, no ceil mode).
 */
export class MaxPool2d extends Module {
  /**
   * @param kernelSize Window size: one number or [h, w].
   * @param stride Step between windows (default: the kernel size).
   * @param padding Implicit -inf padding on each side, at most half the kernel size (default 0).
   */
  constructor(readonly kernelSize: Pair, readonly stride?: Pair, readonly padding: Pair = 0) {
    super();
    checkPoolArgs('MaxPool2d', kernelSize, stride, padding);
  }

  forward(x: Tensor): Tensor {
    return maxPool2d(x, { kernelSize: this.kernelSize, stride: this.stride, padding: this.padding });
  }
}

/** 2-D average pooling over [N, C, H, W] (or [C, H, W]) input, as torch.nn.AvgPool2d (no ceil mode). */
export class AvgPool2d extends Module {
  /**
   * @param kernelSize Window size: one number or [h, w].
   * @param stride Step between windows (default: the kernel size).
   * @param padding Implicit zero padding on each side, at most half the kernel size (default 0).
   * @param countIncludePad Count padded positions in the divisor (default true).
   */
  constructor(readonly kernelSize: Pair, readonly stride?: Pair, readonly padding: Pair = 0, readonly countIncludePad = true) {
    super();
    checkPoolArgs('AvgPool2d', kernelSize, stride, padding);
    checkBoolean('AvgPool2d', 'countIncludePad', countIncludePad);
  }

  forward(x: Tensor): Tensor {
    return avgPool2d(x, { kernelSize: this.kernelSize, stride: this.stride, padding: this.padding, countIncludePad: this.countIncludePad });
  }
}

/**
 * Average pooling to a fixed output size [oh, ow] whatever the input's spatial size, as
 * torch.nn.AdaptiveAvgPool2d.
 */
export class AdaptiveAvgPool2d extends Module {
  /** @param outputSize Output height and width: one number or [oh, ow]. */
  constructor(readonly outputSize: Pair) {
    super();
    checkPair('AdaptiveAvgPool2d', 'outputSize', outputSize, 1);
  }

  forward(x: Tensor): Tensor {
    return adaptiveAvgPool2d(x, this.outputSize);
  }
}
