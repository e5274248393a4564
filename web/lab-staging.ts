// Staging geometry of the tiled GEMM kernels: for one workgroup of a recorded dispatch and one step
// of its K loop, which tile of A and which tile of B sit in workgroup memory, and which tile of C
// they add their partial products to. Everything comes from the kernel itself: the C tile of the
// workgroup-tiled matmul from src/shaders/matmul.ts's TILE, the conv kernels' BM × BN tile from the
// runtime name their op gives them (ops/conv.ts: conv2d_fwd_BMxBNxBK_TMxTN), the depth of one step
// from the kernel's own K loop (`k0 += BKu` in its WGSL), the sizes from the dispatch's parameter
// words. test/lab-staging.test.ts checks that the steps of a workgroup stage exactly the rows of A
// and columns of B its C tile needs (and that the C tiles are those lab-owners.ts gives it).

import { TILE } from '../src/shaders/matmul.js';
import type { RunDispatch } from './lab-ops.js';

/** A half-open block of a matrix: rows [r0, r1), columns [c0, c1). */
export interface Block {
  r0: number;
  r1: number;
  c0: number;
  c1: number;
}

/** What one workgroup of a tiled GEMM works on: its C tile's first row and column and its K range. */
export interface WorkgroupTile {
  m0: number;
  n0: number;
  kBegin: number;
  kEnd: number;
}

/** The staging geometry of one recorded tiled-GEMM dispatch: C[M, N] = A[M, K] · B[K, N]. */
export interface Staging {
  kernel: string;
  M: number;
  N: number;
  K: number;
  /** C tile of a workgroup (rows × columns) and the depth along K of one staging step. */
  BM: number;
  BN: number;
  BK: number;
  workgroups: [number, number, number];
  /** What A, B, C and their axes are for this kernel (a conv's GEMM is implicit). */
  names: { a: string; b: string; c: string; m: string; n: string; k: string };
  /** The tile of workgroup (x, y, z), or null for a padding workgroup of a folded grid. */
  tile(wg: [number, number, number]): WorkgroupTile | null;
}

/** What one step stages and feeds: A's block [m0, m1) × [k0, k1), B's [k0, k1) × [n0, n1), C's [m0, m1) × [n0, n1). */
export interface Step {
  a: Block;
  b: Block;
  c: Block;
}

type D = Pick<RunDispatch, 'name' | 'params' | 'workgroups' | 'wgsl'>;

/** The depth of one step of a tiled kernel's K loop, read from its WGSL (`for (var k0 = …; k0 < …; k0 += 16u)`). */
export function stepDepth(wgsl: string): number {
  const m = /k0\s*\+=\s*(\d+)u/.exec(wgsl);
  if (!m) throw new Error('lab staging: the kernel has no `k0 += BKu` K loop');
  return Number(m[1]);
}

const CONV_NAMES: Record<string, Staging['names']> = {
  conv2dForwardWGSL: { a: 'A = x gathered (im2col)', b: 'B = wᵀ', c: 'C = y', m: 'output pixel (n, oh, ow)', n: 'output channel co', k: 'tap (c, kh, kw)' },
  conv2dGradInputWGSL: { a: 'A = G gathered', b: 'B = w', c: 'C = dx', m: 'input pixel (n, h, w)', n: 'input channel c', k: 'tap (co, kh, kw)' },
  conv2dGradWeightWGSL: { a: 'A = x gathered', b: 'B = G', c: 'C = dwᵀ', m: 'tap (c, kh, kw)', n: 'output channel co', k: 'output pixel (n, oh, ow)' },
};

/** The staging geometry of dispatch `d` of `kernel` (its src/shaders export), or null for a kernel that stages no GEMM tiles. */
export function stagingOf(kernel: string, d: D): Staging | null {
  const p = d.params;
  if (kernel === 'matmulTiledWGSL') {
    // Params: M, N, K, …; workgroup (x, y) owns C rows y·TILE…, columns x·TILE…; z is the batch.
    const [M, N, K] = [p[0]!, p[1]!, p[2]!];
    return {
      kernel, M, N, K, BM: TILE, BN: TILE, BK: stepDepth(d.wgsl), workgroups: d.workgroups,
      names: { a: 'A', b: 'B', c: 'C', m: 'row m', n: 'column n', k: 'k' },
      tile: (wg) => (wg[0] * TILE < N && wg[1] * TILE < M ? { m0: wg[1] * TILE, n0: wg[0] * TILE, kBegin: 0, kEnd: K } : null),
    };
  }
  const names = CONV_NAMES[kernel];
  if (!names) return null;
  // The runtime name carries the tile (conv2d_fwd_128x64x8_8x4: BM, BN, BK, TM, TN); the GEMM sizes are
  // the words after the 15 geometry words: M, NN, K, mTiles, kChunk.
  const [, BM, BN] = (d.name.match(/\d+/g) ?? []).map(Number) as [number, number, number];
  const [M, N, K, mTiles, kChunk] = [p[15]!, p[16]!, p[17]!, p[18]!, p[19]!];
  const nTiles = Math.ceil(N / BN);
  return {
    kernel, M, N, K, BM, BN, BK: stepDepth(d.wgsl), workgroups: d.workgroups, names,
    tile: (wg) => {
      // Tiles are numbered t = x + y · (grid width), t -> (t % mTiles, t / mTiles); z is the split-K slice.
      const t = wg[0] + wg[1] * d.workgroups[0];
      if (t >= mTiles * nTiles) return null;
      const kBegin = wg[2] * kChunk;
      return { m0: (t % mTiles) * BM, n0: Math.floor(t / mTiles) * BN, kBegin, kEnd: Math.min(K, kBegin + kChunk) };
    },
  };
}

/** How many steps workgroup `wg`'s K loop runs (0 for a padding workgroup). */
export function stepCount(s: Staging, wg: [number, number, number]): number {
  const t = s.tile(wg);
  return t ? Math.max(0, Math.ceil((t.kEnd - t.kBegin) / s.BK)) : 0;
}

/**
 * Step `step` of workgroup `wg`: the blocks of A, B and C it stages and feeds, clipped to the
 * matrices (the kernel stages zeros past their edges, which add nothing).
 */
export function stagedAt(s: Staging, wg: [number, number, number], step: number): Step {
  const t = s.tile(wg);
  if (!t) throw new Error(`lab staging: workgroup (${wg.join(', ')}) of ${s.kernel} owns no tile`);
  const n = stepCount(s, wg);
  if (!(Number.isInteger(step) && step >= 0 && step < n)) throw new Error(`lab staging: step ${step} of ${s.kernel} workgroup (${wg.join(', ')}) is outside 0…${n - 1}`);
  const k0 = t.kBegin + step * s.BK;
  const k1 = Math.min(t.kEnd, k0 + s.BK);
  const m1 = Math.min(s.M, t.m0 + s.BM);
  const n1 = Math.min(s.N, t.n0 + s.BN);
  return { a: { r0: t.m0, r1: m1, c0: k0, c1: k1 }, b: { r0: k0, r1: k1, c0: t.n0, c1: n1 }, c: { r0: t.m0, r1: m1, c0: t.n0, c1: n1 } };
}
