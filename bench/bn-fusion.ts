// Training-mode batch norm, fused (statistics + normalize, reduce + dx in one workgroup per channel;
// in its vec4 form, four values per load, and its scalar form) against unfused (a reduction then a
// per-element kernel), on the reference model's two BN layers
// (affine, running stats, fused ReLU): GPU time per kernel from timestamp queries, the two paths
// alternated `--runs` times in one process so that a shared machine's load hits both alike.
// Usage: npx tsc -p tsconfig.scripts.json && node build/bench/bn-fusion.js [--runs 7] [--batch 64]

import * as E from '../src/index.js';
import { batchNorm, batchNormFusion } from '../src/engine/ops/batchnorm.js';

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
const inputs = shapes.map((s) => {
  const C = s[1]!;
  return {
    x: E.randn(s).keep().requiresGrad_(), g: E.randn(s).keep(),
    w: E.ones([C]).keep().requiresGrad_(), b: E.zeros([C]).keep().requiresGrad_(), rm: E.zeros([C]).keep(), rv: E.ones([C]).keep(),
  };
});

/** GPU ms of one forward + backward of both layers, per kernel name. */
type Path = 'fused-vec4' | 'fused-scalar' | 'unfused';
const PATHS: Path[] = ['fused-vec4', 'fused-scalar', 'unfused'];
async function once(path: Path): Promise<Map<string, number>> {
  batchNormFusion.mode = path === 'unfused' ? 'never' : 'always';
  batchNormFusion.vec4 = path === 'fused-vec4';
  rt.timer = new E.GpuTimer(rt);
  E.scope(() => {
    for (const t of inputs) {
      const y = batchNorm(t.x, t.rm, t.rv, t.w, t.b, { training: true, relu: true });
      y.backward(t.g);
    }
  });
  const times = await rt.timer.read();
  rt.timer.destroy();
  rt.timer = null;
  const out = new Map<string, number>();
  for (const t of times) out.set(t.name, (out.get(t.name) ?? 0) + (t.endNs - t.startNs) / 1e6);
  for (const t of inputs) for (const p of [t.x, t.w, t.b]) (p.grad?.dispose(), (p.grad = null));
  return out;
}

const totals: Record<string, number[]> = { 'fused-vec4': [], 'fused-scalar': [], unfused: [] };
const kernels = new Map<string, number[]>();
for (const path of PATHS) await once(path);
for (let r = 0; r < runs; r++) {
  for (const path of PATHS) {
    const m = await once(path);
    let sum = 0;
    for (const [name, ms] of m) {
      if (!name.startsWith('bn_')) continue; // autograd's gradient accumulation etc. are the same in both
      sum += ms;
      kernels.set(name, [...(kernels.get(name) ?? []), ms]);
    }
    totals[path]!.push(sum);
  }
}
// Minimum and median: on a shared machine the minimum is the run least disturbed by other processes.
console.log(`batch norm fwd+bwd, shapes ${shapes.map((s) => `[${s}]`).join(' and ')}, ${rt.info.description}; GPU ms over ${runs} runs, min / median`);
for (const [name, ms] of kernels) console.log(`  ${name}: ${quantile(ms, 0).toFixed(2)} / ${median(ms).toFixed(2)}`);
for (const path of PATHS) console.log(`  ${path} total: ${quantile(totals[path]!, 0).toFixed(2)} / ${median(totals[path]!).toFixed(2)}`);
