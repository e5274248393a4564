// Optimizer checkpoints in the safetensors format, so training resumes exactly: the state tensors are named
// "state.<param index>.<name>" (PyTorch's names: exp_avg, momentum_buffer, ...), everything else (parameter
// groups, step counts, the schedule, the EMA's counters) is JSON in the header's __metadata__. Save the model
// beside it with saveStateDict.

import { EngramError } from '../engine/runtime.js';
import { Tensor } from '../engine/tensor.js';
import { serializeSafetensors, parseSafetensors, toTensors } from '../nn/safetensors.js';
import type { Optimizer, OptimizerStateDict, ParamState } from './optimizer.js';
import type { LRScheduler } from './lr-scheduler.js';
import type { ExponentialMovingAverage } from './ema.js';

/** What else goes into an optimizer checkpoint beside the optimizer. */
export interface OptimizerCheckpointParts {
  /** A learning-rate schedule to save or restore with the optimizer. */
  scheduler?: LRScheduler;
  /** A moving average of the weights to save or restore with it. */
  ema?: ExponentialMovingAverage;
}

/** Free the tensors of a state from `Optimizer.stateDict()` once it has been loaded or saved. */
export function disposeOptimizerState(sd: OptimizerStateDict): void {
  for (const s of Object.values(sd.state)) for (const v of Object.values(s)) if (v instanceof Tensor) v.dispose();
}

/**
 * An optimizer's state (and optionally its schedule's and a weight average's) as safetensors bytes; reads
 * the state back from the GPU. Restore it with `loadOptimizerState` into an optimizer built over the same
 * parameters in the same groups.
 * @param optimizer The optimizer to save.
 * @param parts A schedule and/or an EMA to save with it.
 * @param metadata Extra string pairs for the header (e.g. the epoch).
 */
export async function saveOptimizerState(optimizer: Optimizer<{ lr: number }>, parts: OptimizerCheckpointParts = {}, metadata: Record<string, string> = {}): Promise<Uint8Array> {
  const sd = optimizer.stateDict();
  const emaSd = parts.ema?.stateDict();
  try {
    const tensors = new Map<string, Tensor>();
    const scalars: Record<string, Record<string, number>> = {};
    for (const [i, s] of Object.entries(sd.state)) {
      for (const [k, v] of Object.entries(s)) {
        if (v instanceof Tensor) tensors.set(`state.${i}.${k}`, v);
        else (scalars[i] ??= {})[k] = v;
      }
    }
    const meta: Record<string, string> = {
      ...metadata,
      'engram.optimizer': JSON.stringify({ kind: optimizer.kind, param_groups: sd.param_groups, scalars }),
    };
    if (parts.scheduler) meta['engram.scheduler'] = JSON.stringify(parts.scheduler.stateDict());
    if (emaSd) {
      emaSd.averages.forEach((t, i) => tensors.set(`ema.${i}`, t));
      meta['engram.ema'] = JSON.stringify({ decay: emaSd.decay, numUpdates: emaSd.numUpdates });
    }
    return await serializeSafetensors(tensors, meta);
  } finally {
    disposeOptimizerState(sd);
    emaSd?.averages.forEach((t) => t.dispose());
  }
}

/**
 * Restore what `saveOptimizerState` wrote into an optimizer (and the schedule and EMA passed in `parts`, each
 * of which must be in the checkpoint). Everything is validated; errors name the checkpoint.
 * @param optimizer An optimizer of the same kind over the same parameters in the same groups.
 * @param bytes The checkpoint.
 * @param parts The schedule and/or EMA to restore too.
 * @param name The checkpoint's name (e.g. its path) for error messages.
 */
export function loadOptimizerState(optimizer: Optimizer<{ lr: number }>, bytes: Uint8Array, parts: OptimizerCheckpointParts = {}, name = 'optimizer checkpoint'): void {
  const parsed = parseSafetensors(bytes, name);
  const json = (key: string): Record<string, unknown> => {
    const raw = parsed.metadata[key];
    if (raw === undefined) throw new EngramError(`${name}: no '${key}' entry in the metadata; was it written by saveOptimizerState${key === 'engram.optimizer' ? '' : ` with that part`}?`);
    try {
      return JSON.parse(raw) as Record<string, unknown>;
    } catch (e) {
      throw new EngramError(`${name}: metadata '${key}' is not valid JSON (${(e as Error).message})`);
    }
  };
  const o = json('engram.optimizer');
  if (o.kind !== optimizer.kind) throw new EngramError(`${name}: the checkpoint holds a ${String(o.kind)} state; it cannot be loaded into ${optimizer.kind}`);
  const sched = parts.scheduler ? json('engram.scheduler') : undefined;
  const emaMeta = parts.ema ? json('engram.ema') : undefined;
  const tensors = toTensors(parsed);
  try {
    const state: Record<number, ParamState> = {};
    for (const [i, s] of Object.entries((o.scalars ?? {}) as Record<string, Record<string, number>>)) state[Number(i)] = { ...s };
    for (const [key, t] of tensors) {
      const m = /^state\.(\d+)\.(\w+)$/.exec(key);
      if (m) (state[Number(m[1])] ??= {})[m[2]!] = t;
      else if (!/^ema\.\d+$/.test(key)) throw new EngramError(`${name}: unexpected tensor '${key}' (an optimizer checkpoint holds state.<index>.<name> and ema.<index>)`);
    }
    try {
      optimizer.loadStateDict({ state, param_groups: o.param_groups as OptimizerStateDict['param_groups'] });
      sched && parts.scheduler!.loadStateDict(sched);
      if (parts.ema && emaMeta) {
        const averages = parts.ema.averages.map((_, i) => tensors.get(`ema.${i}`));
        parts.ema.loadStateDict({ decay: emaMeta.decay as number, numUpdates: emaMeta.numUpdates as number, averages: averages as Tensor[] });
      }
    } catch (e) {
      throw new EngramError(`${name}: ${(e as Error).message}`);
    }
  } finally {
    for (const t of tensors.values()) t.dispose();
  }
}
