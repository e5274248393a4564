import { describe, it, expect } from 'vitest';
import * as E from '../../src/index.js';
import {
  FifoBuffer, ReservoirBuffer, ClassBalancedBuffer, TaskBalancedBuffer, createExemplarStore,
  randomIndex, sampleWithoutReplacement, type ReplayBuffer,
} from '../../src/cl/index.js';
import { useGPU } from '../helpers/gpu.js';

useGPU();

/** Stream positions start..start+n-1 as one-value exemplars (float32 holds them exactly). */
function positions(start: number, n: number): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => start + i);
}

/** The stream positions a one-value float32 buffer holds, sorted. */
function held(b: ReplayBuffer): number[] {
  return Array.from({ length: b.size }, (_, i) => b.store.decode(i)[0]!).sort((x, y) => x - y);
}

function countsOf(xs: ArrayLike<number>): Map<number, number> {
  const m = new Map<number, number>();
  for (let i = 0; i < xs.length; i++) m.set(xs[i]!, (m.get(xs[i]!) ?? 0) + 1);
  return m;
}

/** |observed - n p| within z binomial standard deviations. */
function expectBinomial(observed: number, n: number, p: number, z: number, what: string): void {
  const sd = Math.sqrt(n * p * (1 - p));
  expect(Math.abs(observed - n * p), `${what}: ${observed} vs expected ${n * p} (sd ${sd.toFixed(1)})`).toBeLessThanOrEqual(z * sd);
}

describe('unbiased sampling helpers', () => {
  it('randomIndex stays in range, hits every value and is roughly uniform', () => {
    const g = new E.Generator(1);
    const n = 7;
    const draws = 7000;
    const c = new Array<number>(n).fill(0);
    for (let i = 0; i < draws; i++) {
      const j = randomIndex(g, n);
      expect(j >= 0 && j < n).toBe(true);
      c[j]!++;
    }
    c.forEach((k, j) => expectBinomial(k, draws, 1 / n, 5, `value ${j}`));
    for (let i = 0; i < 100; i++) {
      const j = randomIndex(g, 2 ** 40 + 3);
      expect(Number.isInteger(j) && j >= 0 && j < 2 ** 40 + 3).toBe(true);
    }
    expect(() => randomIndex(g, 0)).toThrow(/n must be an integer/);
  });

  it('sampleWithoutReplacement gives k distinct indices; each index equally likely', () => {
    const g = new E.Generator(2);
    const hits = new Array<number>(20).fill(0);
    for (let r = 0; r < 2000; r++) {
      const s = sampleWithoutReplacement(g, 20, 5);
      expect(new Set(s).size).toBe(5);
      for (const i of s) hits[i]!++;
    }
    hits.forEach((k, i) => expectBinomial(k, 2000, 5 / 20, 5, `index ${i}`));
    expect(Array.from(sampleWithoutReplacement(g, 4, 4)).sort()).toEqual([0, 1, 2, 3]);
    expect(() => sampleWithoutReplacement(g, 3, 4)).toThrow(/cannot draw 4 distinct indices from 3/);
  });
});

describe('FifoBuffer', () => {
  it('keeps the newest `capacity` exemplars, overwriting the oldest', () => {
    const b = new FifoBuffer({ shape: [1], capacity: 5 });
    b.add({ values: positions(0, 3), labels: [0, 0, 0], task: 0 });
    expect(held(b)).toEqual([0, 1, 2]);
    b.add({ values: positions(3, 9), labels: new Array(9).fill(1), task: [1, 1, 1, 1, 1, 2, 2, 2, 2] });
    expect(held(b)).toEqual([7, 8, 9, 10, 11]);
    expect([b.size, b.capacity, b.seen, b.bytes]).toEqual([5, 5, 12, 20]);
    // The next one replaces position 7, the oldest.
    b.add({ values: positions(12, 1), labels: [3], task: 2 });
    expect(held(b)).toEqual([8, 9, 10, 11, 12]);
  });

  it('samples distinct random indices; at most size of them', () => {
    const b = new FifoBuffer({ shape: [1], capacity: 8, seed: 3 });
    b.add({ values: positions(0, 6), labels: [0, 1, 2, 3, 4, 5], task: 0 });
    const s = b.sample(4);
    expect(s.length).toBe(4);
    expect(new Set(s).size).toBe(4);
    expect(Array.from(b.sample(100)).sort()).toEqual([0, 1, 2, 3, 4, 5]);
    expect(b.sample(3, new E.Generator(9))).toEqual(b.sample(3, new E.Generator(9)));
    expect(() => b.sample(-1)).toThrow(/k must be a non-negative integer/);
  });
});

