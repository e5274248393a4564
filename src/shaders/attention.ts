// Fused scaled dot-product attention (flash-attention style), forward and backward.
//
// What it computes, per batch b and query row i:
//   s_ij = q_i · k_j * scale + mask_ij        (mask: none, causal (j > i excluded), or an additive buffer
//                                               M [Bm, L, S]; batch b reads mask (b / mdiv) % mmod)
//   out_i = Σ_j softmax_j(s_ij) v_j,   lse_i = log Σ_j exp(s_ij)   (lse is saved for the backward)
// Layout: Q [B, L, E], K [B, S, E], V [B, S, EV], O [B, L, EV], LSE [B, L], all contiguous float32,
// the batch dimensions flattened into B. E and EV are compiled into the kernel (small head dims only:
// each thread keeps a row of q and of the output accumulator in registers).
//
// Forward mapping: a workgroup of 64 threads per (block of 64 query rows, batch b); one thread per
// query row. Key and value rows stream through workgroup memory in tiles of TK rows, loaded by all
// 64 threads together; each thread folds a tile into its row with the online softmax: a running max
// m and sum l, the accumulator rescaled by exp(m_old - m_new) whenever the max grows. The [L, S]
// score matrix is never stored. Scores of -inf (masked) are skipped; a row with every key masked
// ends with l = 0 and gives 0/0 = NaN, as PyTorch.
//
// Backward (the probabilities are recomputed from lse, not stored): with g = dL/dout and
// D_i = Σ_c g_ic out_ic (computed before, packed with lse as STATS [B, L, 2]),
//   p_ij = exp(s_ij - lse_i), dp_ij = g_i · v_j, ds_ij = p_ij (dp_ij - D_i)
//   dq_i = scale Σ_j ds_ij k_j       (attentionBackwardQWGSL: a thread per query row, key tiles in workgroup memory)
//   dk_j = scale Σ_i ds_ij q_i, dv_j = Σ_i p_ij g_i
//                                    (attentionBackwardKVWGSL: a thread per key row, query tiles in workgroup
//                                     memory; dk and dv are written side by side as DKV [B, S, E + EV])
// Each output element has exactly one writer, so there are no atomics and results are deterministic.

import { memoize } from './common.js';

/**
 * How the scores are masked: not at all, causally (key j > query i excluded), or by an additive buffer M
 * [Bm, L, S] (batch b reads mask (b / mdiv) % mmod: one mask for all, one per batch, or per outer batch dim).
 */
export type AttentionMask = 'none' | 'causal' | 'add';

/** Rows of K/V (forward, dq) or of Q/G (dk, dv) per tile in workgroup memory. */
const TILE = 16;
/** Threads per workgroup: one query (or key) row each. */
const WG = 64;
/** Largest head dimension (E and EV) the fused kernels take. */
export const ATTENTION_MAX_HEAD_DIM = 64;

const NEG_INF_TEST = /* wgsl */ `
fn is_neg_inf(v: f32) -> bool { return bitcast<u32>(v) == 0xff800000u; }`;

function header(E: number, EV: number): string {
  return /* wgsl */ `struct Params { B: u32, L: u32, S: u32, scale: f32, mdiv: u32, mmod: u32 }
const E = ${E}u;
const EV = ${EV}u;
const TILE = ${TILE}u;
const WG = ${WG}u;${NEG_INF_TEST}`;
}

/**
 * WGSL for staging one tile: the workgroup's threads copy rows first .. first + TILE - 1 of `src`
 * (batch entry b, `count` rows of `width` floats each) into the workgroup array `dst`, with zeros
 * past the last row, so every thread can then read the tile after the barrier.
 */
function stageTile(dst: string, src: string, width: string, first: string, count: string): string {
  return `for (var t = lid; t < TILE * ${width}; t += WG) {
      let r = ${first} + t / ${width};
      if (r < ${count}) { ${dst}[t] = ${src}[(b * ${count} + r) * ${width} + t % ${width}]; } else { ${dst}[t] = 0.0; }
    }`;
}

/** The score s of query row i (q in registers) and key row jj of the tile in `ks`; `continue`s past excluded keys. */
function score(mask: AttentionMask, qName: string, kTile: string, qi: string, kj: string, kRow: string): string {
  return /* wgsl */ `${mask === 'causal' ? `if (${kj} > ${qi}) { continue; }` : ''}
        var s = 0.0;
        for (var e = 0u; e < E; e++) { s += ${qName} * ${kTile}[${kRow} * E + e]; }
        s = s * p.scale${mask === 'add' ? ` + M[((b / p.mdiv) % p.mmod) * p.L * p.S + ${qi} * p.S + ${kj}]` : ''};
        if (is_neg_inf(s)) { continue; }`;
}

