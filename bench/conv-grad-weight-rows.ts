// conv2d's weight gradient for 3x3 same-width convolutions whose width is not a multiple of 4: the
// scalar-row subgroup kernel (src/shaders/conv2d-grad-weight-rows.ts) against the fallback it replaces
// (convKernels.gradWeightRows = false: the tiled implicit GEMM here, as CO % 8 == 0 but W % 4 != 0).
//  1. Grad-weight alone, on the 14x14 and 7x7 layers of ConvStackCNN width 8 (28x28 input): GPU time of
//     everything conv2dGradWeight dispatches (the kernel and its sum over row slices or split-K slices)
//     from timestamp queries, the two paths alternated `--runs` times in one process so that a shared
//     machine's load hits both alike; min and median, and GFLOP/s of the min (2 * N*OH*OW * CO*C*9).
//  2. A whole training step of ConvStackCNN width 8 (Adam, the data transforms of
//     scratch/prof-convstack.ts), wall-clock ms with the knob on and off, alternated `--steps` times.
// Usage: npx tsc -p tsconfig.scripts.json && node build/bench/conv-grad-weight-rows.js [--runs 5]
//   [--batch 128] [--steps 6] [--no-step]

import * as E from '../src/index.js';
import { conv2dGradWeight, convKernels } from '../src/engine/ops/conv.js';
import { normalize, compose, randomCrop, randomHorizontalFlip } from '../src/data/index.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}
const quantile = (xs: number[], f: number) => [...xs].sort((a, b) => a - b)[Math.floor(f * (xs.length - 1))]!;
const median = (xs: number[]) => quantile(xs, 0.5);

const rt = await E.init({ dawnFlags: ['disable-dawn-features=timestamp_quantization'] });
const runs = arg('runs', 5);
const batch = arg('batch', 128);
const PATHS = ['rows', 'fallback'] as const;
const setPath = (path: (typeof PATHS)[number]) => (convKernels.gradWeightRows = path === 'rows' ? null : false);

// [C, CO, H = W] of ConvStackCNN width 8's convolutions after the first pooling.
const layers = [[8, 16, 14], [16, 16, 14], [16, 32, 7], [32, 32, 7]].map(([C, CO, S]) => ({
  C: C!, CO: CO!, S: S!,
  x: E.randn([batch, C!, S!, S!]).keep(),
  g: E.randn([batch, CO!, S!, S!]).keep(),
}));
const flops = (l: (typeof layers)[number]) => 2 * batch * l.S * l.S * l.CO * l.C * 9;

/** GPU ms of each layer's grad-weight (all its dispatches), and the names of those dispatches. */
async function once(path: (typeof PATHS)[number]): Promise<{ ms: number[]; names: string[][] }> {
  setPath(path);
  const timer = new E.GpuTimer(rt);
  rt.timer = timer;
  const ms: number[] = [];
  const names: string[][] = [];
  for (const l of layers) {
    E.scope(() => void conv2dGradWeight(l.x, [l.CO, l.C, 3, 3], l.g, { padding: 1 }));
    const times = await timer.read(); // this layer's dispatches (read starts the timer over)
    ms.push(times.reduce((s, t) => s + (t.endNs - t.startNs) / 1e6, 0));
    names.push(times.map((t) => t.name));
  }
  rt.timer = null;
  timer.destroy();
  return { ms, names };
}

const ms: Record<string, number[][]> = Object.fromEntries(PATHS.map((p) => [p, layers.map(() => [])]));
const names: Record<string, string[][]> = {};
for (const path of PATHS) names[path] = (await once(path)).names; // compile every kernel before timing
for (let r = 0; r < runs; r++) {
  for (const path of PATHS) (await once(path)).ms.forEach((t, i) => ms[path]![i]!.push(t));
}
convKernels.gradWeightRows = null;
console.log(`conv2d grad-weight (3x3, padding 1), batch ${batch}, ${rt.info.description}; GPU ms over ${runs} runs, min / median (GFLOP/s at the min)`);
console.log(`${'layer'.padEnd(22)}${PATHS.map((p) => p.padStart(26)).join('')}   speed-up`);
layers.forEach((l, i) => {
  const cell = (p: string) => {
    const lo = quantile(ms[p]![i]!, 0);
    return `${lo.toFixed(2)} / ${median(ms[p]![i]!).toFixed(2)} (${(flops(l) / lo / 1e6).toFixed(1)})`.padStart(26);
  };
  const speedup = quantile(ms.fallback![i]!, 0) / quantile(ms.rows![i]!, 0);
  console.log(`${`${l.C}->${l.CO} @${l.S}x${l.S}`.padEnd(22)}${PATHS.map(cell).join('')}   ${speedup.toFixed(2)}x`);
});
const total = (p: string, f: number) => ms[p]!.reduce((s, xs) => s + quantile(xs, f), 0);
console.log(`${'total'.padEnd(22)}${PATHS.map((p) => `${total(p, 0).toFixed(2)} / ${total(p, 0.5).toFixed(2)}`.padStart(26)).join('')}   ${(total('fallback', 0) / total('rows', 0)).toFixed(2)}x`);
for (const p of PATHS) console.log(`  ${p}: ${[...new Set(names[p]!.flat())].join(', ')}`);

if (!process.argv.includes('--no-step')) {
  // A ConvStackCNN width 8 training step, as scratch/prof-convstack.ts runs it.
  const steps = arg('steps', 6);
  const model = new E.ConvStackCNN(10, { inChannels: 1, imageSize: 28, width: 8 });
  model.train();
  const opt = new E.Adam(model.parameters(), { lr: 1e-3 });
  const gen = new E.Generator(0);
  const x = E.rand([batch, 1, 28, 28], { generator: gen }).keep();
  const y = E.tensor(Int32Array.from({ length: batch }, (_, i) => i % 10), [batch], { dtype: 'int32' }).keep();
  const t = compose([randomCrop(28, 4), randomHorizontalFlip(), normalize([0.5], [0.5])]);
  const step = () => E.scope(() => {
    const loss = E.crossEntropy(model.forward(t.apply(x, gen)), y);
    opt.zeroGrad();
    loss.backward();
    opt.step();
  });
  const wall: Record<string, number[]> = { rows: [], fallback: [] };
  for (const path of PATHS) {
    setPath(path);
    for (let i = 0; i < 2; i++) (step(), await E.sync()); // compile and warm up
  }
  for (let i = 0; i < steps; i++) {
    for (const path of PATHS) {
      setPath(path);
      const t0 = performance.now();
      step();
      await E.sync();
      wall[path]!.push(performance.now() - t0);
    }
  }
  convKernels.gradWeightRows = null;
  console.log(`ConvStackCNN width 8, batch ${batch}, Adam: training step wall ms over ${steps} steps, min / median`);
  for (const p of PATHS) console.log(`  ${p.padEnd(10)} ${quantile(wall[p]!, 0).toFixed(1)} / ${median(wall[p]!).toFixed(1)}`);
}
process.exit(0);
