// Ownership, element by element: for a recorded dispatch, which workgroup (x, y, z) and which thread
// write each element of the buffer it produces. Derived from the kernel's mapping rule (lab-rules.ts)
// and, where one thread or workgroup writes a block, from the kernel's own blocking (tile shape,
// pixels × channels per thread, values per packed word), read from the dispatch's parameter words and
// its runtime name. test/lab-coverage.test.ts checks every owner function against the recorded grid
// (every element has one owner inside it, no thread owns more than `per` elements, no workgroup of
// the grid is idle) and test/lab-owners.test.ts runs single workgroups of real kernels on the GPU and
// compares the elements each one wrote with what its owner function says.

import type { RunDispatch } from './lab-ops.js';
import { ruleFor, type Rule } from './lab-rules.js';

/** The writer of one element: workgroup (z null: every z slice adds a partial sum) and thread (null: all its threads). */
export interface Own {
  wg: [number, number, number | null];
  thread: number | null;
}

export interface Owners {
  /** Elements of the output the rule describes. */
  size: number;
  /** The most elements one (workgroup, thread) writes (one workgroup, where threads are null). */
  per: number;
  /** What an element is, in words. */
  what: string;
  of(i: number): Own;
  /** The word element i is in its output buffer (default i; a multi-tensor kernel writes element e of tensor j at word e of tensor j's buffer). */
  word?(i: number): number;
}

type D = Pick<RunDispatch, 'params' | 'workgroupSize' | 'workgroups' | 'name'> & { wgsl?: string };
/** A constant compiled into the kernel's WGSL (`const NAME = 3u;`). */
const compiled = (d: D, name: string): number => Number(d.wgsl?.match(new RegExp(`const ${name} = (\\d+)u`))?.[1] ?? NaN);
const nums = (name: string): number[] => (name.match(/\d+/g) ?? []).map(Number);
const threadsOf = (d: D): number => d.workgroupSize[0] * d.workgroupSize[1] * d.workgroupSize[2];

/** Global thread L of a 1-D grid folded into y past 65535 workgroups (runtime.ts grid1d). */
function folded(d: D, L: number, zFold = false): Own {
  const T = threadsOf(d);
  const g = Math.floor(L / T);
  const gx = d.workgroups[0];
  return zFold ? { wg: [g % gx, 0, Math.floor(g / gx)], thread: L % T } : { wg: [g % gx, Math.floor(g / gx), 0], thread: L % T };
}
/** Workgroup j of a folded 1-D grid owning a whole unit (its threads share the work). */
const wgOwns = (d: D, j: number): Own => ({ wg: [j % d.workgroups[0], Math.floor(j / d.workgroups[0]), 0], thread: null });

/** Implicit-GEMM conv kernels: element (m, col) of C[M, NN] -> its tile, lane and split-K slices. */
function gemmTile(d: D, m: number, col: number): Own {
  const [, BM, BN, , TM, TN] = nums(d.name) as [number, number, number, number, number, number];
  const mTiles = Math.ceil(d.params[15]! / BM);
  const t = Math.floor(m / BM) + Math.floor(col / BN) * mTiles;
  const RT = BM / TM;
  const [lr, lc] = [m % BM, col % BN];
  const tm = Math.floor((lr % (4 * RT)) / 4);
  const tn = Math.floor((lc % (4 * (BN / TN))) / 4);
  return { wg: [t % d.workgroups[0], Math.floor(t / d.workgroups[0]), d.workgroups[2] > 1 ? null : 0], thread: tm + tn * RT };
}