/**
 * Forward: O = softmax(Q Kᵀ · scale + mask) V and LSE (row log-sum-exp). Params: B, L, S, scale (f32
 * bits), mdiv, mmod. Bindings: Q, K, V, M (the additive mask; any buffer when unused), O, LSE. Dispatch
 * [ceil(L / 64), B].
 */
export const attentionForwardWGSL = memoize(function attentionForwardWGSL(E: number, EV: number, mask: AttentionMask): string {
  return /* wgsl */ `// fused attention forward, E ${E}, EV ${EV}, mask ${mask}: one thread per query row, K/V tiles in workgroup memory
${header(E, EV)}
@group(0) @binding(0) var<storage, read> p: Params;
@group(0) @binding(1) var<storage, read> Q: array<f32>;
@group(0) @binding(2) var<storage, read> K: array<f32>;
@group(0) @binding(3) var<storage, read> V: array<f32>;
@group(0) @binding(4) var<storage, read> M: array<f32>;
@group(0) @binding(5) var<storage, read_write> O: array<f32>;
@group(0) @binding(6) var<storage, read_write> LSE: array<f32>;
var<workgroup> ks: array<f32, ${TILE * E}>;
var<workgroup> vs: array<f32, ${TILE * EV}>;
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let b = wid.y;
  let i = wid.x * WG + lid;
  let valid = i < p.L; // no early return: every thread must reach the barriers
  var q: array<f32, E>;
  var acc: array<f32, EV>;
  if (valid) { for (var e = 0u; e < E; e++) { q[e] = Q[(b * p.L + i) * E + e]; } }
  var m = -3.0e38; // running max (finite, so exp(m - m_new) is 0, not NaN, at the first key)
  var l = 0.0;     // running sum of exp(s - m)
  for (var j0 = 0u; j0 < p.S; j0 += TILE) {
    ${stageTile('ks', 'K', 'E', 'j0', 'p.S')}
    ${stageTile('vs', 'V', 'EV', 'j0', 'p.S')}
    workgroupBarrier();
    if (valid) {
      let n = min(TILE, p.S - j0);
      for (var jj = 0u; jj < n; jj++) {
        let j = j0 + jj;
        ${score(mask, 'q[e]', 'ks', 'i', 'j', 'jj')}
        let mn = max(m, s);
        let c = exp(m - mn);
        let pj = exp(s - mn);
        l = l * c + pj;
        for (var d = 0u; d < EV; d++) { acc[d] = acc[d] * c + pj * vs[jj * EV + d]; }
        m = mn;
      }
    }
    workgroupBarrier();
  }
  if (valid) {
    for (var d = 0u; d < EV; d++) { O[(b * p.L + i) * EV + d] = acc[d] / l; }
    LSE[b * p.L + i] = m + log(l);
  }
}`;
});

/**
 * Backward for dQ: dq_i = scale Σ_j p_ij (g_i · v_j - D_i) k_j. Params: B, L, S, scale, mdiv, mmod. Bindings: Q, K,
 * V, M, STATS ([B, L, 2]: lse, D), G, DQ. Dispatch [ceil(L / 64), B].
 */
export const attentionBackwardQWGSL = memoize(function attentionBackwardQWGSL(E: number, EV: number, mask: AttentionMask): string {
  return /* wgsl */ `// fused attention backward (dq), E ${E}, EV ${EV}, mask ${mask}: one thread per query row, K/V tiles in workgroup memory
${header(E, EV)}
@group(0) @binding(0) var<storage, read> p: Params;
@group(0) @binding(1) var<storage, read> Q: array<f32>;
@group(0) @binding(2) var<storage, read> K: array<f32>;
@group(0) @binding(3) var<storage, read> V: array<f32>;
@group(0) @binding(4) var<storage, read> M: array<f32>;
@group(0) @binding(5) var<storage, read> STATS: array<f32>;
@group(0) @binding(6) var<storage, read> G: array<f32>;
@group(0) @binding(7) var<storage, read_write> DQ: array<f32>;
var<workgroup> ks: array<f32, ${TILE * E}>;
var<workgroup> vs: array<f32, ${TILE * EV}>;
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let b = wid.y;
  let i = wid.x * WG + lid;
  let valid = i < p.L;
  var q: array<f32, E>;
  var g: array<f32, EV>;
  var dq: array<f32, E>;
  var lse = 0.0;
  var D = 0.0;
  if (valid) {
    for (var e = 0u; e < E; e++) { q[e] = Q[(b * p.L + i) * E + e]; }
    for (var d = 0u; d < EV; d++) { g[d] = G[(b * p.L + i) * EV + d]; }
    lse = STATS[(b * p.L + i) * 2u];
    D = STATS[(b * p.L + i) * 2u + 1u];
  }
  for (var j0 = 0u; j0 < p.S; j0 += TILE) {
    ${stageTile('ks', 'K', 'E', 'j0', 'p.S')}
    ${stageTile('vs', 'V', 'EV', 'j0', 'p.S')}
    workgroupBarrier();
    if (valid) {
      let n = min(TILE, p.S - j0);
      for (var jj = 0u; jj < n; jj++) {
        let j = j0 + jj;
        ${score(mask, 'q[e]', 'ks', 'i', 'j', 'jj')}
        let pj = exp(s - lse);
        var dp = 0.0;
        for (var d = 0u; d < EV; d++) { dp += g[d] * vs[jj * EV + d]; }
        let ds = pj * (dp - D);
        for (var e = 0u; e < E; e++) { dq[e] += ds * ks[jj * E + e]; }
      }
    }
    workgroupBarrier();
  }
  if (valid) { for (var e = 0u; e < E; e++) { DQ[(b * p.L + i) * E + e] = dq[e] * p.scale; } }
}`;
});

