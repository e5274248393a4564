// The shader lab's staging pictures (web/lab-staging.ts): for a tiled GEMM kernel, which blocks of A
// and B one workgroup holds in workgroup memory at each step of its K loop. Checked on hand-computed
// cases, and as a whole: over its steps a workgroup stages every (row, k) of A and every (k, column)
// of B its C tile needs exactly once and nothing else, and its C tile is exactly the set of elements
// the lab's owner function (web/lab-owners.ts) gives that workgroup. The dispatches are built from
// the kernels' real WGSL, runtime names and parameter layout; the last test checks the same on the
// dispatches the lab's panels really record (their parameter words as the engine wrote them).
import { describe, it, expect } from 'vitest';
import { matmulTiledWGSL, TILE } from '../src/shaders/matmul.js';
import { conv2dForwardWGSL, conv2dGradInputWGSL, conv2dGradWeightWGSL, TILES, type Tile } from '../src/shaders/conv2d.js';
import { stagingOf, stagedAt, stepCount } from '../web/lab-staging.js';
import { ownersOf } from '../web/lab-owners.js';
import { OP_CASES } from '../web/lab-cases-more.js';
import { runCase } from '../web/lab-ops.js';
import { GRID_PARAMS } from '../web/lab-grids.js';
import { useGPU } from './helpers/gpu.js';

// The last test records real dispatches (on whatever adapter the suite runs on, a software one here).
useGPU();

interface Fake {
  name: string;
  params: Uint32Array;
  workgroups: [number, number, number];
  wgsl: string;
  workgroupSize: [number, number, number];
}

function matmulDispatch(M: number, N: number, K: number): Fake {
  const params = new Uint32Array(29);
  params.set([M, N, K, 0, 0]);
  return { name: 'matmul', params, workgroups: [Math.ceil(N / TILE), Math.ceil(M / TILE), 1], wgsl: matmulTiledWGSL({ transA: false, transB: false, bias: false }), workgroupSize: [16, 16, 1] };
}

/** A conv GEMM dispatch as ops/conv.ts launches it: geometry words, then M, NN, K, mTiles, kChunk, splitStride, epilogue. */
function convDispatch(pass: 'fwd' | 'grad_input' | 'grad_weight', t: Tile, g: { N: number; C: number; H: number; W: number; CO: number; KH: number; KW: number; s: number; p: number }, kChunk?: number): Fake {
  const OH = Math.floor((g.H + 2 * g.p - g.KH) / g.s) + 1;
  const OW = Math.floor((g.W + 2 * g.p - g.KW) / g.s) + 1;
  const [M, NN, K] = pass === 'fwd' ? [g.N * OH * OW, g.CO, g.C * g.KH * g.KW] : pass === 'grad_input' ? [g.N * g.H * g.W, g.C, g.CO * g.KH * g.KW] : [g.C * g.KH * g.KW, g.CO, g.N * OH * OW];
  const mTiles = Math.ceil(M / t.BM);
  const chunk = kChunk ?? K;
  const splits = Math.ceil(K / chunk);
  const params = Uint32Array.from([g.N, g.C, g.H, g.W, g.CO, g.KH, g.KW, OH, OW, g.s, g.s, g.p, g.p, 1, 1, M, NN, K, mTiles, chunk, M * NN, 0]);
  const wgsl = pass === 'fwd' ? conv2dForwardWGSL(t, false) : pass === 'grad_input' ? conv2dGradInputWGSL(t, false, false) : conv2dGradWeightWGSL(t, false);
  return { name: `conv2d_${pass}_${t.BM}x${t.BN}x${t.BK}_${t.TM}x${t.TN}`, params, workgroups: [mTiles * Math.ceil(NN / t.BN), 1, splits], wgsl, workgroupSize: [(t.BM / t.TM) * (t.BN / t.TN), 1, 1] };
}

const key = (r: number, c: number): string => `${r},${c}`;
function cellsOf(b: { r0: number; r1: number; c0: number; c1: number }): string[] {
  const out: string[] = [];
  for (let r = b.r0; r < b.r1; r++) for (let c = b.c0; c < b.c1; c++) out.push(key(r, c));
  return out;
}
const sorted = (xs: Iterable<string>): string[] => [...xs].sort();

/**
 * Over all steps of every workgroup: each stages disjoint k ranges that together cover exactly the
 * rows of A and the columns of B of its C tile along its K range, and the C tile is what the owner
 * function gives that workgroup (`gemmOf`: owner element index -> (row, column) of the GEMM's C).
 */