/** Element-level owners of kernels whose threads or workgroups write more than one element each. */
const SPECIAL: Record<string, (d: D) => Owners> = {
  conv2dForwardWGSL: (d) => {
    const p = d.params;
    const [CO, OHW] = [p[4]!, p[7]! * p[8]!];
    const nt = nums(d.name);
    return { size: p[0]! * CO * OHW, per: nt[4]! * nt[5]!, what: 'y[n, co, oh, ow] (GEMM row n·OH·OW + oh·OW + ow, column co)', of: (i) => gemmTile(d, Math.floor(i / (CO * OHW)) * OHW + (i % OHW), Math.floor(i / OHW) % CO) };
  },
  conv2dGradInputWGSL: (d) => {
    const p = d.params;
    const [C, HW] = [p[1]!, p[2]! * p[3]!];
    const nt = nums(d.name);
    return { size: p[0]! * C * HW, per: nt[4]! * nt[5]!, what: 'dx[n, c, h, w] (GEMM row n·H·W + h·W + w, column c)', of: (i) => gemmTile(d, Math.floor(i / (C * HW)) * HW + (i % HW), Math.floor(i / HW) % C) };
  },
  conv2dGradWeightWGSL: (d) => {
    const p = d.params;
    const K = p[1]! * p[5]! * p[6]!;
    const nt = nums(d.name);
    return { size: p[4]! * K, per: nt[4]! * nt[5]!, what: 'dw[co, c, kh, kw] (GEMM row (c·KH + kh)·KW + kw, column co; split-K slices on z)', of: (i) => gemmTile(d, i % K, Math.floor(i / K)) };
  },
  conv2dRegisterWGSL: (d) => {
    const p = d.params;
    const [, PPT, CPT] = nums(d.name) as [number, number, number];
    const [CO, OH, OW] = [p[4]!, p[7]!, p[8]!];
    const [OWB, COB] = [Math.ceil(OW / PPT), CO / CPT];
    return {
      size: p[0]! * CO * OH * OW, per: PPT * CPT, what: `y[n, co, oh, ow] (${PPT} pixels × ${CPT} channels a thread)`,
      of: (i) => {
        const [ow, oh, co, n] = [i % OW, Math.floor(i / OW) % OH, Math.floor(i / (OW * OH)) % CO, Math.floor(i / (OW * OH * CO))];
        return folded(d, ((n * OH + oh) * OWB + Math.floor(ow / PPT)) * COB + Math.floor(co / CPT));
      },
    };
  },
  matmulSubgroupWGSL: (d) => {
    // Workgroup (x, y) = columns 64·4Q·x .. and rows R·y .. of C; thread t = columns 4Q·t .. 4Q·t + 4Q - 1 of that block.
    const [R, C4] = nums(d.name) as [number, number];
    const [M, N] = [d.params[0]!, d.params[1]!];
    const tileN = 64 * C4;
    return {
      size: M * N * d.workgroups[2], per: R * C4, what: `C[r, c] (${R} rows × ${C4} columns a thread)`,
      of: (i) => {
        const [z, r, c] = [Math.floor(i / (M * N)), Math.floor(i / N) % M, i % N];
        return { wg: [Math.floor(c / tileN), Math.floor(r / R), z], thread: Math.floor((c % tileN) / C4) };
      },
    };
  },
  matmulRowDotWGSL: (d) => {
    // Thread o = m · NB + ⌊n / COLS⌋ of batch z (NB = ⌈N / COLS⌉ column blocks), on a folded 1-D grid.
    const COLS = nums(d.name)[1]!;
    const [M, N] = [d.params[0]!, d.params[1]!];
    const NB = Math.ceil(N / COLS);
    return {
      size: M * N * d.workgroups[2], per: COLS, what: `C[r, c] (1 row × ${COLS} columns a thread)`,
      of: (i) => {
        const [z, r, c] = [Math.floor(i / (M * N)), Math.floor(i / N) % M, i % N];
        const o = folded(d, r * NB + Math.floor(c / COLS));
        return { wg: [o.wg[0], o.wg[1], z], thread: o.thread };
      },
    };
  },
  matmulNVec4WGSL: (d) => {
    // Thread o = ⌊m / R⌋ · N/4 + ⌊n / 4⌋ of batch z, on a folded 1-D grid.
    const R = nums(d.name)[1]!;
    const [M, N] = [d.params[0]!, d.params[1]!];
    return {
      size: M * N * d.workgroups[2], per: R * 4, what: `C[r, c] (${R} rows × 4 columns a thread)`,
      of: (i) => {
        const [z, r, c] = [Math.floor(i / (M * N)), Math.floor(i / N) % M, i % N];
        const o = folded(d, Math.floor(r / R) * (N / 4) + Math.floor(c / 4));
        return { wg: [o.wg[0], o.wg[1], z], thread: o.thread };
      },
    };
  },
  conv2dSubgroupWGSL: (d) => {
    const p = d.params;
    const [, PPT, CPT] = nums(d.name) as [number, number, number];
    const [CO, OH, OW] = [p[4]!, p[7]!, p[8]!];
    const OWB = Math.ceil(OW / PPT);
    return {
      size: p[0]! * CO * OH * OW, per: PPT * CPT, what: `y[n, co, oh, ow] (${PPT} pixels × ${CPT} channels a thread, the channel block on y)`,
      of: (i) => {
        const [ow, oh, co, n] = [i % OW, Math.floor(i / OW) % OH, Math.floor(i / (OW * OH)) % CO, Math.floor(i / (OW * OH * CO))];
        const t = (n * OH + oh) * OWB + Math.floor(ow / PPT);
        const g = Math.floor(t / 64);
        return { wg: [g % d.workgroups[0], Math.floor(co / CPT), Math.floor(g / d.workgroups[0])], thread: t % 64 };
      },
    };
  },
  conv2dGradWeightRegisterWGSL: (d) => {
    const p = d.params;
    const K = p[1]! * p[5]! * p[6]!;
    const COB = p[4]! / 8;
    return {
      size: p[4]! * K, per: 64, what: 'dw[co, k] (8 taps × 8 channels a thread; row slices on z)',
      of: (i) => { const o = folded(d, Math.floor((i % K) / 8) * COB + Math.floor(i / K / 8)); return { wg: [o.wg[0], o.wg[1], d.workgroups[2] > 1 ? null : 0], thread: o.thread }; },
    };
  },
  conv2dGradWeightSubgroupWGSL: (d) => {
    const p = d.params;
    const [Cg, CB] = [p[1]! / (p[15]! || 1), nums(d.name).at(-1)!]; // dw [CO, C/G, 3, 3]; p[15] is G when grouped, else 0
    return {
      size: p[4]! * Cg * 9, per: CB * 9, what: `dw[co, c, kh, kw] (lane c % 8 of workgroup (c / 8, co / ${CB}); row slices on z)`,
      of: (i) => { const c = Math.floor(i / 9) % Cg; const co = Math.floor(i / (9 * Cg)); return { wg: [Math.floor(c / 8), Math.floor(co / CB), d.workgroups[2] > 1 ? null : 0], thread: c % 8 }; },
    };
  },
  conv2dGradWeightSubgroupRowsWGSL: (d) => {
    const p = d.params;
    const [Cg, CB] = [p[1]! / p[9]!, nums(d.name).at(-1)!]; // dw [CO, C/G, 3, 3]
    return {
      size: p[4]! * Cg * 9, per: CB * 9, what: `dw[co, c, kh, kw] (lane c % 8 of workgroup (c / 8, co / ${CB}); row slices on z)`,
      of: (i) => { const c = Math.floor(i / 9) % Cg; const co = Math.floor(i / (9 * Cg)); return { wg: [Math.floor(c / 8), Math.floor(co / CB), d.workgroups[2] > 1 ? null : 0], thread: c % 8 }; },
    };
  },
  cumsumWGSL: (d) => {
    const [rows, D, inner] = [d.params[0]!, d.params[1]!, d.params[2]!];
    return { size: rows * D, per: D, what: 'y[outer, k, inner] (thread outer·inner + inner scans its row)', of: (i) => folded(d, Math.floor(i / (D * inner)) * inner + (i % inner)) };
  },
  UNPACK_F16_WGSL: (d) => {
    const [words, dd, w] = [d.params[0]!, d.params[1]!, d.params[2]!];
    return { size: (words / w) * dd, per: 2, what: 'out[e, j] (word e·W + ⌊j / 2⌋)', of: (i) => folded(d, Math.floor(i / dd) * w + Math.floor((i % dd) / 2)) };
  },
  convGroupedWGSL: (d) => {
    const p = d.params;
    const n = d.name;
    const ppt = Number(/_row(\d+)_/.exec(n)?.[1] ?? 0);
    if (ppt) return depthwiseRowOwners(d, ppt);
    const size = n.endsWith('forward') ? p[0]! * p[4]! * p[7]! * p[8]! : n.endsWith('gradInput') ? p[0]! * p[1]! * p[2]! * p[3]! : p[4]! * (p[1]! / p[15]!) * p[5]! * p[6]!;
    const slices = n.endsWith('gradWeight') && d.workgroups[2] > 1;
    return { size, per: 1, what: n.endsWith('gradWeight') ? 'dw[co, cl, kh, kw] (row slices on z)' : 'element i', of: (i) => { const o = folded(d, i); return slices ? { ...o, wg: [o.wg[0], o.wg[1], null] } : o; } };
  },
  sgdMultiWGSL: (d) => multiTensor(d),
  adamMultiWGSL: (d) => multiTensor(d),
  rmspropMultiWGSL: (d) => multiTensor(d),
  rowNormBackwardDxShortWGSL: (d) => {
    const [R, Dd] = [d.params[0]!, d.params[1]!];
    return { size: R * Dd, per: Dd, what: 'dx[r, j] (thread r writes row r)', of: (i) => folded(d, Math.floor(i / Dd)) };
  },
  GRAY_MEAN_WGSL: (d) => ({ size: d.workgroups[0], per: 1, what: 'M[b] (workgroup b, its threads together)', of: (i) => wgOwns(d, i) }),
  U8_TO_F32_WGSL: (d) => ({ size: d.params[0]!, per: 4, what: 'pixel i (word ⌊i / 4⌋)', of: (i) => folded(d, Math.floor(i / 4)) }),
  attentionForwardWGSL: (d) => attentionRows(d, d.params[1]!, 1),
  attentionBackwardQWGSL: (d) => attentionRows(d, d.params[1]!, compiled(d, 'E')),
  attentionBackwardKVWGSL: (d) => attentionRows(d, d.params[2]!, compiled(d, 'E') + compiled(d, 'EV')),
  MAX_POOL_BWD_TILED_WGSL: (d) => {
    const [n, H, W, OH, OW, kh, kw] = Array.from(d.params.slice(0, 7));
    const planes = n! / (OH! * OW!);
    return {
      size: planes * H! * W!, per: kh! * kw!, what: `dx[plane, h, w] (thread o writes the ${kh} × ${kw} window under output o)`,
      of: (i) => { const [w, h, pl] = [i % W!, Math.floor(i / W!) % H!, Math.floor(i / (W! * H!))]; return folded(d, (pl * OH! + Math.floor(h / kh!)) * OW! + Math.floor(w / kw!)); },
    };
  },
  MAX_POOL_FWD_2X2_VEC4_WGSL: (d) => ({ size: 2 * d.params[0]!, per: 2, what: 'out[plane, oh, ow] (thread q writes outputs 2q and 2q + 1)', of: (i) => folded(d, Math.floor(i / 2)) }),
  MAX_POOL_BWD_2X2_VEC4_WGSL: (d) => {
    const [H, W, OH] = [d.params[1]!, d.params[2]!, d.params[3]!];
    const planes = d.params[0]! / (OH * (W / 4));
    return {
      size: planes * H * W, per: H > 2 * OH ? 12 : 8, what: 'dx[plane, h, w] (thread q writes the 2 × 4 block under outputs 2q, 2q + 1; with an odd H the last row goes to the last output row\'s threads)',
      of: (i) => { const [w, h, pl] = [i % W, Math.min(Math.floor(i / W) % H, 2 * OH - 1), Math.floor(i / (W * H))]; return folded(d, (pl * OH + Math.floor(h / 2)) * (W / 4) + Math.floor(w / 4)); },
    };
  },
  UNPACK_U8_TABLE_WGSL: (d) => unpackU8(d),
  UNPACK_U8_AFFINE_WGSL: (d) => unpackU8(d),
  rowNormBackwardDxWGSL: (d) => {
    const [R, Dd] = [d.params[0]!, d.params[1]!];
    return { size: R * Dd, per: Dd, what: 'dx[r, j] (workgroup r writes row r)', of: (i) => wgOwns(d, Math.floor(i / Dd)) };
  },
  softmaxForwardWGSL: (d) => softmaxLines(d),
  softmaxBackwardWGSL: (d) => softmaxLines(d),
  lossForwardWGSL: (d) => ({
    size: 3 * d.params[0]!, per: 3, what: 'PARTS[n] = (nll, smooth, den) of row n (STATS likewise)',
    of: (i) => (d.name.includes('_row') ? wgOwns(d, Math.floor(i / 3)) : folded(d, Math.floor(i / 3))),
  }),
};

