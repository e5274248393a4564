// Dispatches per training step of the reference model (issue 19): conv3x3 3->32 + BN + ReLU +
// maxpool2, conv3x3 32->64 + BN + ReLU + maxpool2, flatten, linear 4096->10, SGD. The counts are
// exact: a change that adds or removes a kernel from the step shows up here (update the numbers
// with the reason in the commit). conv2d's kernel family is forced to 'direct' and batch norm's fused
// training kernels on (both the CPU adapters' defaults) so the numbers do not depend on the adapter;
// bench/profile prints them for any adapter.

import { describe, it, expect } from 'vitest';
import * as E from '../../src/index.js';
import { useGPU } from '../helpers/gpu.js';
import { tensorsPerDispatch } from '../../src/optim/multi-tensor.js';
import { batchNormFusion } from '../../src/engine/ops/batchnorm.js';

useGPU();

function referenceModel(): E.Sequential {
  return new E.Sequential(
    new E.Conv2d(3, 32, 3, { padding: 1 }), new E.BatchNorm2d(32), new E.ReLU(), new E.MaxPool2d(2),
    new E.Conv2d(32, 64, 3, { padding: 1 }), new E.BatchNorm2d(64), new E.ReLU(), new E.MaxPool2d(2),
    new E.Flatten(), new E.Linear(4096, 10),
  );
}

/** Kernel names dispatched by `fn`, in order. */
function traced(fn: () => void): string[] {
  const rt = E.runtime();
  const trace: E.TracedDispatch[] = [];
  rt.trace = trace;
  try {
    fn();
  } finally {
    rt.trace = null;
  }
  return trace.map((d) => d.kernel.name);
}

describe('dispatches per training step', () => {
  it('reference model, batch 2: forward + backward + SGD step, counted and named', async () => {
    const rt = E.runtime();
    const family = rt.kernelFamily;
    const fusion = batchNormFusion.mode;
    rt.kernelFamily = 'direct';
    batchNormFusion.mode = 'always';
    try {
      await referenceStep();
    } finally {
      rt.kernelFamily = family;
      batchNormFusion.mode = fusion;
    }
  });
});

async function referenceStep(): Promise<void> {
  const model = referenceModel();
  model.train();
  const opt = new E.SGD(model.parameters(), { lr: 0.01, momentum: 0.9 });
  const gen = new E.Generator(0);
  const x = E.randn([2, 3, 32, 32], { generator: gen }).keep();
  const y = E.randint(0, 10, [2], { generator: gen }).keep();
  let forward: string[] = [];
  let backward: string[] = [];
  let update: string[] = [];
  const step = () => E.scope(() => {
    let loss!: E.Tensor;
    forward = traced(() => { loss = E.crossEntropy(model.forward(x), y); });
    opt.zeroGrad();
    backward = traced(() => loss.backward());
    update = traced(() => opt.step());
  });
  for (let i = 0; i < 3; i++) step();
  await E.sync();
  const c0 = { ...E.runtime().counters };
  step();
  await E.sync();
  const c1 = E.runtime().counters;
  const total = forward.length + backward.length + update.length;
  expect(c1.dispatches - c0.dispatches).toBe(total); // the trace sees every dispatch
  expect(c1.submits - c0.submits).toBe(1);
  expect(c1.readbacks - c0.readbacks).toBe(0);
  opt.foreach = false; // one kernel per parameter tensor
  expect(traced(() => opt.step())).toEqual(Array(10).fill('sgd'));
  // zeroGrad is free: it drops the gradients (set_to_none), backward writes fresh ones.
  expect(traced(() => opt.zeroGrad())).toEqual([]);
  const counts = { forward: forward.length, backward: backward.length, optimizer: update.length };
  expect(forward.filter((k) => k.startsWith('bn_'))).toEqual(['bn_stats_normalize_vec4_relu', 'bn_stats_normalize_vec4_relu']);
  expect(backward.filter((k) => k.startsWith('bn_'))).toEqual(['bn_backward_fused_vec4_relu', 'bn_backward_fused_vec4_relu']);
  // forward: per block conv (weight layout + conv), BN's num_batches_tracked, BN statistics +
  // normalize + ReLU (one fused kernel: was bn_stats then bn_normalize_relu, 16 in all), pool; then
  // linear, cross-entropy (3). backward: loss gradient, cross-entropy, linear (2 matmuls + bias), per
  // block pool, BN (one fused kernel: was bn_backward_reduce_relu then bn_backward_dx_relu, 19 in
  // all), conv (grad input only for the second block, grad weight, bias 2).
  // optimizer: 10 parameters, k per dispatch (SGD binds 3 buffers per tensor; 5 with 16 buffers per stage).
  expect(counts).toEqual({ forward: 14, backward: 17, optimizer: Math.ceil(10 / tensorsPerDispatch(3)) });
  model.dispose(); opt.dispose(); x.dispose(); y.dispose();
}
