// conv2d's bias gradient: the vec4 kernel (four values a load, a cursor with no division per element)
// against the scalar one (a division and a modulo per element), on the gradients of the reference
// model's two conv layers ([batch, 32, 32, 32], [batch, 64, 16, 16]) and CifarCNN's three
// ([32, 64, 32, 32], [32, 128, 16, 16], [32, 256, 8, 8]): GPU time of the grad-bias kernel alone from
// timestamp queries, the kernels alternated `--runs` times in one process so that a shared machine's
// load hits both alike. The gradient comes from a 1x1 conv whose x and w need no gradient, so the
// backward runs only the bias kernel.
// Usage: npx tsc -p tsconfig.scripts.json && node build/bench/conv-bias.js [--runs 10] [--batch 64]
//   [--sizes 8,256]  (vec4 kernel workgroup sizes to compare; default: the adapter's default only)

import * as E from '../src/index.js';
import { conv2d, convBiasKernels } from '../src/engine/ops/conv.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}
function argText(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : fallback;
}
const quantile = (xs: number[], f: number) => [...xs].sort((a, b) => a - b)[Math.floor(f * (xs.length - 1))]!;
const median = (xs: number[]) => quantile(xs, 0.5);

const rt = await E.init();
const runs = arg('runs', 10);
const batch = arg('batch', 64);
const shapes = [[batch, 32, 32, 32], [batch, 64, 16, 16], [32, 64, 32, 32], [32, 128, 16, 16], [32, 256, 8, 8]];
const layers = shapes.map(([N, CO, H, W]) => ({
  shape: [N!, CO!, H!, W!],
  x: E.randn([N!, 1, H!, W!]).keep(),
  w: E.randn([CO!, 1, 1, 1]).keep(),
  b: E.zeros([CO!]).keep().requiresGrad_(),
  g: E.randn([N!, CO!, H!, W!]).keep(),
}));

const sizes = argText('sizes', 'default').split(',');
const PATHS = ['scalar', ...sizes.map((s) => `vec4 ${s}`)];

/** GPU ms of the grad-bias kernel, per layer shape. */
async function once(path: string): Promise<number[]> {
  convBiasKernels.vec4 = path !== 'scalar';
  const size = path.slice(5);
  convBiasKernels.workgroupSize = path === 'scalar' || size === 'default' ? null : Number(size);
  rt.timer = new E.GpuTimer(rt);
  E.scope(() => {
    for (const l of layers) conv2d(l.x, l.w, l.b).backward(l.g);
  });
  const times = (await rt.timer.read()).filter((t) => t.name.startsWith('conv2d_grad_bias'));
  rt.timer.destroy();
  rt.timer = null;
  for (const l of layers) (l.b.grad?.dispose(), (l.b.grad = null));
  if (times.length !== layers.length) throw new Error(`expected ${layers.length} grad-bias dispatches, timed ${times.map((t) => t.name)}`);
  return times.map((t) => (t.endNs - t.startNs) / 1e6);
}

const ms: Record<string, number[][]> = Object.fromEntries(PATHS.map((p) => [p, layers.map(() => [])]));
for (const path of PATHS) await once(path); // compile every kernel before timing
for (let r = 0; r < runs; r++) {
  for (const path of PATHS) (await once(path)).forEach((t, i) => ms[path]![i]!.push(t));
}
convBiasKernels.vec4 = true;
convBiasKernels.workgroupSize = null;
// Minimum and median: on a shared machine the minimum is the run least disturbed by other processes.
console.log(`conv2d grad-bias, ${rt.info.description}; GPU ms over ${runs} runs, min / median`);
console.log(`${'g shape'.padEnd(18)}${PATHS.map((p) => p.padStart(16)).join('')}`);
layers.forEach((l, i) => {
  console.log(`${`[${l.shape}]`.padEnd(18)}${PATHS.map((p) => `${quantile(ms[p]![i]!, 0).toFixed(2)} / ${median(ms[p]![i]!).toFixed(2)}`.padStart(16)).join('')}`);
});
const total = (p: string, f: number) => ms[p]!.reduce((s, xs) => s + quantile(xs, f), 0);
console.log(`${'total'.padEnd(18)}${PATHS.map((p) => `${total(p, 0).toFixed(2)} / ${total(p, 0.5).toFixed(2)}`.padStart(16)).join('')}`);
