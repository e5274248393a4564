// A classifier head's three products (Linear(4096 -> 10), batch 64) under gemm's previous kernel
// choice and the CPU-adapter kernels of src/shaders/matmul-rowdot.ts:
//   forward x @ W^T   64 x 10 x 4096 (transB)   previous: naive    candidate: rowdot
//   dX = dY @ W       64 x 4096 x 10            previous: tiled    candidate: nvec4
//   dW = dY^T @ x     10 x 4096 x 64 (transA)   previous: naive    candidate: nvec4
// GPU time per dispatch from timestamp queries; the kernels alternated `--runs` times in one process
// (a shared machine's load hits every one alike); min / median over the runs.
// --larger adds three 255/256-sized products whose automatic choice also changes.
// Usage: npx tsc -p tsconfig.scripts.json && node build/bench/matmul-head.js [--runs 10] [--reps 3] [--larger]

import * as E from '../src/index.js';
import { gemm, matmulKernels, type GemmKernel } from '../src/engine/ops/matmul.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}
const quantile = (xs: number[], f: number) => [...xs].sort((a, b) => a - b)[Math.floor(f * (xs.length - 1))]!;

const rt = await E.init();
const runs = arg('runs', 10);
const reps = arg('reps', 3); // dispatches per measurement (the minimum of them is kept)
const [ROWS, IN, OUT] = [64, 4096, 10];
const x = E.randn([ROWS, IN]).keep();
const w = E.randn([OUT, IN]).keep();
const dy = E.randn([ROWS, OUT]).keep();

interface Product { label: string; args: Omit<Parameters<typeof gemm>[0], 'out' | 'kernel'>; outShape: number[]; kernels: [string, GemmKernel | 'auto', Partial<typeof matmulKernels>][] }
const old = { rowdot: false } as const;
const products: Product[] = [
  { label: 'x @ W^T 64x10x4096', args: { a: x, b: w, M: ROWS, N: OUT, K: IN, transB: true }, outShape: [ROWS, OUT],
    kernels: [['previous (auto, rowdot off)', 'auto', old], ['auto', 'auto', {}], ['rowdot 1x2', 'rowdot', { rowdotCols: 2 }], ['rowdot 1x1', 'rowdot', { rowdotCols: 1 }]] },
  { label: 'dY @ W 64x4096x10', args: { a: dy, b: w, M: ROWS, N: IN, K: OUT }, outShape: [ROWS, IN],
    kernels: [['previous (auto, rowdot off)', 'auto', old], ['auto', 'auto', {}], ['nvec4 4 rows', 'nvec4', { nvec4Rows: 4 }], ['nvec4 16 rows', 'nvec4', { nvec4Rows: 16 }]] },
  { label: 'dY^T @ x 10x4096x64', args: { a: dy, b: x, M: OUT, N: IN, K: ROWS, transA: true }, outShape: [OUT, IN],
    kernels: [['previous (auto, rowdot off)', 'auto', old], ['auto', 'auto', {}], ['nvec4 4 rows', 'nvec4', { nvec4Rows: 4 }], ['nvec4 10 rows', 'nvec4', { nvec4Rows: 10 }]] },
];
if (process.argv.includes('--larger')) {
  // Shapes past the head where the automatic choice also changes: M or K not a multiple of 4.
  const a = E.randn([255, 256]).keep();
  const b = E.randn([255, 256]).keep();
  const sq = E.randn([255, 255]).keep();
  products.push(
    { label: 'A @ B^T 255x255x256', args: { a, b, M: 255, N: 255, K: 256, transB: true }, outShape: [255, 255],
      kernels: [['previous (auto, rowdot off)', 'auto', old], ['auto', 'auto', {}]] },
    { label: 'A @ B 255x256x255', args: { a: sq, b, M: 255, N: 256, K: 255 }, outShape: [255, 256],
      kernels: [['previous (auto, rowdot off)', 'auto', old], ['auto', 'auto', {}]] },
    { label: 'A^T @ B 256x256x255 (A [255, 256])', args: { a, b, M: 256, N: 256, K: 255, transA: true }, outShape: [256, 256],
      kernels: [['previous (auto, rowdot off)', 'auto', old], ['auto', 'auto', {}]] },
  );
}

const saved = { ...matmulKernels };
/** GPU ms of one dispatch of `kernel` (the minimum of `reps`), and its dispatched name. */
async function once(p: Product, kernel: GemmKernel | 'auto', knobs: Partial<typeof matmulKernels>): Promise<[number, string]> {
  Object.assign(matmulKernels, saved, knobs);
  rt.timer = new E.GpuTimer(rt);
  E.scope(() => { for (let r = 0; r < reps; r++) gemm({ ...p.args, out: E.empty(p.outShape), kernel }); });
  const times = await rt.timer.read();
  rt.timer.destroy();
  rt.timer = null;
  Object.assign(matmulKernels, saved);
  return [Math.min(...times.map((t) => (t.endNs - t.startNs) / 1e6)), times[0]!.name];
}

const results = products.map((p) => p.kernels.map(() => [] as number[]));
const names = products.map((p) => p.kernels.map(() => ''));
for (const p of products) for (const [, k, knobs] of p.kernels) await once(p, k, knobs); // compile
for (let r = 0; r < runs; r++) {
  for (const [i, p] of products.entries()) {
    for (const [j, [, k, knobs]] of p.kernels.entries()) {
      const [ms, name] = await once(p, k, knobs);
      results[i]![j]!.push(ms);
      names[i]![j] = name;
    }
  }
}
console.log(`classifier head products, ${rt.info.description}; GPU ms per dispatch (min of ${reps}) over ${runs} alternated runs, min / median`);
for (const [i, p] of products.entries()) {
  console.log(`  ${p.label}`);
  for (const [j, [label]] of p.kernels.entries()) {
    const ms = results[i]![j]!;
    console.log(`    ${label.padEnd(28)} ${names[i]![j]!.padEnd(20)} ${quantile(ms, 0).toFixed(2)} / ${quantile(ms, 0.5).toFixed(2)}`);
  }
}
