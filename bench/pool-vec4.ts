// maxPool2d 2x2 stride 2: the vec4 kernels (one thread per pair of outputs, vec4 loads and stores)
// against the generic ones (one thread per output, scalar loads; the tiled backward), on the
// reference model's two pooling layers ([batch, 32, 32, 32] and [batch, 64, 16, 16]), forward +
// backward: GPU time per kernel from timestamp queries, the two paths alternated `--runs` times in
// one process so that a shared machine's load hits both alike.
// Usage: npx tsc -p tsconfig.scripts.json && node build/bench/pool-vec4.js [--runs 7] [--batch 64]

import * as E from '../src/index.js';
import { maxPool2d, poolKernels } from '../src/engine/ops/pool.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}
const quantile = (xs: number[], f: number) => [...xs].sort((a, b) => a - b)[Math.floor(f * (xs.length - 1))]!;
const median = (xs: number[]) => quantile(xs, 0.5);

const rt = await E.init();
const runs = arg('runs', 7);
const batch = arg('batch', 64);
const shapes = [[batch, 32, 32, 32], [batch, 64, 16, 16]];
const inputs = shapes.map((s) => ({
  x: E.randn(s).keep().requiresGrad_(),
  g: E.randn([s[0]!, s[1]!, s[2]! / 2, s[3]! / 2]).keep(),
}));

type Path = 'vec4' | 'generic';
const PATHS: Path[] = ['vec4', 'generic'];

/** GPU ms of one forward + backward of both layers, per kernel name and shape. */
async function once(path: Path): Promise<Map<string, number>> {
  poolKernels.vec4 = path === 'vec4';
  rt.timer = new E.GpuTimer(rt);
  E.scope(() => {
    for (const t of inputs) maxPool2d(t.x, { kernelSize: 2 }).backward(t.g);
  });
  const times = await rt.timer.read();
  rt.timer.destroy();
  rt.timer = null;
  const out = new Map<string, number>();
  let layer = 0;
  for (const t of times) {
    if (!t.name.startsWith('maxPool2d')) continue; // the gradient's accumulation is the same in both
    // Forward then backward per layer, layers in order: name each by its layer's input shape.
    const key = `${t.name} [${shapes[layer]}]`;
    out.set(key, (out.get(key) ?? 0) + (t.endNs - t.startNs) / 1e6);
    if (t.name.includes('bwd')) layer++;
  }
  for (const t of inputs) (t.x.grad?.dispose(), (t.x.grad = null));
  return out;
}

const totals: Record<Path, number[]> = { vec4: [], generic: [] };
const kernels = new Map<string, number[]>();
for (const path of PATHS) await once(path); // compile both paths before timing
for (let r = 0; r < runs; r++) {
  for (const path of PATHS) {
    const m = await once(path);
    let sum = 0;
    for (const [name, ms] of m) {
      sum += ms;
      kernels.set(name, [...(kernels.get(name) ?? []), ms]);
    }
    totals[path].push(sum);
  }
}
poolKernels.vec4 = true;
// Minimum and median: on a shared machine the minimum is the run least disturbed by other processes.
console.log(`maxPool2d 2x2 s2 fwd+bwd, shapes ${shapes.map((s) => `[${s}]`).join(' and ')}, ${rt.info.description}; GPU ms over ${runs} runs, min / median`);
for (const [name, ms] of [...kernels].sort(([a], [b]) => a.localeCompare(b))) console.log(`  ${name}: ${quantile(ms, 0).toFixed(2)} / ${median(ms).toFixed(2)}`);
for (const path of PATHS) console.log(`  ${path} total: ${quantile(totals[path], 0).toFixed(2)} / ${median(totals[path]).toFixed(2)}`);
