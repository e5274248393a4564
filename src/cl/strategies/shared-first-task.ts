// A first task trained once and shared between strategies. When two strategies train task 0 the same
// way (same model and seed, optimizer, schedule, data order and transform, and nothing strategy-specific
// in task 0's loss: naive fine-tuning and a replay whose memory is still empty), training it twice only
// repeats the same numbers. `strategy.shareFirstTask()` after task 0 copies what the other strategy
// needs to resume from there: the model's state (parameters and buffers), engram's global random state
// right after the training loop (dropout's stream, the default generator), and the task's mean loss.
// A strategy built with `sharedFirstTask` loads them instead of running task 0's training loop; the rest
// of task 0 (head sizing, its own memory update, plugins' task hooks) runs as usual.

import { EngramError } from '../../engine/runtime.js';
import type { Tensor } from '../../engine/tensor.js';
import type { RngState } from '../../engine/rng-state.js';
import type { Module } from '../../nn/module.js';

/** Task 0 as trained by one strategy, for another to start from (`StrategyOptions.sharedFirstTask`). */
export interface SharedFirstTask {
  /** Copies of the model's parameters and buffers after task 0, by state_dict key (owned here). */
  readonly state: ReadonlyMap<string, Tensor>;
  /** engram's global random state right after task 0's training loop. */
  readonly rng: RngState;
  /** Task 0's mean training loss. */
  readonly loss: number;
  /** Optimizer steps task 0 took (reported; the strategy that loads the state takes none). */
  readonly steps: number;
  /** Name of the strategy that trained it. */
  readonly from: string;
  /** Free the copied tensors. */
  dispose(): void;
}

/** Copy `model`'s state into a SharedFirstTask (the copies are kept outside any scope until disposed). */
export function snapshotFirstTask(model: Module, rng: RngState, loss: number, steps: number, from: string): SharedFirstTask {
  const state = new Map<string, Tensor>();
  for (const [k, t] of model.stateDict()) state.set(k, t.clone().keep());
  let disposed = false;
  return {
    state, rng, loss, steps, from,
    dispose() {
      if (disposed) return;
      disposed = true;
      for (const t of state.values()) t.dispose();
    },
  };
}

/** Check a SharedFirstTask before loading it (a disposed snapshot would otherwise fail deep inside loadStateDict). */
export function checkSharedFirstTask(shared: SharedFirstTask, strategy: string): void {
  if (!shared || typeof shared !== 'object' || !(shared.state instanceof Map) || !shared.rng) {
    throw new EngramError(`${strategy}: sharedFirstTask must come from another strategy's shareFirstTask() after its task 0`);
  }
  for (const [k, t] of shared.state) {
    if (t.disposed) throw new EngramError(`${strategy}: sharedFirstTask (trained by '${shared.from}') was disposed (tensor '${k}'); keep it until every strategy that starts from it has learned task 0`);
  }
}