describe('ReservoirBuffer (algorithm R)', () => {
  it('retains every stream position with probability capacity / seen (5000 seeded runs)', () => {
    const runs = 5000;
    const cap = 10;
    const mid = 25;
    const n = 50;
    const atMid = new Array<number>(mid).fill(0);
    const atEnd = new Array<number>(n).fill(0);
    for (let seed = 0; seed < runs; seed++) {
      const b = new ReservoirBuffer({ shape: [1], capacity: cap, seed });
      b.add({ values: positions(0, mid), labels: new Array(mid).fill(0), task: 0 });
      for (const p of held(b)) atMid[p]!++;
      b.add({ values: positions(mid, n - mid), labels: new Array(n - mid).fill(0), task: 1 });
      expect(b.size).toBe(cap);
      for (const p of held(b)) atEnd[p]!++;
    }
    // 4.5 sd per position: a correct sampler fails one of these 75 checks with probability < 1e-3.
    atMid.forEach((k, p) => expectBinomial(k, runs, cap / mid, 4.5, `position ${p} after ${mid}`));
    atEnd.forEach((k, p) => expectBinomial(k, runs, cap / n, 4.5, `position ${p} after ${n}`));
    // Aggregates catch small biases the per-position checks miss (e.g. drawing j in [0, i) instead
    // of [0, i], which keeps the initial fill with probability (cap-1)/(n-1) instead of cap/n).
    const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
    expectBinomial(sum(atEnd.slice(0, cap)), runs * cap, cap / n, 4.5, 'the initial fill');
    expectBinomial(sum(atEnd.slice(0, n / 2)), runs * cap, 0.5, 4.5, 'first half of the stream');
  });

  it('fills up to capacity first; seeded runs are reproducible', () => {
    const make = (seed: number) => {
      const b = new ReservoirBuffer({ shape: [1], capacity: 6, seed });
      b.add({ values: positions(0, 40), labels: new Array(40).fill(0), task: 0 });
      return held(b);
    };
    const b = new ReservoirBuffer({ shape: [1], capacity: 6 });
    b.add({ values: positions(0, 4), labels: [0, 0, 0, 0], task: 0 });
    expect(held(b)).toEqual([0, 1, 2, 3]);
    expect(make(5)).toEqual(make(5));
    expect(make(5)).not.toEqual(make(6));
  });
});

