// StrategyOptions.sharedFirstTask: a strategy that starts from task 0 as another trained it must end
// bit for bit where it would have ended training task 0 itself, when both train task 0 the same way
// (the appended-classes preset's naive/replay pairs). The model has batch norm (running statistics
// travel with the state) and dropout, on in task 1 (its GPU stream travels with the random state).
import { describe, it, expect } from 'vitest';
import * as E from '../../src/index.js';
import { classIncremental, firstPerClass, runScenario, type Task } from '../../src/cl/index.js';
import { Naive, ExperienceReplay, AlternatingReplay, adamOptimizer, type SharedFirstTask } from '../../src/cl/strategies/index.js';
import { randomCrop, randomHorizontalFlip, compose, normalize } from '../../src/data/index.js';
import { useGPU } from '../helpers/gpu.js';
import { syntheticImages } from './synthetic.js';

useGPU();

const o = { side: 8, noise: 40, base: 40, range: 175, protoSeed: 1000 };
// Task 0: classes 0-3; task 1: classes 4 and 5 (the head grows 4 -> 6).
const tasks: Task[] = classIncremental(syntheticImages([0, 1, 2, 3, 4, 5], 8, 1, o), syntheticImages([0, 1, 2, 3, 4, 5], 3, 2, o), [[0, 1, 2, 3], [4, 5]]);
const transform = compose([randomCrop(8, 1), randomHorizontalFlip(), normalize([0.5], [0.5])]);

/** The faithful (A) recipe in miniature: Adam, frozen conv stack kept in train mode, dropout on. */
const common = (seed: number) => ({
  model: new E.ConvStackCNN(4, { inChannels: 1, imageSize: 8, width: 2, hidden: 8 }), lr: 1e-2, batchSize: 8, seed, transform,
  taskEpochs: (t: Task) => (t.id === 0 ? 3 : 2), makeOptimizer: adamOptimizer(),
  expandHeads: true, freezeFeaturesAfterFirstTask: true, frozenFeaturesMode: 'train' as const,
});
type Trained = Naive | ExperienceReplay;
const pairs: [string, (seed: number) => Naive, (seed: number, shared?: SharedFirstTask) => Trained][] = [
  ['naive -> alternating replay (faithful preset)', (seed) => new Naive(common(seed)), (seed, shared) => new AlternatingReplay({
    ...common(seed), update: 'end-of-task', bufferKind: 'fifo', capacity: 8, select: firstPerClass(2, (t) => t.id === 0), memoryBatchSize: 4, sharedFirstTask: shared,
  })],
  ['naive -> end-of-task replay (engram preset)', (seed) => new Naive({ ...common(seed), frozenFeaturesMode: 'eval' }), (seed, shared) => new ExperienceReplay({
    ...common(seed), frozenFeaturesMode: 'eval', update: 'end-of-task', bufferKind: 'class-balanced', capacity: 8, fraction: (t) => (t.id === 0 ? 1 : 0), sharedFirstTask: shared,
  })],
];

async function finalState(st: Trained): Promise<Record<string, number[]>> {
  const out: Record<string, number[]> = {};
  for (const [k, t] of st.model.stateDict()) out[k] = Array.from(await t.toArray());
  return out;
}

describe('sharedFirstTask: start from task 0 as another strategy trained it', () => {
  for (const [name, makeFirst, makeSecond] of pairs) {
    it(`${name}: the same weights, statistics, accuracies and losses as training task 0 again`, async () => {
      const seed = 3;
      // Reference: the second strategy trains both tasks itself.
      E.manualSeed(seed);
      const alone = makeSecond(seed);
      const ref = await runScenario(alone, tasks);
      const refState = await finalState(alone);
      alone.dispose();
      // The first strategy trains task 0 and shares it; the second starts from it.
      E.manualSeed(seed);
      const first = makeFirst(seed);
      let shared: SharedFirstTask | null = null;
      await runScenario(first, tasks, { onTask: (i) => { if (i === 0) shared = first.shareFirstTask(); } });
      first.dispose();
      E.manualSeed(seed + 100); // whatever happened meanwhile: the shared random state takes over
      const second = makeSecond(seed, shared!);
      const res = await runScenario(second, tasks);
      expect(res.accuracyMatrix).toEqual(ref.accuracyMatrix);
      expect(second.taskLosses).toEqual(alone.taskLosses);
      expect(await finalState(second)).toEqual(refState);
      expect(second.trainingStats().steps).toBeLessThan(alone.trainingStats().steps); // task 0 took no step
      second.dispose();
      shared!.dispose();
    });
  }

  it('refuses what would silently differ: a kept optimizer, a disposed snapshot, the wrong moment, online learning', async () => {
    const flat = classIncremental(syntheticImages([0, 1, 2, 3], 4, 1, o), syntheticImages([0, 1, 2, 3], 2, 2, o), [[0, 1], [2, 3]]);
    const make = (shared?: SharedFirstTask) => new Naive({ model: new E.SimpleNN(64, 4), lr: 0.1, batchSize: 4, momentum: 0.9, sharedFirstTask: shared });
    const first = make();
    expect(() => first.shareFirstTask()).toThrow(/shareFirstTask\(\) applies right after task 0 \(learned tasks: 0\)/);
    await first.learnTask(flat[0]!, flat.slice(0, 1));
    const shared = first.shareFirstTask();
    // No new classes and nothing frozen: task 1 would go on with task 0's SGD momentum, which is not shared.
    const second = make(shared);
    await second.learnTask(flat[0]!, flat.slice(0, 1));
    await expect(second.learnTask(flat[1]!, flat)).rejects.toThrow(/task 1 would keep task 0's optimizer state, which sharedFirstTask does not carry/);
    await expect(make(shared).observe({ x: E.zeros([1, 1, 8, 8]), y: E.tensor([0], [1], { dtype: 'int32' }) } as never, flat[0]!, flat.slice(0, 1))).rejects.toThrow(/sharedFirstTask applies to learnTask \(runScenario\), not to online learning/);
    await first.learnTask(flat[1]!, flat);
    expect(() => first.shareFirstTask()).toThrow(/learned tasks: 2/);
    shared.dispose();
    expect(() => make(shared)).toThrow(/sharedFirstTask \(trained by 'naive'\) was disposed \(tensor '.*'\); keep it until/);
    expect(() => make({} as never)).toThrow(/sharedFirstTask must come from another strategy's shareFirstTask\(\)/);
    for (const s of [first, second]) s.dispose();
  });
});
