// What a strategy costs, beside what it scores: time per training step, GPU memory beyond the model it
// was given, exemplar memory, and GPU -> CPU readbacks per step (each one stalls the pipeline until the
// GPU has caught up, so a fast training step has none).
//
// Where the numbers come from:
//  - steps and the readbacks inside the training loops: the strategy's `TrainingMeter` (its loops call
//    begin() before the first batch and end(steps) after the last, so per-task work such as reading the
//    task's mean loss, herding or head updates is outside);
//  - all readbacks: `runtime().counters.readbacks` around each `learnTask`;
//  - GPU memory: the buffer pool's live bytes (`memory().bytes`, tensors' buffers) when `runScenario`
//    starts, and their high-water mark during each `learnTask` (`resetPeakMemory()` before it);
//  - time: the wall time of `learnTask`, which ends with a readback (the task's loss), so the GPU work
//    of its steps is inside it.

import { runtime } from '../engine/runtime.js';
import { memory, resetPeakMemory } from '../engine/tensor.js';

/** Cumulative training counts of a strategy, over every task so far (see `Strategy.trainingStats`). */
export interface TrainingStats {
  /** Optimizer steps taken. */
  steps: number;
  /** GPU -> CPU readbacks from the first batch of each training loop to its last step (per-task work excluded). */
  loopReadbacks: number;
}

/**
 * Counts a strategy's training steps and the readbacks inside its training loops: call `begin()` before
 * a task's loop and `end(steps)` after it (before any per-task readback such as the mean loss).
 */
export class TrainingMeter {
  private stats_: TrainingStats = { steps: 0, loopReadbacks: 0 };
  private startReadbacks: number | null = null;

  /** Mark the start of a training loop. */
  begin(): void {
    this.startReadbacks = runtime().counters.readbacks;
  }

  /** Mark the end of the loop begun by `begin()`, which took `steps` optimizer steps. */
  end(steps: number): void {
    if (this.startReadbacks === null) return;
    this.stats_.steps += steps;
    this.stats_.loopReadbacks += runtime().counters.readbacks - this.startReadbacks;
    this.startReadbacks = null;
  }

  /** The counts so far (a copy). */
  stats(): TrainingStats {
    return { ...this.stats_ };
  }
}

/**
 * A strategy's costs over one `runScenario` run (`ScenarioResult.cost`). The per-step fields are absent
 * when the strategy does not report its steps (`Strategy.trainingStats`) or took none.
 */
export interface ScenarioCost {
  /** Optimizer steps over all tasks (absent when the strategy does not count them). */
  steps?: number;
  /** Wall seconds of all `learnTask` calls divided by `steps` (per-task work such as herding included). */
  secondsPerStep?: number;
  /** GPU -> CPU readbacks inside the training loops divided by `steps` (0 for a loop that never reads back). */
  readbacksPerStep?: number;
  /** Every readback during the `learnTask` calls (per-task work included, evaluation excluded). */
  readbacks: number;
  /**
   * The most GPU bytes held by tensors during any `learnTask`, above those held when `runScenario`
   * started (the model it was given already counted then): activations, gradients, optimizer state,
   * a teacher model, GPU-side memories. Buffer-pool size classes, so slightly above the tensors' sizes.
   */
  peakExtraBytes: number;
  /** GPU bytes held by tensors after the last evaluation, above those held when `runScenario` started. */
  extraBytes: number;
  /** Exemplar memory payload at the end (`Strategy.memoryStats().bytes`; 0 without a memory). */
  memoryBytes: number;
}

/** What `runScenario` measures around a strategy's tasks (see `ScenarioCost`). @internal */
export class CostProbe {
  private readonly baseBytes = memory().bytes;
  private peakBytes = this.baseBytes;
  private readbacks = 0;
  private taskReadbacks0 = 0;
  private readonly stats0: TrainingStats | undefined;

  constructor(private readonly strategy: { trainingStats?(): TrainingStats }) {
    this.stats0 = strategy.trainingStats?.();
  }

  /** Call right before `learnTask`. */
  beforeTask(): void {
    resetPeakMemory();
    this.taskReadbacks0 = runtime().counters.readbacks;
  }

  /** Call right after `learnTask`. */
  afterTask(): void {
    this.readbacks += runtime().counters.readbacks - this.taskReadbacks0;
    this.peakBytes = Math.max(this.peakBytes, memory().peakBytes);
  }

  /** The costs, given the seconds of each task and the exemplar bytes at the end. */
  result(trainSeconds: readonly number[], memoryBytes: number): ScenarioCost {
    const cost: ScenarioCost = {
      readbacks: this.readbacks,
      peakExtraBytes: this.peakBytes - this.baseBytes,
      extraBytes: memory().bytes - this.baseBytes,
      memoryBytes,
    };
    const s1 = this.strategy.trainingStats?.();
    if (s1 && this.stats0) {
      const steps = s1.steps - this.stats0.steps;
      cost.steps = steps;
      if (steps > 0) {
        cost.secondsPerStep = trainSeconds.reduce((a, b) => a + b, 0) / steps;
        cost.readbacksPerStep = (s1.loopReadbacks - this.stats0.loopReadbacks) / steps;
      }
    }
    return cost;
  }
}
