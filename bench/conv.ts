// conv2d benchmarks: the MnistCNN layers at batch 128 (forward, grad-input and grad-weight timed
// separately) and the CIFAR CNN's layer shapes at batch 32 (forward + backward through autograd).
// Usage: npx tsc -p tsconfig.scripts.json && node build/bench/conv.js [--quick] [--only SUBSTRING] [--json FILE]
// Prints a Markdown table: median of N runs after warm-up, each run synchronized on GPU completion.
// GFLOP/s counts 2*N*OH*OW*Cout*Cin*KH*KW per pass (the forward's multiply-adds; each gradient
// does the same number), so passes of one layer compare directly. The CPU column is this process's
// CPU time per run (median): on a software adapter (lavapipe) the GPU is this process's threads, and
// CPU time moves much less than wall time when other work shares the machine.

import { writeFileSync } from 'node:fs';
import * as E from '../src/index.js';
import { conv2d, conv2dGradInput, conv2dGradWeight, type Conv2dOptions } from '../src/engine/ops/conv.js';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const flag = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const only = flag('--only');
const jsonOut = flag('--json');

interface Layer {
  name: string;
  x: [number, number, number, number];
  w: [number, number, number, number];
  o: Conv2dOptions;
  /** Multiply-adds times 2 of one pass. */
  flops: number;
}

function layer(name: string, x: Layer['x'], w: Layer['w'], o: Conv2dOptions): Layer {
  const pad = typeof o.padding === 'number' ? o.padding : 0;
  const [N, C, H, W] = x;
  const [CO, , KH, KW] = w;
  const OH = H + 2 * pad - KH + 1;
  const OW = W + 2 * pad - KW + 1;
  return { name, x, w, o, flops: 2 * N * OH * OW * CO * C * KH * KW };
}

interface Result {
  name: string;
  /** Median wall-clock ms per run. */
  ms: number;
  minMs: number;
  /** Median CPU ms of this process per run. */
  cpuMs: number;
  runs: number;
  flops: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function table(rs: Result[]): string {
  const rows = [
    ['case', 'median ms', 'min ms', 'GFLOP/s', 'CPU ms', 'runs'],
    ...rs.map((r) => [r.name, r.ms.toFixed(1), r.minMs.toFixed(1), (r.flops / (r.ms * 1e6)).toFixed(2), r.cpuMs.toFixed(1), String(r.runs)]),
  ];
  const w = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => `| ${r.map((c, i) => (i === 0 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join(' | ')} |`;
  return [line(rows[0]!), `|${w.map((n, i) => (i === 0 ? '-'.repeat(n + 2) : '-'.repeat(n + 1) + ':')).join('|')}|`, ...rows.slice(1).map(line)].join('\n');
}

/** Runs: fewer for the big shapes so the whole script stays within a few minutes on lavapipe. */
function runsFor(flops: number): number {
  if (quick) return 2;
  return flops > 1e9 ? 3 : flops > 2e8 ? 5 : 7;
}

async function main(): Promise<void> {
  const rt = await E.init();
  console.log(`adapter: ${rt.info.vendor} / ${rt.info.architecture} / ${rt.info.description}`);
  console.log(`date: ${new Date().toISOString().slice(0, 10)}\n`);
  const gen = new E.Generator(0);
  const results: Result[] = [];
  const want = (name: string) => !only || name.includes(only);

  const time = async (name: string, flops: number, fn: () => void) => {
    if (!want(name)) return;
    const runs = runsFor(flops);
    E.scope(fn); // warm-up (compiles the kernels)
    await E.sync();
    const wall: number[] = [];
    const cpu: number[] = [];
    const start = performance.now();
    for (let i = 0; i < runs; i++) {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      E.scope(fn);
      await E.sync();
      wall.push(performance.now() - t0);
      const c = process.cpuUsage(c0);
      cpu.push((c.user + c.system) / 1000);
      if (performance.now() - start > 20_000 && wall.length >= 3) break;
    }
    const r = { name, ms: median(wall), minMs: Math.min(...wall), cpuMs: median(cpu), runs: wall.length, flops };
    console.log(`  ${name}: ${r.ms.toFixed(1)} ms (${(flops / (r.ms * 1e6)).toFixed(2)} GFLOP/s), CPU ${r.cpuMs.toFixed(1)} ms, ${r.runs} runs`);
    results.push(r);
  };

  // MnistCNN (5x5, no padding) at batch 128: each pass alone.
  for (const l of [layer('mnist conv1 1->16 28x28', [128, 1, 28, 28], [16, 1, 5, 5], {}), layer('mnist conv2 16->32 12x12', [128, 16, 12, 12], [32, 16, 5, 5], {})]) {
    const x = E.randn(l.x, { generator: gen }).keep();
    const w = E.randn(l.w, { generator: gen }).keep();
    const b = E.randn([l.w[0]], { generator: gen }).keep();
    const y = E.noGrad(() => conv2d(x, w, b, l.o)).keep();
    const gy = E.randn(y.shape, { generator: gen }).keep();
    await time(`${l.name} forward`, l.flops, () => void conv2d(x, w, b, l.o));
    await time(`${l.name} grad-input`, l.flops, () => void conv2dGradInput(l.x, w, gy, l.o));
    await time(`${l.name} grad-weight`, l.flops, () => void conv2dGradWeight(x, l.w, gy, l.o));
    for (const t of [x, w, b, y, gy]) t.dispose();
  }

  // CIFAR CNN layer shapes (3x3, padding 1) at batch 32: forward + backward through autograd. The
  // first layer sees data, so it needs no grad-input (as in training).
  const cifar = [
    layer('cifar 3->64 32x32', [32, 3, 32, 32], [64, 3, 3, 3], { padding: 1 }),
    layer('cifar 64->64 32x32', [32, 64, 32, 32], [64, 64, 3, 3], { padding: 1 }),
    layer('cifar 64->128 16x16', [32, 64, 16, 16], [128, 64, 3, 3], { padding: 1 }),
    layer('cifar 128->256 8x8', [32, 128, 8, 8], [256, 128, 3, 3], { padding: 1 }),
    layer('cifar 256->256 8x8', [32, 256, 8, 8], [256, 256, 3, 3], { padding: 1 }),
  ];
  for (const [i, l] of cifar.entries()) {
    const name = `${l.name} fwd+bwd`;
    if (!want(name)) continue;
    const x = E.randn(l.x, { generator: gen, requiresGrad: i > 0 }).keep();
    const w = E.randn(l.w, { generator: gen, requiresGrad: true }).keep();
    const b = E.randn([l.w[0]], { generator: gen, requiresGrad: true }).keep();
    const gy = E.noGrad(() => E.randn(conv2d(x, w, b, l.o).shape, { generator: gen })).keep();
    await time(name, l.flops * (i > 0 ? 3 : 2), () => {
      E.zeroGrad([x, w, b]);
      conv2d(x, w, b, l.o).backward(gy);
    });
    E.zeroGrad([x, w, b]);
    for (const t of [x, w, b, gy]) t.dispose();
  }

  console.log('\n' + table(results));
  if (jsonOut) writeFileSync(jsonOut, JSON.stringify(results, null, 1));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