/**
 * Backward for dK and dV: dk_j = scale Σ_i p_ij (g_i · v_j - D_i) q_i, dv_j = Σ_i p_ij g_i, written as
 * DKV [B, S, E + EV] (dk then dv in each row). Params: B, L, S, scale, mdiv, mmod. Bindings: Q, K, V, M, STATS, G,
 * DKV. Dispatch [ceil(S / 64), B].
 */
export const attentionBackwardKVWGSL = memoize(function attentionBackwardKVWGSL(E: number, EV: number, mask: AttentionMask): string {
  return /* wgsl */ `// fused attention backward (dk, dv), E ${E}, EV ${EV}, mask ${mask}: one thread per key row, Q/G tiles in workgroup memory
${header(E, EV)}
@group(0) @binding(0) var<storage, read> p: Params;
@group(0) @binding(1) var<storage, read> Q: array<f32>;
@group(0) @binding(2) var<storage, read> K: array<f32>;
@group(0) @binding(3) var<storage, read> V: array<f32>;
@group(0) @binding(4) var<storage, read> M: array<f32>;
@group(0) @binding(5) var<storage, read> STATS: array<f32>;
@group(0) @binding(6) var<storage, read> G: array<f32>;
@group(0) @binding(7) var<storage, read_write> DKV: array<f32>;
var<workgroup> qs: array<f32, ${TILE * E}>;
var<workgroup> gs: array<f32, ${TILE * EV}>;
var<workgroup> st: array<f32, ${TILE * 2}>;
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let b = wid.y;
  let j = wid.x * WG + lid;
  let valid = j < p.S;
  var k: array<f32, E>;
  var v: array<f32, EV>;
  var dk: array<f32, E>;
  var dv: array<f32, EV>;
  if (valid) {
    for (var e = 0u; e < E; e++) { k[e] = K[(b * p.S + j) * E + e]; }
    for (var d = 0u; d < EV; d++) { v[d] = V[(b * p.S + j) * EV + d]; }
  }
  for (var i0 = 0u; i0 < p.L; i0 += TILE) {
    ${stageTile('qs', 'Q', 'E', 'i0', 'p.L')}
    ${stageTile('gs', 'G', 'EV', 'i0', 'p.L')}
    ${stageTile('st', 'STATS', '2u', 'i0', 'p.L')}
    workgroupBarrier();
    if (valid) {
      let n = min(TILE, p.L - i0);
      for (var ii = 0u; ii < n; ii++) {
        let i = i0 + ii;
        ${score(mask, 'k[e]', 'qs', 'i', 'j', 'ii')}
        let pj = exp(s - st[ii * 2u]);
        var dp = 0.0;
        for (var d = 0u; d < EV; d++) {
          dp += gs[ii * EV + d] * v[d];
          dv[d] += pj * gs[ii * EV + d];
        }
        let ds = pj * (dp - st[ii * 2u + 1u]);
        for (var e = 0u; e < E; e++) { dk[e] += ds * qs[ii * E + e]; }
      }
    }
    workgroupBarrier();
  }
  if (valid) {
    let row = (b * p.S + j) * (E + EV);
    for (var e = 0u; e < E; e++) { DKV[row + e] = dk[e] * p.scale; }
    for (var d = 0u; d < EV; d++) { DKV[row + E + d] = dv[d]; }
  }
}`;
});
