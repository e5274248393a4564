// Embedding kernels: a lookup table of rows, as torch.nn.functional.embedding.
//
// What they compute: OUT[j, e] = W[INDEX[j], e] for each of the K int32 indices j (any index shape,
// flattened) and each of the E columns of the weight W [V, E]; the backward is the scatter-add
// DW[v, e] = sum over j with INDEX[j] == v of G[j, e], zero for the padding row.
//
// Layout: W is contiguous [V, E]; the indices are K int32 values; OUT and G are [K, E].
// Mapping: one thread per output element (forward) and one per weight-gradient element (backward),
// 1-D grids (linear_index folds past 65535 workgroups into y). The backward has two forms with
// the same result, bit for bit (both add each row's gradients in ascending j): a scan of all K
// indices per element (few indices), or, for large tables, a binary search in the indices sorted
// once (stable, so equal indices stay in ascending j).

import { LINEAR_INDEX, MAIN_1D, indexFlagsWGSL } from './common.js';

/**
 * embedding forward: OUT[j, e] = W[INDEX[j], e]. An index outside [0, V) is reported through the
 * index check (code 5, see INDEX_CHECKS in common.ts: the next readback raises naming it) and its
 * output row is NaN. Params: n (= K * E), V, E, nan (0x7fc00000, the bits of NaN).
 */
export const EMBEDDING_WGSL = /* wgsl */ `// embedding: OUT[j, e] = W[INDEX[j], e]; out-of-range index -> NaN row, reported in FLAGS
struct Params { n: u32, V: u32, E: u32, nan: u32 }
@group(0) @binding(0) var<storage, read> p: Params;
@group(0) @binding(1) var<storage, read> W: array<f32>;
@group(0) @binding(2) var<storage, read> INDEX: array<i32>;
@group(0) @binding(3) var<storage, read_write> OUT: array<f32>;
${indexFlagsWGSL(4)}
${LINEAR_INDEX}
${MAIN_1D} {
  let i = linear_index(gid, nwg);
  if (i >= p.n) { return; }
  let j = i / p.E;
  let e = i - j * p.E;
  let idx = INDEX[j];
  if (idx < 0 || u32(idx) >= p.V) {
    report_bad_index(5u, idx, p.V);
    OUT[i] = bitcast<f32>(p.nan); // NaN's bits come as a parameter: WGSL rejects a constant NaN
    return;
  }
  OUT[i] = W[u32(idx) * p.E + e];
}`;

/**
 * embedding backward, a scatter-add written as a gather so that it is deterministic (WGSL has no
 * float atomics; an atomic compare-exchange loop would sum repeated indices in a run-dependent
 * order): one thread per weight-gradient element (v, e) scans the K indices in order and sums
 * G[j, e] where INDEX[j] == v. The row `pad` (paddingIdx; -1 for none) gets 0, as PyTorch gives the
 * padding row no gradient. O(V * E * K) reads, all threads reading the same INDEX addresses (served
 * from cache): fine for the vocabularies and batches this engine targets. Params: n (= V * E), E, K, pad.
 */
export const EMBEDDING_BACKWARD_WGSL = /* wgsl */ `// embedding backward: DW[v, e] = sum over j with INDEX[j] == v of G[j, e] (0 for the padding row)
struct Params { n: u32, E: u32, K: u32, pad: i32 }
@group(0) @binding(0) var<storage, read> p: Params;
@group(0) @binding(1) var<storage, read> G: array<f32>;
@group(0) @binding(2) var<storage, read> INDEX: array<i32>;
@group(0) @binding(3) var<storage, read_write> DW: array<f32>;
${LINEAR_INDEX}
${MAIN_1D} {
  let i = linear_index(gid, nwg);
  if (i >= p.n) { return; }
  let v = i32(i / p.E);
  let e = i % p.E;
  var acc = 0.0;
  if (v != p.pad) {
    for (var j = 0u; j < p.K; j++) {
      if (INDEX[j] == v) { acc += G[j * p.E + e]; }
    }
  }
  DW[i] = acc;
}`;

/**
 * embedding backward for large tables: SORTED holds the indices in ascending order (as float32,
 * exact below 2^24) and PERM their positions j (a stable sort: ascending j among equal indices).
 * One thread per weight-gradient element (v, e) binary-searches the first SORTED entry equal to v
 * and sums G[PERM[q], e] over the run of equal entries: O(V * E * log K + K * E) instead of
 * O(V * E * K), in the same order as the scan, so both forms agree exactly. Params: n (= V * E),
 * E, K, pad. Bindings: G, SORTED, PERM, DW.
 */
export const EMBEDDING_BACKWARD_SORTED_WGSL = /* wgsl */ `// embedding backward (sorted indices): DW[v, e] = sum of G[j, e] over the run of sorted indices equal to v
struct Params { n: u32, E: u32, K: u32, pad: i32 }
@group(0) @binding(0) var<storage, read> p: Params;
@group(0) @binding(1) var<storage, read> G: array<f32>;
@group(0) @binding(2) var<storage, read> SORTED: array<f32>;
@group(0) @binding(3) var<storage, read> PERM: array<i32>;
@group(0) @binding(4) var<storage, read_write> DW: array<f32>;
${LINEAR_INDEX}
${MAIN_1D} {
  let i = linear_index(gid, nwg);
  if (i >= p.n) { return; }
  let v = i / p.E;
  let e = i % p.E;
  var acc = 0.0;
  if (i32(v) != p.pad) {
    let key = f32(v);
    var lo = 0u;
    var hi = p.K;
    while (lo < hi) { // lower bound: the first q with SORTED[q] >= key
      let mid = (lo + hi) / 2u;
      if (SORTED[mid] < key) { lo = mid + 1u; } else { hi = mid; }
    }
    for (var q = lo; q < p.K && SORTED[q] == key; q++) {
      acc += G[u32(PERM[q]) * p.E + e];
    }
  }
  DW[i] = acc;
}`;
