// Kernels that write values without reading a tensor: fill with a constant, arange, dtype casts.
// Layout: contiguous 32-bit elements. Mapping: one thread per element, 256 per workgroup.

import { LINEAR_INDEX, MAIN_1D, memoize } from './common.js';

/** out[i] = bits (the 32-bit pattern of the value, so one kernel serves f32 and i32). Params: n, bits. */
export const FILL_WGSL = /* wgsl */ `// fill: out[i] = value (as raw 32-bit pattern)
struct Params { n: u32, bits: u32 }
@group(0) @binding(0) var<storage, read> p: Params;
@group(0) @binding(1) var<storage, read_write> OUT: array<u32>;
${LINEAR_INDEX}
${MAIN_1D} {
  let i = linear_index(gid, nwg);
  if (i >= p.n) { return; }
  OUT[i] = p.bits;
}`;

/** out[i] = start + i * step, in f32 or i32. Params: n, start, step (in the output's type). */
export const arangeWGSL = memoize(function arangeWGSL(t: 'f32' | 'i32'): string {
  return /* wgsl */ `// arange (${t}): out[i] = start + i * step
struct Params { n: u32, start: ${t}, step: ${t} }
@group(0) @binding(0) var<storage, read> p: Params;
@group(0) @binding(1) var<storage, read_write> OUT: array<${t}>;
${LINEAR_INDEX}
${MAIN_1D} {
  let i = linear_index(gid, nwg);
  if (i >= p.n) { return; }
  OUT[i] = p.start + ${t}(i) * p.step;
}`;
});

/** out[i] = to(in[i]): i32 -> f32 or f32 -> i32 (truncation toward zero, as PyTorch). Params: n. */
export const castWGSL = memoize(function castWGSL(from: 'f32' | 'i32', to: 'f32' | 'i32'): string {
  return /* wgsl */ `// cast ${from} -> ${to}
struct Params { n: u32 }
@group(0) @binding(0) var<storage, read> p: Params;
@group(0) @binding(1) var<storage, read> X: array<${from}>;
@group(0) @binding(2) var<storage, read_write> OUT: array<${to}>;
${LINEAR_INDEX}
${MAIN_1D} {
  let i = linear_index(gid, nwg);
  if (i >= p.n) { return; }
  OUT[i] = ${to}(X[i]);
}`;
});

/** x[i] += delta for an int32 tensor (counters such as batch norm's num_batches_tracked). Params: n, delta. */
export const ADD_INT_INPLACE_WGSL = /* wgsl */ `// addInt: x[i] += delta (i32, in place)
struct Params { n: u32, delta: i32 }
@group(0) @binding(0) var<storage, read> p: Params;
@group(0) @binding(1) var<storage, read_write> X: array<i32>;
${LINEAR_INDEX}
${MAIN_1D} {
  let i = linear_index(gid, nwg);
  if (i >= p.n) { return; }
  X[i] = X[i] + p.delta;
}`;
