// conv2d's bias gradient, vec4 form: db[co] = sum over n, oh, ow of g[n, co, oh, ow], for
// OH * OW % 4 == 0. The scalar kernel for every shape is CONV2D_GRAD_BIAS_WGSL in conv2d.ts.
//
// Why a second kernel: the scalar one finds element i of a channel at ((i / OHW) * CO + co) * OHW +
// i % OHW, an integer division and a modulo per element. On CPU-backed adapters (lavapipe: lanes run
// as SIMD, with no vector integer divide, and every lane's load is a separate bounds-checked load)
// that division costs more than the addition it feeds. Here a lane loads four values at a time and
// keeps its place in the channel as a cursor that never divides inside the loop.

import { memoize } from './common.js';

/**
 * Gradient of the bias for OH * OW % 4 == 0: db[co] = sum_{n,oh,ow} g[n,co,oh,ow], g read as vec4s.
 * One workgroup of `wg` threads (a power of two, at most 256) per channel, two vec4 accumulators a
 * thread. Params: CO, S4 = OH*OW/4, count4 = N * S4, stepRest, stepBase, imageStride (see the
 * kernel's comment). Bindings: G (array<vec4<f32>>), DB.
 */
export const conv2dGradBiasVec4WGSL = memoize((wg: number): string => /* wgsl */ `// conv2d grad-bias, vec4 form (OH*OW % 4 == 0): db[co] = sum_{n,oh,ow} g[n,co,oh,ow]
// Layout: g is NCHW [N, CO, OH, OW] read as vec4s. With S4 = OH*OW/4, image n's plane of channel co is
// the S4 vec4s from (n * CO + co) * S4, so the channel's vec4 k = n * S4 + s (k < count4 = N * S4)
// sits at (n * CO + co) * S4 + s.
// Mapping: workgroup co (x, folded into y past 65535) reduces channel co with ${wg} threads. Thread t
// sums the channel's vec4s k = t, t + ${wg}, t + ${2 * wg}, ..., two per step into two accumulators (a: k,
// b: k + ${wg}; two independent additions in flight). Each holds its k as a cursor (s, base), base + s
// being the vec4's index in G. A step of ${2 * wg} vec4s is stepImages whole planes plus stepRest vec4s,
// worked out once on the host (stepBase = stepImages * CO * S4), so a step adds the two and carries
// at most one more plane (imageStride = CO * S4): no division inside the loop. Each thread then adds
// its lanes, and the ${wg} partial sums are halved in workgroup memory.
// (On CPU-backed adapters the engine runs small workgroups: every barrier of the tree is costly there,
// and the channels alone give enough workgroups to keep the cores busy.)
struct Params { CO: u32, S4: u32, count4: u32, stepRest: u32, stepBase: u32, imageStride: u32 }
@group(0) @binding(0) var<storage, read> p: Params;
@group(0) @binding(1) var<storage, read> G: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> DB: array<f32>;
var<workgroup> part: array<f32, ${wg}>;

struct Cursor { s: u32, base: u32 }
// Vec4 k of channel co: the one division per cursor, before the loop.
fn cursor_at(k: u32, co: u32) -> Cursor {
  let n = k / p.S4;
  return Cursor(k - n * p.S4, (n * p.CO + co) * p.S4);
}
// The cursor ${2 * wg} vec4s further on.
fn cursor_step(c: Cursor) -> Cursor {
  var s = c.s + p.stepRest;
  var base = c.base + p.stepBase;
  if (s >= p.S4) {
    s -= p.S4;
    base += p.imageStride;
  }
  return Cursor(s, base);
}

@compute @workgroup_size(${wg})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) t: u32) {
  let co = wid.x + wid.y * nwg.x;
  if (co >= p.CO) { return; }
  var a = vec4<f32>(0.0);
  var b = vec4<f32>(0.0);
  var ca = cursor_at(t, co);
  var cb = cursor_at(t + ${wg}u, co);
  var k = t;
  for (; k + ${wg}u < p.count4; k += ${2 * wg}u) {
    a += G[ca.base + ca.s];
    b += G[cb.base + cb.s];
    ca = cursor_step(ca);
    cb = cursor_step(cb);
  }
  if (k < p.count4) { a += G[ca.base + ca.s]; } // the last vec4 when this thread's count is odd
  let v = a + b;
  part[t] = (v.x + v.y) + (v.z + v.w);
  workgroupBarrier();
  for (var half = ${wg >> 1}u; half > 0u; half >>= 1u) {
    if (t < half) { part[t] += part[t + half]; }
    workgroupBarrier();
  }
  if (t == 0u) { DB[co] = part[0]; }
}`);
