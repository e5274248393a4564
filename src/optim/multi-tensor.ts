// Multi-tensor optimizer steps (PyTorch's foreach): the parameters of a group are updated k per
// dispatch by the kernels of shaders/optim-multi.ts, k as large as the device's storage-buffer
// limit allows. A batch of one falls back to the optimizer's per-tensor kernel. Steps are planned
// (a list of dispatches with their words) so that a captured step (engine/capture.ts) can plan again
// at each replay and rewrite only the words: learning rate, momentum, bias corrections.

import { runtime, grid1d, WG, type Kernel } from '../engine/runtime.js';
import { perCallEffect, perCallWords, replayCounter } from '../engine/capture.js';
import { MULTI_HEADER_WORDS, MULTI_TENSOR_MAX } from '../shaders/optim-multi.js';

/** One tensor's update: its buffers in binding order, its element count and its two per-tensor words. */
export interface TensorJob {
  /** Buffers bound for this tensor (gradient first, then the buffers the kernel writes). */
  buffers: GPUBuffer[];
  /** Elements to update. */
  n: number;
  /** The kernel's two per-tensor words after n and start. */
  words: [number, number];
}

/** Tensors per multi-tensor dispatch on this device for kernels binding `perTensor` buffers per tensor. */
export function tensorsPerDispatch(perTensor: number): number {
  const limit = runtime().device.limits.maxStorageBuffersPerShaderStage;
  return Math.min(MULTI_TENSOR_MAX, Math.floor((limit - 1) / perTensor));
}

/** One dispatch of an optimizer step, planned (see `planMultiTensor`). */
export interface PlannedDispatch {
  /** The kernel. */
  kernel: Kernel;
  /** Its buffers in binding order. */
  buffers: GPUBuffer[];
  /** Its parameter words. */
  params: number[];
  /** Its workgroup grid. */
  grid: [number, number];
}

/**
 * Plan `jobs` k at a time (k from `tensorsPerDispatch`, or 1 when `foreach` is false) with the multi-tensor
 * kernel `wgsl(k)` named `name`, the shared `header` words first in each parameter block. A batch never
 * binds one buffer twice (WebGPU forbids a writable binding aliasing another): a repeated buffer starts a
 * new batch. A batch of one is `single(job)`, the per-tensor kernel. Pure: nothing is recorded.
 */
export function planMultiTensor(
  name: string, wgsl: (k: number) => string, header: number[], jobs: TensorJob[], single: (job: TensorJob) => PlannedDispatch, foreach: boolean,
): PlannedDispatch[] {
  const perTensor = jobs[0]?.buffers.length ?? 0;
  const k = foreach ? tensorsPerDispatch(perTensor) : 1;
  const rt = runtime();
  const out: PlannedDispatch[] = [];
  let i = 0;
  while (i < jobs.length) {
    const batch: TensorJob[] = [];
    const seen = new Set<GPUBuffer>();
    while (i < jobs.length && batch.length < k && jobs[i]!.buffers.every((b) => !seen.has(b))) {
      for (const b of jobs[i]!.buffers) seen.add(b);
      batch.push(jobs[i++]!);
    }
    if (batch.length === 0) batch.push(jobs[i++]!); // k < 1: the device binds too few buffers
    if (batch.length === 1) {
      out.push(single(batch[0]!));
      continue;
    }
    const params = header.slice(0, MULTI_HEADER_WORDS);
    while (params.length < MULTI_HEADER_WORDS) params.push(0);
    let start = 0;
    for (const job of batch) {
      params.push(job.n, start, job.words[0], job.words[1]);
      start += Math.ceil(job.n / WG) * WG;
    }
    const bindings = batch[0]!.buffers.map((_, a) => (a === 0 ? 'read' : 'write') as 'read' | 'write');
    const kernel = rt.kernel({ name, wgsl: wgsl(batch.length), bindings: batch.flatMap(() => bindings) });
    out.push({ kernel, buffers: batch.flatMap((j) => j.buffers), params, grid: grid1d(start) });
  }
  return out;
}

/**
 * Record the dispatches `plan()` gives, then run `effects()` (the JS state the step advances: step
 * counts). While a step is traced for `compile`, the plan is registered as the source of the dispatches'
 * parameter words at each replay (made again from the optimizer's current hyperparameters and state),
 * and the effects as what each replay advances.
 */
export function recordPlanned(plan: () => PlannedDispatch[], effects: () => void): void {
  const rt = runtime();
  const planned = plan();
  if (rt.capture) {
    const replays = replayCounter();
    let fresh = planned;
    let at = -1;
    planned.forEach((d, i) => {
      perCallWords(() => {
        if (at !== replays()) (fresh = plan(), at = replays());
        return fresh[i]!.params;
      });
      rt.dispatch(d.kernel, d.buffers, d.params, d.grid);
    });
  } else {
    for (const d of planned) rt.dispatch(d.kernel, d.buffers, d.params, d.grid);
  }
  effects();
  perCallEffect(effects);
}