/** Attention: element j of row r of batch b (`cols` a row: 1 for lse) -> workgroup (r / 64, b), thread r % 64. */
function attentionRows(d: D, rows: number, cols: number): Owners {
  const batch = d.params[0]!;
  return {
    size: batch * rows * cols, per: cols, what: cols > 1 ? `element j of row r of batch b (${cols} a row)` : 'row r of batch b (its log-sum-exp)',
    of: (k) => { const i = Math.floor(k / cols); return { wg: [Math.floor((i % rows) / 64), Math.floor(i / rows), 0], thread: (i % rows) % 64 }; },
  };
}

/**
 * Multi-tensor optimizer: element e of tensor j (slot j: words 8 + 4j = n, 9 + 4j = start) is thread
 * start + e; `word` is its index in tensor j's own buffers, which is what a probe sees written.
 */
function multiTensor(d: D): Owners {
  const slots: [number, number, number][] = [];
  let size = 0;
  for (let j = 8; j + 3 < d.params.length && d.params[j]! > 0; j += 4) {
    slots.push([size, d.params[j]!, d.params[j + 1]!]);
    size += d.params[j]!;
  }
  const slotOf = (i: number): [number, number, number] => { let k = 0; while (k + 1 < slots.length && slots[k + 1]![0] <= i) k++; return slots[k]!; };
  return {
    size, per: 1, what: `element e of tensor j (${slots.length} tensors; thread start_j + e)`,
    of: (i) => { const [first, , start] = slotOf(i); return folded(d, start + i - first); },
    word: (i) => i - slotOf(i)[0],
  };
}