describe('ClassBalancedBuffer (capacity split across seen classes; the largest class evicts)', () => {
  function consistent(b: ClassBalancedBuffer): void {
    expect(b.classCounts()).toEqual(countsOf(b.store.labels()));
  }

  it('a balanced stream ends with equal classes; a new class takes slots from the largest', () => {
    const b = new ClassBalancedBuffer({ shape: [1], capacity: 12, seed: 1 });
    b.add({ values: positions(0, 30), labels: new Array(30).fill(0), task: 0 });
    expect(b.classCounts()).toEqual(new Map([[0, 12]]));
    b.add({ values: positions(30, 30), labels: new Array(30).fill(1), task: 0 });
    expect(b.classCounts()).toEqual(new Map([[0, 6], [1, 6]]));
    b.add({ values: positions(60, 30), labels: Array.from({ length: 30 }, (_, i) => 2 + (i % 2)), task: 1 });
    expect(b.classCounts()).toEqual(new Map([[0, 3], [1, 3], [2, 3], [3, 3]]));
    consistent(b);
  });

  it('a small class keeps all its exemplars; larger classes share the rest within one', () => {
    const b = new ClassBalancedBuffer({ shape: [1], capacity: 20, seed: 2 });
    b.add({ values: positions(0, 100), labels: new Array(100).fill(0), task: 0 });
    b.add({ values: positions(100, 3), labels: [1, 1, 1], task: 0 });
    expect(b.classCounts()).toEqual(new Map([[0, 17], [1, 3]]));
    b.add({ values: positions(103, 30), labels: new Array(30).fill(2), task: 0 });
    const c = b.classCounts();
    expect(c.get(1)).toBe(3);
    expect(c.get(0)! + c.get(2)!).toBe(17);
    expect(Math.abs(c.get(0)! - c.get(2)!)).toBeLessThanOrEqual(1);
    // Interleaved classes: counts differ by at most one.
    const g = new E.Generator(3);
    b.add({ values: positions(200, 300), labels: Array.from({ length: 300 }, () => g.int(5)), task: 1 }); // class 1 catches up too
    const counts = [...b.classCounts().values()];
    expect(counts.length).toBe(5);
    expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);
    expect(b.size).toBe(20);
    consistent(b);
  });

  it('within a full class, later exemplars of that class still get in (reservoir within the class)', () => {
    let late = 0;
    for (let seed = 0; seed < 50; seed++) {
      const b = new ClassBalancedBuffer({ shape: [1], capacity: 4, seed });
      b.add({ values: positions(0, 40), labels: new Array(40).fill(7), task: 0 });
      late += held(b).filter((p) => p >= 20).length;
    }
    expectBinomial(late, 200, 0.5, 5, 'exemplars from the second half of the class stream');
  });
});

describe('TaskBalancedBuffer (capacity split across seen tasks; old tasks trimmed at random)', () => {
  function consistent(b: TaskBalancedBuffer): void {
    const fromStore = countsOf(b.store.tasks());
    for (const [t, n] of b.taskCounts()) expect(fromStore.get(t) ?? 0).toBe(n);
  }

  it('shares: floor(capacity / T), the remainder to the earliest tasks; trimming happens when a task arrives', () => {
    const b = new TaskBalancedBuffer({ shape: [1], capacity: 10, seed: 4 });
    b.add({ values: positions(0, 30), labels: new Array(30).fill(0), task: 0 });
    expect(b.taskCounts()).toEqual(new Map([[0, 10]]));
    b.add({ values: positions(30, 1), labels: [1], task: 1 });
    expect(b.taskCounts()).toEqual(new Map([[0, 5], [1, 1]]));
    b.add({ values: positions(31, 29), labels: new Array(29).fill(1), task: 1 });
    expect(b.taskCounts()).toEqual(new Map([[0, 5], [1, 5]]));
    b.add({ values: positions(60, 30), labels: new Array(30).fill(2), task: 2 });
    expect(b.taskCounts()).toEqual(new Map([[0, 4], [1, 3], [2, 3]]));
    expect([b.share(0), b.share(1), b.share(2), b.share(9)]).toEqual([4, 3, 3, 0]);
    b.add({ values: positions(90, 30), labels: new Array(30).fill(3), task: 3 });
    expect(b.taskCounts()).toEqual(new Map([[0, 3], [1, 3], [2, 2], [3, 2]]));
    expect(b.tasks).toEqual([0, 1, 2, 3]);
    consistent(b);
    // Every held exemplar carries its own task's positions.
    for (let i = 0; i < b.size; i++) expect(Math.floor(b.store.decode(i)[0]! / 30)).toBe(b.store.task(i));
  });

  it('a task with few exemplars leaves its share unused; a returning task refreshes its own share', () => {
    const b = new TaskBalancedBuffer({ shape: [1], capacity: 8, seed: 5 });
    b.add({ values: positions(0, 2), labels: [0, 0], task: 0 });
    b.add({ values: positions(2, 20), labels: new Array(20).fill(0), task: 1 });
    expect(b.taskCounts()).toEqual(new Map([[0, 2], [1, 4]]));
    b.add({ values: positions(22, 10), labels: new Array(10).fill(0), task: [0, 0, 0, 0, 0, 0, 0, 0, 0, 0] });
    expect(b.taskCounts()).toEqual(new Map([[0, 4], [1, 4]]));
    consistent(b);
  });

  it('trimming and per-task sampling are uniform over each task stream (300 seeded runs)', () => {
    const runs = 300;
    const hits = new Array<number>(40).fill(0);
    for (let seed = 0; seed < runs; seed++) {
      const b = new TaskBalancedBuffer({ shape: [1], capacity: 12, seed });
      b.add({ values: positions(0, 40), labels: new Array(40).fill(0), task: 0 });
      b.add({ values: positions(40, 5), labels: new Array(5).fill(0), task: 1 });
      for (const p of held(b)) if (p < 40) hits[p]!++;
    }
    hits.forEach((k, p) => expectBinomial(k, runs, 6 / 40, 4.5, `task 0 position ${p}`));
  });
});

