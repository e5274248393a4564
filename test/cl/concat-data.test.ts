// ExperienceReplay mode 'concat-data' (the Split-MNIST post's replay): the memory is concatenated
// into the next task's training data and the union is trained as one shuffled dataset, each exemplar
// once per epoch, with no separate memory batch; fractionRounding 'floor' keeps int(fraction * n).
import { describe, it, expect } from 'vitest';
import * as E from '../../src/index.js';
import { ImageDataset } from '../../src/data/dataset.js';
import { classIncremental, ReservoirBuffer, type Task, type ReplayBatch, type ExemplarFormat } from '../../src/cl/index.js';
import { Naive, ExperienceReplay } from '../../src/cl/strategies/index.js';
import { useGPU } from '../helpers/gpu.js';
import { syntheticImages } from './synthetic.js';

useGPU();

const SIDE = 4;
const D = SIDE * SIDE;

/** {0, 1} then {2, 3}, perClass images of each class. */
function twoTasks(perClass: number): Task[] {
  const opts = { side: SIDE, noise: 40, base: 40, range: 175, protoSeed: 1000 };
  return classIncremental(syntheticImages([0, 1, 2, 3], perClass, 1, opts), syntheticImages([0, 1, 2, 3], 20, 2, opts), [[0, 1], [2, 3]]);
}

class SpyNN extends E.SimpleNN {
  sizes: number[] = [];
  override forward(x: E.Tensor): E.Tensor {
    this.sizes.push(x.shape[0]!);
    return super.forward(x);
  }
}

class SpyReservoir extends ReservoirBuffer {
  draws = 0;
  override sampleBatch(k: number, g?: E.Generator): ReplayBatch {
    this.draws++;
    return super.sampleBatch(k, g);
  }
}

const common = { lr: 0.5, batchSize: 16, seed: 3 };
const firstOnly = (t: Task): number => (t.id === 0 ? 0.1 : 0);

async function weights(m: E.Module): Promise<number[]> {
  const out: number[] = [];
  for (const p of m.parameters()) out.push(...((await p.toArray()) as Float32Array));
  return out;
}

describe("ExperienceReplay mode 'concat-data'", () => {
  it("keeps int(0.1 n) task-1 images and trains task 2 on task 2 ∪ memory: identical to Naive on the concatenated dataset", async () => {
    const tasks = twoTasks(28); // 56 images per task: 0.1 n = 5.6 -> floor 5 (round would keep 6)
    const buffer = new SpyReservoir({ shape: [1, SIDE, SIDE], capacity: 1000, seed: 1 });
    E.manualSeed(0);
    const model = new SpyNN(D, 4);
    const er = new ExperienceReplay({ model, ...common, buffer, update: 'end-of-task', fraction: firstOnly, fractionRounding: 'floor', mode: 'concat-data' });
    expect(er.name).toBe('er-concat-data');
    await er.learnTask(tasks[0]!, tasks.slice(0, 1));
    expect(buffer.size).toBe(5);
    model.sizes = [];
    const memory = er.memoryDataset(tasks[1]!.train);
    await er.learnTask(tasks[1]!, tasks);
    // One shuffled epoch over 56 + 5 = 61 images in batches of 16; no memory batch is ever drawn.
    expect(model.sizes).toEqual([16, 16, 16, 13]);
    expect(buffer.draws).toBe(0);
    expect(buffer.size).toBe(5); // nothing of task 2 stored (fraction 0)

    // The same thing by hand: Naive on task 1, then on ImageDataset.concat([task 2, memory]).
    E.manualSeed(0);
    const naive = new Naive({ model: new E.SimpleNN(D, 4), ...common });
    await naive.learnTask(tasks[0]!, tasks.slice(0, 1));
    const joined = { ...tasks[1]!, train: ImageDataset.concat([tasks[1]!.train, memory]) };
    await naive.learnTask(joined, [tasks[0]!, joined]);
    expect(await weights(er.model)).toEqual(await weights(naive.model));
    // ... and not what Naive on task 2 alone gives (the memory mattered).
    E.manualSeed(0);
    const alone = new Naive({ model: new E.SimpleNN(D, 4), ...common });
    await alone.learnTask(tasks[0]!, tasks.slice(0, 1));
    await alone.learnTask(tasks[1]!, tasks);
    expect(await weights(alone.model)).not.toEqual(await weights(er.model));
    for (const s of [er, naive, alone]) s.dispose();
  });

  for (const format of ['float32', 'fp16', 'uint8'] as ExemplarFormat[]) {
    it(`the memory's images are the chosen task-1 images exactly (${format})`, async () => {
      const tasks = twoTasks(28);
      const er = new ExperienceReplay({ model: new E.SimpleNN(D, 4), ...common, update: 'end-of-task', fraction: firstOnly, fractionRounding: 'round', memoryFormat: format, mode: 'concat-data' });
      await er.learnTask(tasks[0]!, tasks.slice(0, 1));
      const mem = er.memoryDataset(tasks[0]!.train);
      expect(mem.length).toBe(6); // round(5.6)
      const src = tasks[0]!.train;
      const key = (ds: ImageDataset, i: number) => `${ds.labels[i]}:${ds.images.subarray(i * D, (i + 1) * D).join(',')}`;
      const originals = new Set(Array.from({ length: src.length }, (_, i) => key(src, i)));
      for (let i = 0; i < mem.length; i++) expect(originals.has(key(mem, i))).toBe(true);
      // Six distinct images, a random choice (not the first six).
      expect(new Set(Array.from({ length: 6 }, (_, i) => key(mem, i))).size).toBe(6);
      expect(Array.from({ length: 6 }, (_, i) => key(mem, i))).not.toEqual(Array.from({ length: 6 }, (_, i) => key(src, i)));
      er.dispose();
    });
  }

  it('validates its options', () => {
    const model = new E.SimpleNN(D, 4);
    expect(() => new ExperienceReplay({ model, update: 'end-of-task', mode: 'concat-data', memoryBatchSize: 8 })).toThrow(/draws no memory batches/);
    expect(() => new ExperienceReplay({ model, capacity: 5, fractionRounding: 'floor' })).toThrow(/fractionRounding applies to update: 'end-of-task'/);
    expect(() => new ExperienceReplay({ model, update: 'end-of-task', fractionRounding: 'up' as never })).toThrow(/fractionRounding must be 'round' or 'floor'/);
    model.dispose();
  });
});
