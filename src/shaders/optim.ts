// Optimizer update kernels: one thread per parameter element, updating the parameter (and its
// optimizer state) in place, so a step is one dispatch per parameter tensor and no readback.
// Layout: parameter, gradient and state buffers are contiguous float32 of equal length.

import { LINEAR_INDEX, MAIN_1D } from './common.js';

/**
 * SGD with PyTorch's semantics (torch.optim.SGD):
 *   d = g + weight_decay * p
 *   if momentum != 0: buf = first ? d : momentum * buf + (1 - dampening) * d
 *                     d = nesterov ? d + momentum * buf : buf
 *   p -= lr * d
 * Params: n, lr, momentum, dampening, weightDecay, nesterov (0/1), first (0/1: first step initializes buf).
 */
export const SGD_WGSL = /* wgsl */ `// sgd: in-place SGD step with momentum, dampening, Nesterov and weight decay
struct Params { n: u32, lr: f32, momentum: f32, dampening: f32, weight_decay: f32, nesterov: u32, first: u32 }
@group(0) @binding(0) var<storage, read> p: Params;
@group(0) @binding(1) var<storage, read> G: array<f32>;
@group(0) @binding(2) var<storage, read_write> P: array<f32>;
@group(0) @binding(3) var<storage, read_write> BUF: array<f32>;
${LINEAR_INDEX}
${MAIN_1D} {
  let i = linear_index(gid, nwg);
  if (i >= p.n) { return; }
  var d = G[i] + p.weight_decay * P[i];
  if (p.momentum != 0.0) {
    var b = d;
    if (p.first == 0u) { b = p.momentum * BUF[i] + (1.0 - p.dampening) * d; }
    BUF[i] = b;
    d = select(b, d + p.momentum * b, p.nesterov == 1u);
  }
  P[i] = P[i] - p.lr * d;
}`;

/**
 * Adam / AdamW (torch.optim.Adam, torch.optim.AdamW), bias-corrected:
 *   Adam:  g = g + weight_decay * p          AdamW: p = p * (1 - lr * weight_decay)
 *   m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2
 *   p -= lr * (m / bc1) / (sqrt(v / bc2) + eps)     with bc1 = 1 - b1^t, bc2 = 1 - b2^t
 * Params: n, lr, beta1, beta2, eps, weightDecay, decoupled (0 Adam / 1 AdamW), bc1, bc2.
 */
export const ADAM_WGSL = /* wgsl */ `// adam: in-place Adam/AdamW step with bias correction
struct Params { n: u32, lr: f32, beta1: f32, beta2: f32, eps: f32, weight_decay: f32, decoupled: u32, bc1: f32, bc2: f32 }
@group(0) @binding(0) var<storage, read> p: Params;
@group(0) @binding(1) var<storage, read> G: array<f32>;
@group(0) @binding(2) var<storage, read_write> P: array<f32>;
@group(0) @binding(3) var<storage, read_write> M: array<f32>;
@group(0) @binding(4) var<storage, read_write> V: array<f32>;
${LINEAR_INDEX}
${MAIN_1D} {
  let i = linear_index(gid, nwg);
  if (i >= p.n) { return; }
  var g = G[i];
  var w = P[i];
  if (p.decoupled == 1u) { w = w * (1.0 - p.lr * p.weight_decay); } else { g = g + p.weight_decay * w; }
  let m = p.beta1 * M[i] + (1.0 - p.beta1) * g;
  let v = p.beta2 * V[i] + (1.0 - p.beta2) * g * g;
  M[i] = m;
  V[i] = v;
  P[i] = w - p.lr * (m / p.bc1) / (sqrt(v / p.bc2) + p.eps);
}`;

/**
 * RMSprop (torch.optim.RMSprop):
 *   g = g + weight_decay * p
 *   sq = alpha sq + (1 - alpha) g^2
 *   centered: ga = alpha ga + (1 - alpha) g;  avg = sqrt(sq - ga^2) + eps     else avg = sqrt(sq) + eps
 *   momentum > 0: buf = momentum buf + g / avg;  p -= lr buf                   else p -= lr g / avg
 * The grad-average and momentum buffers are 1-element dummies when their feature is off (never indexed then).
 * Params: n, lr, alpha, eps, weightDecay, momentum, centered (0/1).
 */
