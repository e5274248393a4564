// The demo's model and the four strategies it can switch between.
//
//  - naive  : SGD on each task in turn (src/cl/strategies/naive.ts): the lower bound, it forgets.
//  - replay : experience replay with an online reservoir memory of a fixed byte budget in the chosen
//             format (src/cl/strategies/replay.ts): each stream batch is trained together with a
//             batch drawn from the memory.
//  - ncm / gaussian: the network is trained with SGD on the first task only; then its features are
//             frozen and every class (task 0's at the end of task 0, later ones as their images
//             stream in) is added to a nearest-class-mean or a Gaussian (LDA) head computed from
//             the features alone. Nothing is trained after task 0, so nothing is overwritten: old
//             classes keep their statistics, and accuracy is limited by how well task 0's features
//             separate the later digits.

import * as E from '../src/index.js';
import { DataLoader } from '../src/data/index.js';
import { Naive, ExperienceReplay } from '../src/cl/strategies/index.js';
import type { Strategy, Task, ExemplarFormat } from '../src/cl/index.js';

export type StrategyKind = 'naive' | 'replay' | 'ncm' | 'gaussian';

/** A Strategy the demo may also tell when a task's stream is over (the loop feeds tasks in chunks; not the online `Strategy.endTask`). */
export interface DemoStrategy extends Strategy {
  /** Returns true when its predictions changed (the loop then evaluates again). */
  finishTask?(task: Task): Promise<boolean>;
}

/** flatten(784) -> Linear(784, hidden) -> ReLU -> classifier Linear(hidden, classes); features() is the ReLU output. */
export class TinyMLP extends E.Classifier {
  readonly body: E.Sequential;

  constructor(hidden: number, numClasses: number, inputSize = 784) {
    super();
    this.body = this.registerModule('features', new E.Sequential(new E.Flatten(), new E.Linear(inputSize, hidden), new E.ReLU()));
    this.registerModule('classifier', new E.Linear(hidden, numClasses));
  }

  features(x: E.Tensor): E.Tensor {
    return this.body.forward(x);
  }
}

export interface StrategySettings {
  kind: StrategyKind;
  lr: number;
  batchSize: number;
  seed: number;
  /** Replay only: store format and byte budget of the memory. */
  memoryFormat: ExemplarFormat;
  budgetBytes: number;
}

export function makeStrategy(model: TinyMLP, s: StrategySettings): DemoStrategy {
  const common = { model, lr: s.lr, momentum: 0.9, batchSize: s.batchSize, seed: s.seed };
  switch (s.kind) {
    case 'naive':
      return new Naive(common);
    case 'replay':
      return new ExperienceReplay({ ...common, name: 'replay', capacityBytes: s.budgetBytes, memoryFormat: s.memoryFormat, bufferKind: 'reservoir' });
    case 'ncm':
    case 'gaussian':
      return new FrozenFeatureHead(s.kind, new Naive(common));
  }
}

/** SGD on task 0 (through `trainer`), then a head over the frozen features, updated from data only. */
class FrozenFeatureHead implements DemoStrategy {
  readonly name: string;
  private readonly model: TinyMLP;
  private readonly head: E.NCMHead | E.GaussianHead;
  private headReady = false;

  constructor(kind: 'ncm' | 'gaussian', private readonly trainer: Naive) {
    this.name = kind === 'ncm' ? 'NCM head' : 'Gaussian head';
    this.model = trainer.model as TinyMLP;
    const D = this.model.featureDim;
    this.head = kind === 'ncm' ? new E.NCMHead(D) : new E.GaussianHead(D, { shrinkage: 0.1 });
  }

  async learnTask(task: Task, tasksSoFar: readonly Task[]): Promise<void> {
    if (!this.headReady) await this.trainer.learnTask(task, tasksSoFar);
    else await this.addToHead(task);
  }

  async finishTask(task: Task): Promise<boolean> {
    if (this.headReady) return false;
    // The end of task 0: freeze the features and fit the head on the whole task's training images.
    this.model.freezeFeatures();
    this.model.eval();
    this.headReady = true;
    await this.addToHead(task);
    return true;
  }

  predict(x: E.Tensor): E.Tensor {
    if (!this.headReady) return this.trainer.predict(x);
    return E.noGrad(() => E.scope(() => this.head.predict(this.model.features(x))));
  }

  memoryStats(): { exemplars: number; bytes: number } {
    return { exemplars: 0, bytes: 0 };
  }

  dispose(): void {
    this.head.dispose();
    this.trainer.dispose();
  }

  private async addToHead(task: Task): Promise<void> {
    for (const batch of new DataLoader(task.train, { batchSize: 256 })) {
      // The features are the only tensor kept from the forward pass (the scope frees the rest).
      const f = E.noGrad(() => E.scope(() => this.model.features(batch.x)));
      try {
        await this.head.update(f, batch.y);
      } finally {
        f.dispose();
        batch.x.dispose();
        batch.y.dispose();
      }
    }
  }
}
