// engram benchmarks: matmul at 256/512/1024, split-K against naive on few-output products, an MLP training step and a fused elementwise chain, on
// the current adapter.
// Usage: npm run bench [-- --quick]   (--quick: fewer runs, for a smoke test)
// Prints a Markdown table (median of N runs after warm-up, synchronized on GPU completion).

import * as E from '../src/index.js';
import { timeIt, timingTable, type Timing } from './harness.js';
import { timeJsMatmul } from './js-matmul.js';

const quick = process.argv.includes('--quick');

async function main(): Promise<void> {
  const rt = await E.init();
  console.log(`adapter: ${rt.info.vendor} / ${rt.info.architecture} / ${rt.info.description}`);
  console.log(`date: ${new Date().toISOString().slice(0, 10)}\n`);
  const results: Timing[] = [];
  const gen = new E.Generator(0);

  for (const n of quick ? [256] : [256, 512, 1024]) {
    const a = E.randn([n, n], { generator: gen }).keep();
    const b = E.randn([n, n], { generator: gen }).keep();
    const t = await timeIt(`matmul ${n}x${n}x${n}`, () => void E.matmul(a, b), { flops: 2 * n ** 3, runs: quick ? 3 : 10, maxSeconds: 30 });
    t.peer = { name: 'plain JS', ms: timeJsMatmul(n, n >= 1024 ? 1 : 3) };
    results.push(t);
    a.dispose();
    b.dispose();
  }

  // Few outputs, long K: a classifier head's forward (x [64, 4096] @ W^T, W [10, 4096]) and a weight
  // gradient over a large batch (g^T [10, 4096] @ x [4096, 32]). The split-K kernel against the
  // naive one (one thread per output), each forced; 20 dispatches per run so the sync is amortized.
  for (const [label, M, N, K, transA, transB] of [
    ['linear 4096->10, batch 64: x @ W^T', 64, 10, 4096, false, true],
    ['weight grad 10x32 over batch 4096: g^T @ x', 10, 32, 4096, true, false],
  ] as const) {
    const a = E.randn([M * K], { generator: gen }).keep();
    const b = E.randn([K * N], { generator: gen }).keep();
    const reps = 20;
    const gemmRuns = (kernel: 'dot' | 'naive') => () => {
      for (let i = 0; i < reps; i++) E.gemm({ a, b, out: E.empty([M, N]), M, N, K, transA, transB, kernel });
    };
    const runs = quick ? 3 : 10;
    const naive = await timeIt('naive', gemmRuns('naive'), { runs });
    const dot = await timeIt(`${label} (${M}x${N}x${K}) x${reps}: split-K kernel`, gemmRuns('dot'), { runs, flops: reps * 2 * M * N * K });
    dot.peer = { name: 'naive kernel', ms: naive.medianMs };
    results.push(dot);
    a.dispose();
    b.dispose();
  }

  // One SGD step of the README's MLP (784 -> 128 -> 10) on a batch of 128.
  for (const [hidden, batch] of quick ? [[128, 128]] : [[128, 128], [512, 256]]) {
    const model = new E.Sequential(new E.Linear(784, hidden!), new E.ReLU(), new E.Linear(hidden!, 10));
    const opt = new E.SGD(model.parameters(), { lr: 0.01, momentum: 0.9 });
    const x = E.randn([batch!, 784], { generator: gen }).keep();
    const y = E.randint(0, 10, [batch!], { generator: gen }).keep();
    const flops = 3 * 2 * batch! * (784 * hidden! + hidden! * 10); // forward + 2x for backward
    results.push(await timeIt(`MLP 784-${hidden}-10 train step, batch ${batch}`, () => {
      const loss = E.crossEntropy(model.forward(x), y);
      opt.zeroGrad();
      loss.backward();
      opt.step();
    }, { flops, runs: quick ? 3 : 20 }));
    model.dispose();
    opt.dispose();
    x.dispose();
    y.dispose();
  }

  // A 6-op elementwise chain on 1M elements: one kernel per op (peer column) against fuse().
  {
    const n = quick ? 1 << 16 : 1 << 20;
    const chain = (x: E.Tensor, b: E.Tensor) => x.mul(b).add(1).tanh().mul(0.5).sub(b).relu();
    const fused = E.fuse(chain);
    const x = E.randn([n], { generator: gen }).requiresGrad_().keep();
    const b = E.randn([n], { generator: gen }).requiresGrad_().keep();
    const g = E.ones([n]).keep();
    const runs = quick ? 3 : 10;
    const backward = (f: (x: E.Tensor, b: E.Tensor) => E.Tensor) => () => {
      f(x, b).backward(g);
      x.grad!.dispose(); x.grad = null;
      b.grad!.dispose(); b.grad = null;
    };
    const eagerFwd = await timeIt('eager', () => void E.noGrad(() => chain(x, b)), { runs });
    const fwd = await timeIt(`6-op elementwise chain forward, ${n} elements: fuse`, () => void E.noGrad(() => fused(x, b)), { runs });
    const eagerBwd = await timeIt('eager', backward(chain), { runs });
    const bwd = await timeIt(`6-op elementwise chain forward+backward, ${n} elements: fuse`, backward(fused), { runs });
    fwd.peer = { name: 'eager, one kernel per op', ms: eagerFwd.medianMs };
    bwd.peer = { name: 'eager, one kernel per op', ms: eagerBwd.medianMs };
    results.push(fwd, bwd);
    x.dispose(); b.dispose(); g.dispose();
  }

  console.log(timingTable(results));
  const c = rt.counters;
  console.log(`\ncounters: ${c.dispatches} dispatches, ${c.submits} submits, ${c.pipelinesCreated} pipelines, ${c.bindGroupsCreated} bind groups, ${c.readbacks} readbacks`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