describe('capacity, GPU batches and errors (every buffer kind)', () => {
  const kinds = [FifoBuffer, ReservoirBuffer, ClassBalancedBuffer, TaskBalancedBuffer] as const;

  it('capacity in bytes: fp16 holds twice, uint8 four times the float32 exemplars', () => {
    for (const Kind of kinds) {
      const budget = 10 * 3 * 8 * 8 * 4;
      expect(new Kind({ shape: [3, 8, 8], capacityBytes: budget }).capacity).toBe(10);
      expect(new Kind({ shape: [3, 8, 8], format: 'fp16', capacityBytes: budget }).capacity).toBe(20);
      expect(new Kind({ shape: [3, 8, 8], format: 'uint8', capacityBytes: budget }).capacity).toBe(40);
      expect(new Kind({ shape: [3, 8, 8], format: 'uint8', quantization: 'affine', capacityBytes: budget }).capacity).toBe(38);
    }
  });

  it('sampleBatch decodes on the GPU: x matches the CPU decode, y and task the stored tags', async () => {
    const g = new E.Generator(6);
    for (const Kind of kinds) {
      const b = new Kind({ shape: [3, 5], format: 'uint8', capacity: 6, seed: 7 });
      const px = Uint8Array.from({ length: 9 * 15 }, () => g.int(256));
      b.add({ values: px, labels: [0, 1, 2, 0, 1, 2, 0, 1, 2], task: [0, 0, 0, 1, 1, 1, 2, 2, 2] });
      const batch = b.sampleBatch(4);
      expect(batch.x.shape).toEqual([4, 3, 5]);
      const x = await batch.x.toArray();
      expect(Array.from(await batch.y.toArray())).toEqual(Array.from(b.store.labels(batch.indices)));
      expect(Array.from(await batch.task.toArray())).toEqual(Array.from(b.store.tasks(batch.indices)));
      batch.indices.forEach((i, r) => expect(Array.from(x.subarray(r * 15, (r + 1) * 15))).toEqual(Array.from(b.store.decode(i))));
      for (const t of [batch.x, batch.y, batch.task]) t.dispose();
    }
  });

  it('addTensor: an fp16 buffer packs a GPU batch before reading it back', async () => {
    const b = new ReservoirBuffer({ shape: [4], format: 'fp16', capacity: 3 });
    const t = E.tensor([0.5, 1, 1.5, 2, -1, -2, -3, -4], [2, 4]);
    await b.addTensor(t, [3, 4], 1);
    t.dispose();
    expect(Array.from(b.store.decode(1))).toEqual([-1, -2, -3, -4]);
    expect(Array.from(b.store.labels())).toEqual([3, 4]);
    expect(b.bytes).toBe(2 * 8);
  });

  it('clear errors', () => {
    expect(() => new FifoBuffer({ shape: [4] })).toThrow(/exactly one of capacity \(exemplars\) or capacityBytes/);
    expect(() => new FifoBuffer({ shape: [4], capacity: 3, capacityBytes: 100 })).toThrow(/exactly one of/);
    expect(() => new FifoBuffer({ shape: [4], capacity: 0 })).toThrow(/capacity must be a positive integer, got 0/);
    expect(() => new ReservoirBuffer({ shape: [3, 32, 32], format: 'fp16', capacityBytes: 1000 })).toThrow(/capacityBytes 1000 holds no fp16 exemplar of shape \[3, 32, 32\] \(6144 bytes each\)/);
    expect(() => new ReservoirBuffer({ capacity: 3 })).toThrow(/needs the exemplar shape/);
    const full = createExemplarStore({ shape: [2] });
    full.add(Float32Array.of(1, 2), 0);
    expect(() => new ReservoirBuffer({ store: full, capacity: 3 })).toThrow(/must start empty \(it holds 1 exemplars\)/);
    expect(() => new ReservoirBuffer({ store: createExemplarStore({ shape: [2] }), shape: [2], capacity: 3 })).toThrow(/either a store or shape/);
    const b = new ClassBalancedBuffer({ shape: [2, 2], capacity: 3 });
    expect(() => b.add({ values: new Float32Array(7), labels: [0, 1], task: 0 })).toThrow(/ClassBalancedBuffer.add: 2 labels but 7 values \(4 per exemplar of shape \[2, 2\]\)/);
    expect(() => b.add({ values: new Float32Array(8), labels: [0, 1], task: [0] })).toThrow(/2 labels but 1 task ids/);
    expect(() => b.add({ values: new Float32Array(8), labels: [0, 0.5], task: 0 })).toThrow(/label 0\.5 of exemplar 1 is not a 32-bit integer/);
    expect(b.seen).toBe(0);
  });
});