export const RMSPROP_WGSL = /* wgsl */ `// rmsprop: in-place RMSprop step (centered, momentum, weight decay)
struct Params { n: u32, lr: f32, alpha: f32, eps: f32, weight_decay: f32, momentum: f32, centered: u32 }
@group(0) @binding(0) var<storage, read> p: Params;
@group(0) @binding(1) var<storage, read> G: array<f32>;
@group(0) @binding(2) var<storage, read_write> P: array<f32>;
@group(0) @binding(3) var<storage, read_write> SQ: array<f32>;
@group(0) @binding(4) var<storage, read_write> GA: array<f32>;
@group(0) @binding(5) var<storage, read_write> BUF: array<f32>;
${LINEAR_INDEX}
${MAIN_1D} {
  let i = linear_index(gid, nwg);
  if (i >= p.n) { return; }
  let w = P[i];
  let g = G[i] + p.weight_decay * w;
  let sq = p.alpha * SQ[i] + (1.0 - p.alpha) * g * g;
  SQ[i] = sq;
  var avg: f32;
  if (p.centered == 1u) {
    let ga = p.alpha * GA[i] + (1.0 - p.alpha) * g;
    GA[i] = ga;
    avg = sqrt(sq - ga * ga) + p.eps;
  } else {
    avg = sqrt(sq) + p.eps;
  }
  if (p.momentum > 0.0) {
    let b = p.momentum * BUF[i] + g / avg;
    BUF[i] = b;
    P[i] = w - p.lr * b;
  } else {
    P[i] = w - p.lr * (g / avg);
  }
}`;

/**
 * Gradient clipping by norm (torch.nn.utils.clip_grad_norm_): G *= min(1, max_norm / (norm + 1e-6)), with the
 * total norm read from a one-element buffer on the GPU, so clipping needs no readback.
 * Params: n, maxNorm.
 */
export const CLIP_SCALE_WGSL = /* wgsl */ `// clip_scale: scale a gradient by min(1, max_norm / (total_norm + 1e-6))
struct Params { n: u32, max_norm: f32 }
@group(0) @binding(0) var<storage, read> p: Params;
@group(0) @binding(1) var<storage, read> NORM: array<f32>;
@group(0) @binding(2) var<storage, read_write> G: array<f32>;
${LINEAR_INDEX}
${MAIN_1D} {
  let i = linear_index(gid, nwg);
  if (i >= p.n) { return; }
  let coef = min(p.max_norm / (NORM[0] + 1e-6), 1.0);
  G[i] = G[i] * coef;
}`;

/**
 * Gradient clipping by value (torch.nn.utils.clip_grad_value_): G = clamp(G, -clip, clip). NaN stays NaN, as
 * torch.clamp keeps it (min/max of WGSL may drop it, so NaN is tested on the bits).
 * Params: n, clip.
 */
export const CLIP_VALUE_WGSL = /* wgsl */ `// clip_value: clamp a gradient to [-clip, clip] in place
struct Params { n: u32, clip: f32 }
@group(0) @binding(0) var<storage, read> p: Params;
@group(0) @binding(1) var<storage, read_write> G: array<f32>;
${LINEAR_INDEX}
${MAIN_1D} {
  let i = linear_index(gid, nwg);
  if (i >= p.n) { return; }
  let g = G[i];
  let b = bitcast<u32>(g) & 0x7fffffffu;
  if (b > 0x7f800000u) { return; }
  G[i] = select(select(g, -p.clip, g < -p.clip), p.clip, g > p.clip);
}`;

/**
 * Exponential moving average of weights (torch.optim.swa_utils.AveragedModel with an EMA avg_fn):
 *   A = decay * A + (1 - decay) * P
 * Params: n, decay, oneMinusDecay (computed in float64 on the CPU, as PyTorch's scalar).
 */
export const EMA_WGSL = /* wgsl */ `// ema: A = decay * A + (1 - decay) * P, in place
struct Params { n: u32, decay: f32, one_minus_decay: f32 }
@group(0) @binding(0) var<storage, read> p: Params;
@group(0) @binding(1) var<storage, read> P: array<f32>;
@group(0) @binding(2) var<storage, read_write> A: array<f32>;
${LINEAR_INDEX}
${MAIN_1D} {
  let i = linear_index(gid, nwg);
  if (i >= p.n) { return; }
  A[i] = p.decay * A[i] + p.one_minus_decay * P[i];
}`;
