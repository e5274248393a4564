// The continual-learning tables' MLP (784-256-256-10, batch 64, SGD with momentum): median time of
// a whole training step, the step's kernels by GPU timestamps (where the adapter has
// 'timestamp-query'), and each of the step's matrix products alone under every kernel that applies.
// Usage: npx tsc -p tsconfig.scripts.json && node build/bench/mlp-step.js [--runs 20] [--no-subgroups] [--block R,Q] [--products-only]
//   --no-subgroups keeps gemm's automatic choice off the subgroup kernel (the previous selection);
//   --block R,Q sets the subgroup kernel's blocking; --products-only times only the vec4 and subgroup
//   kernels on the step's products (for tuning the blocking).

import * as E from '../src/index.js';
import { matmulKernels } from '../src/engine/ops/matmul.js';

const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
};
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Median and minimum ms of `runs` synchronized runs after 2 warm-up runs (the minimum is the least disturbed on a shared machine). */
async function timeMs(fn: () => void, runs: number): Promise<{ median: number; min: number }> {
  for (let i = 0; i < 2; i++) E.scope(fn);
  await E.sync();
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    E.scope(fn);
    await E.sync();
    samples.push(performance.now() - t0);
  }
  return { median: median(samples), min: Math.min(...samples) };
}

async function main(): Promise<void> {
  const rt = await E.init();
  const runs = arg('runs', 20);
  if (process.argv.includes('--no-subgroups')) matmulKernels.subgroups = false;
  const block = process.argv.indexOf('--block');
  if (block >= 0) {
    const [R, Q] = process.argv[block + 1]!.split(',').map(Number);
    matmulKernels.subgroupBlock = { R: R!, Q: Q! };
  }
  const only = process.argv.indexOf('--products-only') >= 0;
  const load = (await import('node:fs')).readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  console.log(`adapter: ${rt.info.vendor} / ${rt.info.architecture} / ${rt.info.description}; subgroupMinSize ${rt.info.subgroupMinSize}; subgroups ${matmulKernels.subgroups === false ? 'off' : 'auto'}; load ${load}`);
  const gen = new E.Generator(0);
  const batch = 64;
  const model = new E.Sequential(new E.Linear(784, 256), new E.ReLU(), new E.Linear(256, 256), new E.ReLU(), new E.Linear(256, 10));
  const opt = new E.SGD(model.parameters(), { lr: 0.01, momentum: 0.9 });
  const x = E.randn([batch, 784], { generator: gen }).keep();
  const y = E.randint(0, 10, [batch], { generator: gen }).keep();
  const step = () => {
    const loss = E.crossEntropy(model.forward(x), y);
    opt.zeroGrad();
    loss.backward();
    opt.step();
  };
  const flops = 2 * batch * (784 * 256 + 256 * 256 + 256 * 10) * 3;
  const stepMs = only ? { median: NaN, min: NaN } : await timeMs(step, runs);
  if (!only) console.log(`MLP 784-256-256-10 b${batch} train step: median ${stepMs.median.toFixed(2)} ms (${(flops / stepMs.median / 1e6).toFixed(2)} GFLOP/s), min ${stepMs.min.toFixed(2)} ms, ${runs} runs`);

  if (!only && rt.device.features.has('timestamp-query')) {
    const totals = new Map<string, { ms: number; count: number }>();
    const reps = 5;
    for (let r = 0; r < reps; r++) {
      rt.timer = new E.GpuTimer(rt);
      E.scope(step);
      const times = await rt.timer.read();
      rt.timer.destroy();
      rt.timer = null;
      for (const t of times) {
        const e = totals.get(t.name) ?? { ms: 0, count: 0 };
        e.ms += (t.endNs - t.startNs) / 1e6 / reps;
        e.count += 1 / reps;
        totals.set(t.name, e);
      }
    }
    console.log('| kernel | dispatches | ms per step (mean of 5) |\n|---|---:|---:|');
    for (const [name, e] of [...totals].sort((a, b) => b[1].ms - a[1].ms)) console.log(`| ${name} | ${e.count.toFixed(0)} | ${e.ms.toFixed(3)} |`);
  }

  // The step's products: forward x @ W^T (Linear), backward dX = dY @ W and dW = dY^T @ X.
  const products = [
    { label: 'fwd 64x256x784 (x @ W1^T)', M: 64, N: 256, K: 784, transA: false, transB: true },
    { label: 'fwd 64x256x256 (h @ W2^T)', M: 64, N: 256, K: 256, transA: false, transB: true },
    { label: 'fwd 64x10x256 (h @ W3^T)', M: 64, N: 10, K: 256, transA: false, transB: true },
    { label: 'dX 64x256x256 (dY @ W2)', M: 64, N: 256, K: 256, transA: false, transB: false },
    { label: 'dX 64x256x10 (dY @ W3)', M: 64, N: 256, K: 10, transA: false, transB: false },
    { label: 'dW 256x784x64 (dY^T @ x)', M: 256, N: 784, K: 64, transA: true, transB: false },
    { label: 'dW 256x256x64 (dY^T @ h)', M: 256, N: 256, K: 64, transA: true, transB: false },
    { label: 'dW 10x256x64 (dY^T @ h)', M: 10, N: 256, K: 64, transA: true, transB: false },
  ];
  const reps = 10;
  console.log(`\n| product | kernel | ms per product (median of ${runs} runs of ${reps}) | min ms | GFLOP/s (median) |\n|---|---|---:|---:|---:|`);
  for (const p of products) {
    const a = E.randn([p.M * p.K], { generator: gen }).keep();
    const b = E.randn([p.K * p.N], { generator: gen }).keep();
    const kernels: ('auto' | 'vec4' | 'subgroup' | 'naive' | 'tiled')[] = only ? [] : ['auto', 'naive', 'tiled'];
    if (p.M % 4 === 0 && p.N % 4 === 0 && p.K % 4 === 0) kernels.push(...(rt.info.subgroupMinSize >= 4 ? ['vec4', 'subgroup'] as const : ['vec4'] as const));
    for (const kernel of kernels) {
      let chosen = '';
      rt.trace = [];
      E.scope(() => E.gemm({ a, b, out: E.empty([p.M, p.N]), ...p, kernel }));
      chosen = rt.trace.map((d) => d.kernel.name).join(',');
      rt.trace = null;
      let ms: number;
      let minMs: number;
      try {
        const t = await timeMs(() => { for (let i = 0; i < reps; i++) E.gemm({ a, b, out: E.empty([p.M, p.N]), ...p, kernel }); }, runs);
        ms = t.median / reps;
        minMs = t.min / reps;
      } catch (e) {
        console.log(`| ${p.label} | ${kernel} | n/a: ${(e as Error).message} | |`);
        continue;
      }
      console.log(`| ${p.label} | ${kernel === 'auto' ? `auto (${chosen})` : chosen} | ${ms.toFixed(3)} | ${minMs.toFixed(3)} | ${((2 * p.M * p.N * p.K) / ms / 1e6).toFixed(2)} |`);
    }
    a.dispose();
    b.dispose();
  }
  model.dispose();
  opt.dispose();
  x.dispose();
  y.dispose();
  rt.destroy?.();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