/**
 * Row-blocked depthwise kernels (conv2d_depthwise_<pass>_row<PPT>_*): forward / grad-input thread t of
 * workgroup (x, plane) writes PPT adjacent pixels of one row of its plane (t = row · ⌈width / PPT⌉ + block,
 * x = ⌊t / 64⌋, the plane folded over y and z); grad-weight thread co + CO · kh writes the KW taps of
 * kernel row (co, kh), one partial per slice of rows on z.
 */
function depthwiseRowOwners(d: D, ppt: number): Owners {
  const p = d.params;
  if (d.name.includes('gradWeight')) {
    const [CO, KH, KW] = [p[4]!, p[5]!, p[6]!];
    const slices = d.workgroups[2] > 1;
    return {
      size: CO * KH * KW, per: KW, what: `dw[co, 0, kh, kw] (thread co + CO · kh writes the ${KW} taps of its kernel row${slices ? '; row slices on z' : ''})`,
      of: (i) => { const o = folded(d, Math.floor(i / (KH * KW)) + CO * (Math.floor(i / KW) % KH)); return slices ? { ...o, wg: [o.wg[0], o.wg[1], null] } : o; },
    };
  }
  const fwd = d.name.includes('forward');
  const [planes, rows, width] = fwd ? [p[0]! * p[4]!, p[7]!, p[8]!] : [p[0]! * p[1]!, p[2]!, p[3]!];
  const blocks = Math.ceil(width / ppt);
  const gy = d.workgroups[1];
  return {
    size: planes * rows * width, per: ppt, what: `${fwd ? 'y[n, co, oh, ow]' : 'dx[n, c, ih, iw]'} (a thread writes ${ppt} adjacent pixels of a row; workgroup y, z: the plane)`,
    of: (i) => {
      const plane = Math.floor(i / (rows * width));
      const t = Math.floor((i % (rows * width)) / width) * blocks + Math.floor((i % width) / ppt);
      return { wg: [Math.floor(t / 64), plane % gy, Math.floor(plane / gy)], thread: t % 64 };
    },
  };
}

