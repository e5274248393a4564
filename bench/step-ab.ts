// A/B of this round's software-adapter kernels on a whole training step: the reference model
// (issue 19) at batch 64, SGD, with the vec4 batch-norm, max-pool and conv bias-gradient kernels and
// the classifier head's row-dot / nvec4 matmul kernels all on, then all off, the two
// settings alternated step by step in one process so that a shared machine's load hits both alike.
// Prints the median and minimum wall time per step (each step waits for the device).
// Usage: npx tsc -p tsconfig.scripts.json && node build/bench/step-ab.js [--steps 15] [--model ref|cifar-cnn] [--batch 64]

import * as E from '../src/index.js';
import { batchNormFusion } from '../src/engine/ops/batchnorm.js';
import { poolKernels } from '../src/engine/ops/pool.js';
import { convBiasKernels } from '../src/engine/ops/conv.js';
import { matmulKernels } from '../src/engine/ops/matmul.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : fallback;
}
const steps = Number(arg('steps', '15'));
const modelName = arg('model', 'ref');
const batch = Number(arg('batch', modelName === 'ref' ? '64' : '32'));
await E.init();
const gen = new E.Generator(0);
const model = modelName === 'ref'
  ? new E.Sequential(
    new E.Conv2d(3, 32, 3, { padding: 1 }), new E.BatchNorm2d(32), new E.ReLU(), new E.MaxPool2d(2),
    new E.Conv2d(32, 64, 3, { padding: 1 }), new E.BatchNorm2d(64), new E.ReLU(), new E.MaxPool2d(2),
    new E.Flatten(), new E.Linear(4096, 10))
  : new E.CifarCNN(10);
model.train();
const opt = new E.SGD(model.parameters(), { lr: 0.01 });
const x = E.randn([batch, 3, 32, 32], { generator: gen }).keep();
const y = E.randint(0, 10, [batch], { generator: gen }).keep();
const step = async (vec4: boolean): Promise<number> => {
  batchNormFusion.vec4 = vec4;
  poolKernels.vec4 = vec4;
  convBiasKernels.vec4 = vec4;
  matmulKernels.rowdot = vec4 ? null : false;
  const t0 = performance.now();
  E.scope(() => {
    const loss = E.crossEntropy(model.forward(x), y);
    opt.zeroGrad();
    loss.backward();
    opt.step();
  });
  await E.sync();
  return performance.now() - t0;
};
for (const v of [true, false]) await step(v); // compile both sets of kernels
const times: Record<'on' | 'off', number[]> = { on: [], off: [] };
for (let i = 0; i < steps; i++) {
  times.on.push(await step(true));
  times.off.push(await step(false));
}
const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;
for (const k of ['on', 'off'] as const) console.log(`${modelName} b${batch}, this round's kernels ${k}: median ${med(times[k]).toFixed(1)} ms, min ${Math.min(...times[k]).toFixed(1)} ms (${steps} steps)`);
console.log(`off / on: ${(med(times.off) / med(times.on)).toFixed(2)} (medians), ${(Math.min(...times.off) / Math.min(...times.on)).toFixed(2)} (minimums)`);
process.exit(0);