function checkWhole(kernel: string, d: Fake, gemmOf: (i: number) => [number, number]): string[] {
  const s = stagingOf(kernel, d)!;
  const owners = ownersOf(kernel, d)!;
  const problems: string[] = [];
  const owned = new Map<string, string[]>();
  for (let i = 0; i < owners.size; i++) {
    const w = owners.of(i).wg;
    const k = `${w[0]},${w[1]}`;
    owned.set(k, [...(owned.get(k) ?? []), key(...gemmOf(i))]);
  }
  const kCover = new Map<string, number>();
  const [gx, gy, gz] = s.workgroups;
  for (let z = 0; z < gz; z++) for (let y = 0; y < gy; y++) for (let x = 0; x < gx; x++) {
    const wg: [number, number, number] = [x, y, z];
    const t = s.tile(wg);
    if (!t) continue;
    const a = new Map<string, number>();
    const b = new Map<string, number>();
    const n = stepCount(s, wg);
    let c0: string[] | null = null;
    for (let step = 0; step < n; step++) {
      const st = stagedAt(s, wg, step);
      if (st.a.c1 - st.a.c0 > s.BK || st.a.c0 !== st.b.r0 || st.a.c1 !== st.b.r1) problems.push(`${kernel} (${wg}) step ${step}: A and B slices disagree or exceed BK`);
      for (const q of cellsOf(st.a)) a.set(q, (a.get(q) ?? 0) + 1);
      for (const q of cellsOf(st.b)) b.set(q, (b.get(q) ?? 0) + 1);
      const c = sorted(cellsOf(st.c));
      if (c0 && c.join() !== c0.join()) problems.push(`${kernel} (${wg}) step ${step}: another C tile`);
      c0 = c;
    }
    // What the workgroup needs: all of K's slice for each row and column of the C elements it owns.
    const mine = owned.get(`${x},${y}`) ?? [];
    if (sorted(mine).join() !== (c0 ?? []).join()) problems.push(`${kernel} (${wg}): C tile of ${c0?.length} elements, owners give ${mine.length}`);
    const rows = [...new Set(mine.map((q) => Number(q.split(',')[0])))];
    const cols = [...new Set(mine.map((q) => Number(q.split(',')[1])))];
    const needA = rows.flatMap((r) => Array.from({ length: t.kEnd - t.kBegin }, (_, i) => key(r, t.kBegin + i)));
    const needB = cols.flatMap((c) => Array.from({ length: t.kEnd - t.kBegin }, (_, i) => key(t.kBegin + i, c)));
    if (sorted(a.keys()).join() !== sorted(needA).join()) problems.push(`${kernel} (${wg}): stages ${a.size} cells of A, needs ${needA.length}`);
    if (sorted(b.keys()).join() !== sorted(needB).join()) problems.push(`${kernel} (${wg}): stages ${b.size} cells of B, needs ${needB.length}`);
    if ([...a.values(), ...b.values()].some((v) => v !== 1)) problems.push(`${kernel} (${wg}): a cell staged twice`);
    for (let k = t.kBegin; k < t.kEnd; k++) for (const r of rows) kCover.set(key(r, k), (kCover.get(key(r, k)) ?? 0) + 1);
  }
  // Split-K slices together walk all of K for every row once per column tile.
  const nTiles = Math.ceil(s.N / s.BN);
  for (let r = 0; r < s.M; r++) for (let k = 0; k < s.K; k++) if (kCover.get(key(r, k)) !== nTiles) problems.push(`${kernel}: A[${r}, ${k}] staged ${kCover.get(key(r, k)) ?? 0} times over the grid, want ${nTiles}`);
  return problems.slice(0, 10);
}