/** uint8 unpack: out[e, j] from word e·W + ⌊j / 4⌋ (params: words, d, W). */
function unpackU8(d: D): Owners {
  const [words, dd, w] = [d.params[0]!, d.params[1]!, d.params[2]!];
  return { size: (words / w) * dd, per: 4, what: 'out[e, j] (word e·W + ⌊j / 4⌋)', of: (i) => folded(d, Math.floor(i / dd) * w + Math.floor((i % dd) / 4)) };
}

/** softmax along r of x [outer, r, inner]: a line (o, i) per workgroup ('_row') or per thread. */
function softmaxLines(d: D): Owners {
  const [outer, r, inner] = [d.params[0]!, d.params[1]!, d.params[2]!];
  const line = (k: number): number => Math.floor(k / (r * inner)) * inner + (k % inner);
  return d.name.includes('_row')
    ? { size: outer * r * inner, per: r, what: 'y[o, j, i] (a workgroup a line)', of: (k) => wgOwns(d, line(k)) }
    : { size: outer * r * inner, per: r, what: 'y[o, j, i] (a thread a line)', of: (k) => folded(d, line(k)) };
}

/** Matmul-style tiles: element (r, c) of batch z. */
function tileOwners(d: D, rule: Extract<Rule, { kind: 'tiles' }>): Owners {
  const M = rule.M(d.params, d.name);
  const N = rule.N(d.params, d.name);
  const [tx, ty] = [d.workgroupSize[0], d.workgroupSize[1]];
  const per = rule.tileM * rule.tileN / threadsOf(d);
  return {
    size: M * N * d.workgroups[2], per, what: `C[r, c] (${rule.tileM} × ${rule.tileN} tiles)`,
    of: (i) => {
      const [z, r, c] = [Math.floor(i / (M * N)), Math.floor(i / N) % M, i % N];
      const [lr, lc] = [r % rule.tileM, c % rule.tileN];
      const thread = rule.tileM === ty && rule.tileN === tx ? lr * tx + lc
        : rule.tileM === 64 && ty === 16 ? (lr % 16) * tx + (lc % 16)
          : rule.tileM === 32 && ty === 8 ? Math.floor(lr / 4) * tx + Math.floor(lc / 4)
            : rule.tileM === 1 ? lc : null;
      return { wg: [Math.floor(c / rule.tileN), Math.floor(r / rule.tileM), z], thread };
    },
  };
}

