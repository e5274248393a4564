// Multi-tensor optimizer kernels (PyTorch's foreach optimizers): one dispatch updates up to K
// parameter tensors, each bound as its own buffers (gradient, parameter, state), so a group of
// parameters costs ceil(count / K) dispatches instead of one per tensor. K is bounded by the
// device's storage buffers per shader stage (binding 0, the parameter block, takes one).
// Layout: tensor j's elements occupy the thread range [start_j, start_j + n_j) of one 1-D grid;
// starts are multiples of 256, so every workgroup updates a single tensor. Each tensor's branch is
// the per-tensor kernel's body (optim.ts) with the same expressions, so results are bit for bit
// those of one dispatch per tensor (tested).

import { LINEAR_INDEX, MAIN_1D, memoize } from './common.js';

/** Most tensors one multi-tensor dispatch updates (8 header words + 4 words per tensor fit the 64-word block). */
export const MULTI_TENSOR_MAX = 8;

/** Words before the per-tensor slots in a multi-tensor parameter block. */
export const MULTI_HEADER_WORDS = 8;

interface MultiSpec {
  /** Kernel name (also the per-tensor kernel's: in-place errors name the optimizer the same way). */
  name: string;
  /** One line for the kernel's opening comment. */
  what: string;
  /** Header fields (at most MULTI_HEADER_WORDS 32-bit fields), WGSL declarations. */
  header: string[];
  /** The two per-tensor fields after n and start, WGSL declarations. */
  slot: [string, string];
  /** Buffers per tensor: name and whether the kernel writes it; the first is read-only. */
  arrays: [string, 'read' | 'write'][];
  /** The update of element `e`: arrays written `NAME[e]`, per-tensor fields `s.field`. */
  body: string;
}

function multiWGSL(spec: MultiSpec, k: number): string {
  const pad = Array.from({ length: MULTI_HEADER_WORDS - spec.header.length }, (_, i) => `_h${i}: u32`);
  const decls: string[] = [];
  for (let j = 0; j < k; j++) {
    spec.arrays.forEach(([name, access], a) => {
      const binding = 1 + j * spec.arrays.length + a;
      decls.push(`@group(0) @binding(${binding}) var<storage, ${access === 'read' ? 'read' : 'read_write'}> ${name}${j}: array<f32>;`);
    });
  }
  const branches: string[] = [];
  for (let j = k - 1; j >= 0; j--) {
    let body = spec.body;
    for (const [name] of spec.arrays) body = body.replace(new RegExp(`\\b${name}\\[`, 'g'), `${name}${j}[`);
    branches.push(`  if (i >= p.slots[${j}].start) {
    let s = p.slots[${j}];
    let e = i - s.start;
    if (e >= s.n) { return; }
${body.replace(/^/gm, '    ')}
    return;
  }`);
  }
  return /* wgsl */ `// ${spec.name} (multi-tensor, ${k} tensors): ${spec.what}
// Tensor j: buffers ${spec.arrays.map(([n]) => `${n}j`).join(', ')} at bindings ${1}+${spec.arrays.length}j..; its elements are the
// threads [slots[j].start, slots[j].start + slots[j].n) of a 1-D grid of 256-thread workgroups.
struct Slot { n: u32, start: u32, ${spec.slot.join(', ')} }
struct Params { ${[...spec.header, ...pad].join(', ')}, slots: array<Slot, ${k}> }
@group(0) @binding(0) var<storage, read> p: Params;
${decls.join('\n')}
${LINEAR_INDEX}
${MAIN_1D} {
  let i = linear_index(gid, nwg);
${branches.join('\n')}
}`;
}

/**
 * SGD (torch.optim.SGD) over `k` tensors per dispatch: the body of SGD_WGSL (optim.ts) per tensor.
 * Header: lr, momentum, dampening, weightDecay, nesterov (0/1); per tensor: n, start, first (0/1), unused.
 */