describe('shader lab staging pictures', () => {
  it('the tiled matmul stages 64-row and 64-column slices, 16 deep: a hand-computed case', () => {
    const s = stagingOf('matmulTiledWGSL', matmulDispatch(100, 70, 40))!;
    expect([s.BM, s.BN, s.BK]).toEqual([64, 64, 16]);
    expect(stepCount(s, [1, 1, 0])).toBe(3);
    // Workgroup (x 1, y 1): rows 64..99, columns 64..69; step 2 is k 32..39 (the last, partial one).
    expect(stagedAt(s, [1, 1, 0], 2)).toEqual({ a: { r0: 64, r1: 100, c0: 32, c1: 40 }, b: { r0: 32, r1: 40, c0: 64, c1: 70 }, c: { r0: 64, r1: 100, c0: 64, c1: 70 } });
    expect(stagedAt(s, [0, 1, 0], 0)).toEqual({ a: { r0: 64, r1: 100, c0: 0, c1: 16 }, b: { r0: 0, r1: 16, c0: 0, c1: 64 }, c: { r0: 64, r1: 100, c0: 0, c1: 64 } });
    expect(() => stagedAt(s, [0, 0, 0], 3)).toThrow(/step 3/);
    expect(stagingOf('matmulVec4WGSL', matmulDispatch(8, 8, 8))).toBeNull();
  });

  it('the implicit-GEMM conv kernels: hand-computed steps, split-K slices included', () => {
    const g = { N: 2, C: 3, H: 5, W: 5, CO: 4, KH: 3, KW: 3, s: 1, p: 1 };
    const f = stagingOf('conv2dForwardWGSL', convDispatch('fwd', TILES.narrow, g))!;
    // GEMM 50 × 4 × 27 (pixels × channels × taps), one 256 × 16 tile, 8 taps a step: 4 steps, the last 3 deep.
    expect([f.M, f.N, f.K, f.BM, f.BN, f.BK]).toEqual([50, 4, 27, 256, 16, 8]);
    expect(stepCount(f, [0, 0, 0])).toBe(4);
    expect(stagedAt(f, [0, 0, 0], 3)).toEqual({ a: { r0: 0, r1: 50, c0: 24, c1: 27 }, b: { r0: 24, r1: 27, c0: 0, c1: 4 }, c: { r0: 0, r1: 50, c0: 0, c1: 4 } });
    // Grad-weight split in 16-deep chunks of K = 50 pixels: slice 3 covers pixels 48, 49 in one step.
    const w = stagingOf('conv2dGradWeightWGSL', convDispatch('grad_weight', TILES.small, g, 16))!;
    expect(w.workgroups).toEqual([1, 1, 4]);
    expect(stepCount(w, [0, 0, 3])).toBe(1);
    expect(stepCount(w, [0, 0, 1])).toBe(2);
    expect(stagedAt(w, [0, 0, 3], 0)).toEqual({ a: { r0: 0, r1: 27, c0: 48, c1: 50 }, b: { r0: 48, r1: 50, c0: 0, c1: 4 }, c: { r0: 0, r1: 27, c0: 0, c1: 4 } });
    expect(stagedAt(w, [0, 0, 1], 1)).toEqual({ a: { r0: 0, r1: 27, c0: 24, c1: 32 }, b: { r0: 24, r1: 32, c0: 0, c1: 4 }, c: { r0: 0, r1: 27, c0: 0, c1: 4 } });
  });

  it('over its steps each workgroup stages exactly the A rows and B columns its owned C tile needs', () => {
    const problems: string[] = [];
    const m = matmulDispatch(150, 70, 37);
    problems.push(...checkWhole('matmulTiledWGSL', m, (i) => [Math.floor(i / 70), i % 70]));
    // Several tiles along both M and N (the tile numbering t -> (t % mTiles, t / mTiles) matters).
    const g = { N: 2, C: 3, H: 10, W: 11, CO: 20, KH: 3, KW: 3, s: 2, p: 1 };
    const OHW = 5 * 6;
    const f = convDispatch('fwd', TILES.small, g);
    problems.push(...checkWhole('conv2dForwardWGSL', f, (i) => [Math.floor(i / (20 * OHW)) * OHW + (i % OHW), Math.floor(i / OHW) % 20]));
    const gi = convDispatch('grad_input', TILES.small, g);
    problems.push(...checkWhole('conv2dGradInputWGSL', gi, (i) => [Math.floor(i / (3 * 110)) * 110 + (i % 110), Math.floor(i / 110) % 3]));
    const gw = convDispatch('grad_weight', TILES.small, g, 8);
    problems.push(...checkWhole('conv2dGradWeightWGSL', gw, (i) => [i % 27, Math.floor(i / 27)]));
    expect(stagingOf('conv2dGradWeightWGSL', gw)!.workgroups[2]).toBe(8); // K = 2 · 30 pixels in 8-deep slices
    expect(problems).toEqual([]);
  });

  it('on recorded dispatches (gemm tiled, implicit-GEMM conv forward and backward, several tiles, split-K): the same holds', async () => {
    const problems: string[] = [];
    const seen = new Set<string>();
    for (const [id, variant] of [['gemm', 'tiled'], ['conv2d', 'implicit GEMM']] as const) {
      const c = OP_CASES.find((x) => x.id === id)!;
      const r = await runCase(c, { ...c.params, ...GRID_PARAMS[id] }, 1, variant, { gradients: false });
      for (const d of r.dispatches) {
        const kernel = d.ref?.name ?? '';
        const p = d.params;
        const gemmOf: Record<string, (i: number) => [number, number]> = {
          matmulTiledWGSL: (i) => [Math.floor(i / p[1]!), i % p[1]!],
          conv2dForwardWGSL: (i) => { const ohw = p[7]! * p[8]!; return [Math.floor(i / (p[4]! * ohw)) * ohw + (i % ohw), Math.floor(i / ohw) % p[4]!]; },
          conv2dGradInputWGSL: (i) => { const hw = p[2]! * p[3]!; return [Math.floor(i / (p[1]! * hw)) * hw + (i % hw), Math.floor(i / hw) % p[1]!]; },
          conv2dGradWeightWGSL: (i) => { const k = p[1]! * p[5]! * p[6]!; return [i % k, Math.floor(i / k)]; },
        };
        if (!gemmOf[kernel]) {
          if (stagingOf(kernel, d)) problems.push(`${kernel}: a staging picture for a kernel that stages no GEMM tiles`);
          continue;
        }
        seen.add(`${kernel} ${d.workgroups.join('x')}`);
        problems.push(...checkWhole(kernel, d, gemmOf[kernel]!));
      }
    }
    expect(problems).toEqual([]);
    const kernels = [...seen].map((k) => k.split(' ')[0]);
    expect(kernels.sort()).toEqual(['conv2dForwardWGSL', 'conv2dGradInputWGSL', 'conv2dGradWeightWGSL', 'matmulTiledWGSL']);
    console.log(`lab staging on recorded dispatches: ${[...seen].join(', ')}`);
  }, 120_000);
});