/** The owners of dispatch `d`'s output under its kernel's rule (`kernel`: its src/shaders export). */
export function ownersOf(kernel: string, d: D): Owners | null {
  const special = SPECIAL[kernel];
  if (special) return special(d);
  const rule = ruleFor(kernel);
  if (!rule) return null;
  if (rule.kind === 'flat') {
    const n = rule.count(d.params, d.name);
    return { size: n, per: 1, what: 'unit i (element, word, row or window: see the rule)', of: (i) => folded(d, i) };
  }
  if (rule.kind === 'rows') {
    const n = rule.count(d.params, d.name);
    const z = d.workgroups[2];
    return { size: n, per: 1, what: `${rule.unit ?? 'output'} j`, of: (j) => ({ ...wgOwns(d, j), wg: [wgOwns(d, j).wg[0], wgOwns(d, j).wg[1], z > 1 ? null : 0] }) };
  }
  if (rule.kind === 'tiles') return tileOwners(d, rule);
  // Layouts chosen per call (reduce, softmax, loss): '_row' a workgroup per output, else a thread.
  if (kernel === 'reduceWGSL') {
    const n = d.params[0]! * d.params[2]!;
    return d.name.includes('_row')
      ? { size: n, per: 1, what: 'output (row) o, a workgroup each', of: (j) => wgOwns(d, j) }
      : { size: n, per: 1, what: 'output (column) o, a thread each', of: (i) => folded(d, i) };
  }
  return null;
}

/** Check `owners` against the recorded grid: null when sound, else what is wrong. */
export function checkOwners(o: Owners, d: D, limit = 1 << 16): string | null {
  const T = threadsOf(d);
  const [gx, gy, gz] = d.workgroups;
  const count = new Map<string, number>();
  const used = new Set<number>();
  const n = Math.min(o.size, limit);
  for (let i = 0; i < n; i++) {
    const w = o.of(i);
    const [x, y, z] = w.wg;
    if (!(x >= 0 && x < gx && y >= 0 && y < gy && (z === null || (z >= 0 && z < gz)))) return `element ${i} owned by workgroup (${w.wg.join(', ')}), outside the grid ${gx}×${gy}×${gz}`;
    if (w.thread !== null && !(w.thread >= 0 && w.thread < T)) return `element ${i} owned by thread ${w.thread} of a ${T}-thread workgroup`;
    const key = `${x},${y},${z ?? '*'}|${w.thread ?? '*'}`;
    const c = (count.get(key) ?? 0) + 1;
    if (c > o.per) return `(workgroup, thread) ${key} owns more than ${o.per} elements`;
    count.set(key, c);
    if (z === null) for (let k = 0; k < gz; k++) used.add((k * gy + y) * gx + x);
    else used.add((z * gy + y) * gx + x);
  }
  // Every workgroup of the grid owns something, except the slack of a fold into y or z (the last
  // row of a folded grid may run past the end) — judged only when every element was looked at.
  if (n === o.size) {
    const folds = gy > 1 && gz === 1 ? gx : gz > 1 && gy === 1 ? gx : 0;
    const idle = gx * gy * gz - used.size;
    if (idle > 0 && idle >= Math.max(1, folds)) return `${idle} of the ${gx * gy * gz} workgroups own no element`;
  }
  return null;
}