export const sgdMultiWGSL = memoize((k: number): string => multiWGSL({
  name: 'sgd',
  what: 'in-place SGD step with momentum, dampening, Nesterov and weight decay',
  header: ['lr: f32', 'momentum: f32', 'dampening: f32', 'weight_decay: f32', 'nesterov: u32'],
  slot: ['first: u32', '_unused: u32'],
  arrays: [['G', 'read'], ['P', 'write'], ['BUF', 'write']],
  body: `var d = G[e] + p.weight_decay * P[e];
if (p.momentum != 0.0) {
  var b = d;
  if (s.first == 0u) { b = p.momentum * BUF[e] + (1.0 - p.dampening) * d; }
  BUF[e] = b;
  d = select(b, d + p.momentum * b, p.nesterov == 1u);
}
P[e] = P[e] - p.lr * d;`,
}, k));

/**
 * Adam / AdamW (torch.optim.Adam, torch.optim.AdamW) over `k` tensors per dispatch: the body of ADAM_WGSL
 * (optim.ts) per tensor. Header: lr, beta1, beta2, eps, weightDecay, decoupled (0/1); per tensor: n, start,
 * bc1, bc2 (each tensor's bias corrections, from its own step count).
 */
export const adamMultiWGSL = memoize((k: number): string => multiWGSL({
  name: 'adam',
  what: 'in-place Adam/AdamW step with bias correction',
  header: ['lr: f32', 'beta1: f32', 'beta2: f32', 'eps: f32', 'weight_decay: f32', 'decoupled: u32'],
  slot: ['bc1: f32', 'bc2: f32'],
  arrays: [['G', 'read'], ['P', 'write'], ['M', 'write'], ['V', 'write']],
  body: `var g = G[e];
var w = P[e];
if (p.decoupled == 1u) { w = w * (1.0 - p.lr * p.weight_decay); } else { g = g + p.weight_decay * w; }
let m = p.beta1 * M[e] + (1.0 - p.beta1) * g;
let v = p.beta2 * V[e] + (1.0 - p.beta2) * g * g;
M[e] = m;
V[e] = v;
P[e] = w - p.lr * (m / s.bc1) / (sqrt(v / s.bc2) + p.eps);`,
}, k));

/**
 * RMSprop (torch.optim.RMSprop) over `k` tensors per dispatch: the body of RMSPROP_WGSL (optim.ts) per
 * tensor. Header: lr, alpha, eps, weightDecay, momentum, centered (0/1); per tensor: n, start, two unused
 * words. GA and BUF are 1-element dummies when centering or momentum is off (never indexed then).
 */
export const rmspropMultiWGSL = memoize((k: number): string => multiWGSL({
  name: 'rmsprop',
  what: 'in-place RMSprop step (centered, momentum, weight decay)',
  header: ['lr: f32', 'alpha: f32', 'eps: f32', 'weight_decay: f32', 'momentum: f32', 'centered: u32'],
  slot: ['_unused0: u32', '_unused1: u32'],
  arrays: [['G', 'read'], ['P', 'write'], ['SQ', 'write'], ['GA', 'write'], ['BUF', 'write']],
  body: `let w = P[e];
let g = G[e] + p.weight_decay * w;
let sq = p.alpha * SQ[e] + (1.0 - p.alpha) * g * g;
SQ[e] = sq;
var avg: f32;
if (p.centered == 1u) {
  let ga = p.alpha * GA[e] + (1.0 - p.alpha) * g;
  GA[e] = ga;
  avg = sqrt(sq - ga * ga) + p.eps;
} else {
  avg = sqrt(sq) + p.eps;
}
if (p.momentum > 0.0) {
  let b = p.momentum * BUF[e] + g / avg;
  BUF[e] = b;
  P[e] = w - p.lr * b;
} else {
  P[e] = w - p.lr * (g / avg);
}`,
}, k));
