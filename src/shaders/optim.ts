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
