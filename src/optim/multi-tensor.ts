// Multi-tensor optimizer steps (PyTorch's foreach): the parameters of a group are updated k per
// dispatch by the kernels of shaders/optim-multi.ts, k as large as the device's storage-buffer
// limit allows. A batch of one falls back to the optimizer's per-tensor kernel.

import { runtime, grid1d, WG } from '../engine/runtime.js';
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

/**
 * Dispatch `jobs` k at a time with the multi-tensor kernel `wgsl(k)` named `name`, the shared
 * `header` words first in each parameter block. A batch never binds one buffer twice (WebGPU forbids
 * a writable binding aliasing another): a repeated buffer starts a new batch. A batch of one runs
 * `single(job)`, the per-tensor kernel.
 */
export function dispatchMultiTensor(
  name: string, wgsl: (k: number) => string, header: number[], jobs: TensorJob[], single: (job: TensorJob) => void,
): void {
  const perTensor = jobs[0]?.buffers.length ?? 0;
  const k = tensorsPerDispatch(perTensor);
  const rt = runtime();
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
      single(batch[0]!);
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
    rt.dispatch(kernel, batch.flatMap((j) => j.buffers), params, grid1d(start));
  }
}