describe('byte budgets count the bytes actually stored (deflate buys exemplars)', () => {
  const kinds = [FifoBuffer, ReservoirBuffer, ClassBalancedBuffer, TaskBalancedBuffer] as const;
  const D = 64;
  const BUDGET = 10 * D * 4; // ten float32 exemplars

  /** n exemplars of D floats: value 0 is the stream position, then a few random pixels on zeros (compressible) or all random. */
  function stream(start: number, n: number, g: E.Generator, dense: boolean): Float32Array {
    const v = new Float32Array(n * D);
    for (let i = 0; i < n; i++) {
      v[i * D] = start + i;
      for (let j = 1; j < D; j++) if (dense || j % 16 === 0) v[i * D + j] = g.next();
    }
    return v;
  }

  function feed(b: ReplayBuffer, g: E.Generator, dense: boolean, budgetCheck: boolean): void {
    for (let s = 0; s < 200; s += 10) {
      b.add({ values: stream(s, 10, g, dense), labels: Array.from({ length: 10 }, (_, i) => (s + i) % 4), task: Math.floor(s / 50) });
      if (budgetCheck) expect(b.bytes, `${b.kind} after ${s + 10}`).toBeLessThanOrEqual(BUDGET);
    }
  }

  for (const Kind of kinds) {
    it(`${Kind.name}: compressible exemplars: the deflated memory holds more than 2x the raw one, never over budget`, () => {
      const raw = new Kind({ shape: [D], capacityBytes: BUDGET, seed: 1 });
      const deflated = new Kind({ shape: [D], capacityBytes: BUDGET, compress: true, seed: 1 });
      feed(raw, new E.Generator(2), false, true);
      feed(deflated, new E.Generator(2), false, true);
      expect(raw.size).toBe(10);
      expect(deflated.size).toBeGreaterThan(20);
      expect(deflated.capacityBytes).toBe(BUDGET);
      expect(deflated.capacity).toBeGreaterThanOrEqual(deflated.size);
      // Incompressible exemplars are stored raw: the same 10 as uncompressed.
      const dense = new Kind({ shape: [D], capacityBytes: BUDGET, compress: true, seed: 1 });
      feed(dense, new E.Generator(3), true, true);
      expect(dense.size).toBe(10);
    });
  }

  it('FIFO under a byte budget keeps the newest exemplars, a contiguous run of the stream', () => {
    const b = new FifoBuffer({ shape: [D], capacityBytes: BUDGET, compress: true });
    feed(b, new E.Generator(4), false, true);
    const n = b.size;
    expect(held(b)).toEqual(Array.from({ length: n }, (_, i) => 200 - n + i));
  });

  it('class-balanced under a byte budget stays balanced (counts within one)', () => {
    const b = new ClassBalancedBuffer({ shape: [D], capacityBytes: BUDGET, compress: true, seed: 5 });
    feed(b, new E.Generator(5), false, true);
    const counts = [...b.classCounts().values()];
    expect(counts).toHaveLength(4);
    expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);
  });
});
