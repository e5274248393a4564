import { describe, it, expect } from 'vitest';
import * as E from '../../src/index.js';
import { ImageDataset, DataLoader, normalize } from '../../src/data/index.js';
import { fit, evaluate, Progress, formatDuration, type StepInfo, type EpochHistory, type ProgressWriter } from '../../src/train/index.js';
import { useGPU } from '../helpers/gpu.js';

useGPU();

/** Captures what a progress display writes. */
function capture(isTTY: boolean): ProgressWriter & { text: string } {
  const w = { text: '', isTTY, write: (s: string) => void (w.text += s) };
  return w;
}

// ------------------------------------------------------------------ evaluate

// Eight 1x1x3 images. The model is Flatten + Linear(3, 4) with W = [I3; 0] and b = [0, 0, 0, 0.5],
// so the logits are [p0, p1, p2, 127.5] / 255 and the prediction is the brightest pixel, or class 3
// when every pixel is below 127.5. Predictions worked out by hand:
const PIXELS = [
  [200, 10, 30], // -> 0
  [10, 220, 5], // -> 1
  [1, 2, 250], // -> 2
  [20, 30, 40], // -> 3
  [180, 190, 10], // -> 1
  [255, 0, 0], // -> 0
  [100, 90, 80], // -> 3
  [0, 0, 140], // -> 2
];
const LABELS = [0, 1, 1, 3, 0, 0, 2, 2];
// (true, predicted): (0,0) (1,1) (1,2) (3,3) (0,1) (0,0) (2,3) (2,2)
const CONFUSION = [
  [2, 1, 0, 0],
  [0, 1, 1, 0],
  [0, 0, 1, 1],
  [0, 0, 0, 1],
];

function fixedModel(): E.Module {
  const lin = new E.Linear(3, 4);
  lin.loadStateDict({
    weight: E.tensor([1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0], [4, 3]),
    bias: E.tensor([0, 0, 0, 0.5], [4]),
  });
  return new E.Sequential(new E.Flatten(), lin);
}

function handLoss(): number {
  let sum = 0;
  PIXELS.forEach((p, i) => {
    const logits = [...p.map((v) => v / 255), 0.5];
    const m = Math.max(...logits);
    const lse = m + Math.log(logits.reduce((s, l) => s + Math.exp(l - m), 0));
    sum += lse - logits[LABELS[i]!]!;
  });
  return sum / PIXELS.length;
}

const fixedData = (): ImageDataset => new ImageDataset({ images: Uint8Array.from(PIXELS.flat()), labels: LABELS, channels: 1, height: 1, width: 3 });

describe('evaluate', () => {
  it('reproduces accuracy, per-class accuracy, confusion and loss computed by hand', async () => {
    const model = fixedModel();
    const r = await evaluate(model, fixedData(), { batchSize: 3 }); // batches of 3, 3, 2
    expect(r.count).toBe(8);
    expect(r.confusion).toEqual(CONFUSION);
    expect(r.accuracy).toBe(5 / 8);
    expect(r.perClassAccuracy).toEqual([2 / 3, 1 / 2, 1 / 2, 1]);
    expect(r.loss).toBeCloseTo(handLoss(), 5);
    // the same through a DataLoader, in one batch
    const r2 = await evaluate(model, new DataLoader(fixedData(), { batchSize: 64 }));
    expect(r2.confusion).toEqual(CONFUSION);
    expect(r2.loss).toBeCloseTo(handLoss(), 5);
    model.dispose();
  });

  it('numClasses widens the matrix (absent classes: NaN accuracy); eval mode is restored per module', async () => {
    const model = fixedModel();
    const child = model.children()[1]!;
    model.train();
    child.eval(); // a mixed state must come back as it was
    const r = await evaluate(model, fixedData(), { numClasses: 5 });
    expect(r.confusion).toEqual([...CONFUSION.map((row) => [...row, 0]), [0, 0, 0, 0, 0]]);
    expect(r.perClassAccuracy.slice(0, 4)).toEqual([2 / 3, 1 / 2, 1 / 2, 1]);
    expect(r.perClassAccuracy[4]).toBeNaN();
    expect(model.training).toBe(true);
    expect(child.training).toBe(false);
    model.dispose();
  });

  it('reads back once, leaks nothing, and rejects bad input with clear errors', async () => {
    const model = fixedModel();
    const rt = E.runtime();
    const before = { tensors: E.memory().undisposed, reads: rt.counters.readbacks };
    await evaluate(model, fixedData(), { batchSize: 2 });
    expect(rt.counters.readbacks - before.reads).toBe(1);
    expect(E.memory().undisposed).toBe(before.tensors);
    await expect(evaluate(model, fixedData(), { numClasses: 3 })).rejects.toThrow(/evaluate: numClasses \(3\) is smaller than the model's 4 outputs/);
    const bad = new ImageDataset({ images: new Uint8Array(6), labels: [0, 4], channels: 1, height: 1, width: 3 });
    await expect(evaluate(model, bad)).rejects.toThrow(/evaluate: label 4 of image 1 is outside the model's 4 classes \[0, 4\)/);
    await expect(evaluate(model, new DataLoader(fixedData(), { batchSize: 2 }), { batchSize: 4 })).rejects.toThrow(/batchSize and transform apply when passing a dataset/);
    await expect(evaluate(new E.Flatten(), fixedData())).rejects.toThrow(/evaluate: label 3 of image 3 is outside the model's 3 classes \[0, 3\)/);
    await expect(evaluate(new E.Identity(), fixedData())).rejects.toThrow(/the model must return float32 logits \[B, C\]; for a batch \[8, 1, 1, 3\] it returned float32 \[8, 1, 1, 3\]/);
    expect(E.memory().undisposed).toBe(before.tensors);
    model.dispose();
  });
});

// ------------------------------------------------------------------ fit

/** Two linearly separable classes of 1x2x2 images: class 0 bright on top, class 1 bright at the bottom. */
function separable(n: number, seed: number): ImageDataset {
  const g = new E.Generator(seed);
  const images = new Uint8Array(n * 4);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = i % 2;
    labels[i] = c;
    for (let k = 0; k < 4; k++) {
      const bright = (k < 2) === (c === 0);
      images[i * 4 + k] = bright ? 150 + g.int(100) : g.int(100);
    }
  }
  return new ImageDataset({ images, labels, channels: 1, height: 2, width: 2 });
}

describe('fit', () => {
  it('lowers the loss on a separable dataset, calls the hooks, validates, and leaks nothing', async () => {
    E.manualSeed(0);
    const model = new E.Sequential(new E.Flatten(), new E.Linear(4, 2));
    const opt = new E.SGD(model.parameters(), { lr: 0.5 });
    const norm = normalize([0.5], [0.5]);
    const loader = new DataLoader(separable(64, 1), { batchSize: 10, shuffle: true, seed: 1, transform: norm });
    const steps: StepInfo[] = [];
    const epochs: EpochHistory[] = [];
    const w = capture(false);
    // Warm up once: the engine creates a few long-lived tensors on first use (e.g. the pixel table).
    await fit(new E.Sequential(new E.Flatten(), new E.Linear(4, 2)), loader, { optimizer: { step() {}, zeroGrad() {} }, progress: false });
    loader.epoch = 0;
    const before = E.memory().undisposed;
    const history = await fit(model, loader, {
      optimizer: opt,
      epochs: 4,
      logEvery: 3,
      valData: separable(20, 2),
      valTransform: norm,
      onStep: (s) => void steps.push(s),
      onEpoch: async (h) => void epochs.push(h),
      writer: w,
    });
    expect(history.length).toBe(4);
    expect(history.map((h) => h.epoch)).toEqual([1, 2, 3, 4]);
    expect(history.every((h) => h.steps === 7 && h.seconds > 0)).toBe(true);
    expect(history[3]!.loss).toBeLessThan(history[0]!.loss * 0.7);
    expect(history[3]!.val!.accuracy).toBe(1);
    expect(history[3]!.val!.count).toBe(20);
    expect(epochs).toEqual(history);
    // onStep: every step, loss on every 3rd step and on each epoch's last step
    expect(steps.length).toBe(28);
    expect(steps.map((s) => s.globalStep)).toEqual([...Array(28).keys()].map((i) => i + 1));
    expect(steps.slice(0, 7).map((s) => s.step)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(steps.filter((s) => s.loss !== undefined).map((s) => s.step)).toEqual([3, 6, 7, 3, 6, 7, 3, 6, 7, 3, 6, 7]);
    expect(steps.every((s) => s.loss === undefined || (Number.isFinite(s.loss) && s.loss > 0))).toBe(true);
    // plain lines (not a TTY): one per read loss, one per epoch
    const lines = w.text.trimEnd().split('\n');
    expect(w.text).not.toContain('\r');
    expect(lines.length).toBe(12 + 4);
    expect(lines[0]).toMatch(/^epoch 1\/4 step 3\/7 loss \d+\.\d{4} \(\d+\.\d steps\/s\)$/);
    expect(lines[3]).toMatch(/^epoch 1\/4: loss \d+\.\d{4}, \d+\.\d s \(\d+\.\d steps\/s\), val loss \d+\.\d{4}, val accuracy \d+\.\d\d%$/);
    opt.dispose(); // its per-parameter state
    expect(E.memory().undisposed).toBe(before);
    model.dispose();
  });

  it('draws a bar on a TTY, stays silent with progress: false, and takes a custom lossFn', async () => {
    const model = new E.Sequential(new E.Flatten(), new E.Linear(4, 2));
    const opt = new E.SGD(model.parameters(), { lr: 0.1 });
    const loader = new DataLoader(separable(12, 3), { batchSize: 4 });
    const tty = capture(true);
    await fit(model, loader, { optimizer: opt, epochs: 1, logEvery: 1, writer: tty });
    expect(tty.text).toContain('\r\x1b[Kepoch 1/1 [');
    expect(tty.text).toMatch(/3\/3 \d+\.\d steps\/s ETA \d+:\d\d loss \d\.\d{4}/);
    expect(tty.text).toMatch(/\r\x1b\[Kepoch 1\/1: loss \d\.\d{4}, .*\n$/);
    const quiet = capture(true);
    let calls = 0;
    const h = await fit(model, loader, {
      optimizer: opt,
      progress: false,
      writer: quiet,
      lossFn: (out, y) => (calls++, E.crossEntropy(out, y, { reduction: 'sum' })),
    });
    expect(quiet.text).toBe('');
    expect(calls).toBe(3);
    expect(h[0]!.loss).toBeGreaterThan(0);
    model.dispose();
  });

  it('rejects bad options with clear errors', async () => {
    const model = new E.Sequential(new E.Flatten(), new E.Linear(4, 2));
    const opt = new E.SGD(model.parameters(), { lr: 0.1 });
    const loader = new DataLoader(separable(8, 3), { batchSize: 4 });
    const ds = separable(8, 3);
    await expect(fit(model, ds as unknown as DataLoader, { optimizer: opt })).rejects.toThrow(/fit: trainLoader must be a DataLoader/);
    await expect(fit(model, loader, {} as { optimizer: E.SGD })).rejects.toThrow(/fit: options need an optimizer/);
    await expect(fit(model, loader, { optimizer: opt, epochs: 1.5 })).rejects.toThrow(/epochs must be a non-negative integer, got 1.5/);
    await expect(fit(model, loader, { optimizer: opt, logEvery: 0 })).rejects.toThrow(/logEvery must be a positive integer, got 0/);
    await expect(fit(model, loader, { optimizer: opt, progress: 'fancy' as 'bar' })).rejects.toThrow(/progress must be true, false, 'auto', 'bar' or 'lines', got "fancy"/);
    await expect(fit(model, loader, { optimizer: opt, valData: loader, valTransform: normalize([0], [1]) })).rejects.toThrow(/valTransform applies when valData is an ImageDataset/);
    const before = E.memory().undisposed;
    await expect(fit(model, loader, { optimizer: opt, progress: false, lossFn: (o, y) => E.crossEntropy(o, y, { reduction: 'none' }) }))
      .rejects.toThrow(/fit: lossFn must return a scalar loss, got shape \[4\]/);
    expect(E.memory().undisposed).toBe(before);
    model.dispose();
  });
});

describe('Progress', () => {
  it('lines mode prints a line per reported loss and per epoch, with rate and fixed clock', () => {
    const w = capture(false);
    let t = 0;
    const p = new Progress({ epochs: 2, stepsPerEpoch: 100, mode: 'lines', writer: w, now: () => t });
    p.startEpoch(1);
    t = 1000;
    p.step(49);
    p.step(50, 0.5);
    t = 2000;
    p.step(100, 0.25);
    p.endEpoch({ epoch: 1, loss: 0.375, seconds: 2, steps: 100 });
    expect(w.text).toBe([
      'epoch 1/2 step 50/100 loss 0.5000 (50.0 steps/s)',
      'epoch 1/2 step 100/100 loss 0.2500 (50.0 steps/s)',
      'epoch 1/2: loss 0.3750, 2.0 s (50.0 steps/s)',
      '',
    ].join('\n'));
  });

  it('bar mode redraws in place with ETA, throttled', () => {
    const w = capture(true);
    let t = 0;
    const p = new Progress({ epochs: 1, stepsPerEpoch: 10, mode: 'bar', writer: w, now: () => t });
    p.startEpoch(1);
    t = 500;
    p.step(5);
    const first = w.text;
    // No step is known to be finished yet (no loss read back): no rate, no ETA.
    expect(first).toBe('\r\x1b[Kepoch 1/1 [===========>            ] 5/10 ? steps/s ETA ? ');
    t = 550;
    p.step(6); // within 100 ms of the last draw: skipped
    expect(w.text).toBe(first);
    p.step(7, 1.5); // a new loss is always drawn
    expect(w.text.slice(first.length)).toContain('7/10 12.7 steps/s ETA 0:00 loss 1.5000');
    expect(formatDuration(3725)).toBe('1:02:05');
    expect(formatDuration(59.6)).toBe('1:00');
  });
  it('measures rate and ETA on finished work (steps whose loss was read back), not on recorded steps', () => {
    // What fit sees on a GPU: recording a step takes ~1 ms, then reading the loss back every 50 steps
    // waits until the GPU has finished them (here 50 steps per second of GPU work).
    const w = capture(true);
    let t = 0;
    const p = new Progress({ epochs: 1, stepsPerEpoch: 200, mode: 'bar', writer: w, now: () => t });
    const rateShown = (): string => /(\S+) steps\/s ETA (\S+)/.exec(w.text.slice(w.text.lastIndexOf('\r')))!.slice(1, 3).join(' ');
    p.startEpoch(1);
    t = 40;
    p.step(40); // recorded 40 steps in 40 ms: the old rate said 1000 steps/s
    expect(p.rate()).toBeUndefined();
    expect(rateShown()).toBe('? ?');
    t = 1000;
    p.step(50, 0.9); // step 50's loss arrives after 1 s: 50 steps finished
    expect(p.rate()).toBe(50);
    expect(rateShown()).toBe('50.0 0:03'); // 150 steps left at 50/s
    t = 1049;
    p.step(99); // 49 more recorded in 49 ms: the old rate said 94.4; nothing new has finished
    expect(p.rate()).toBe(50);
    t = 1200;
    p.step(100, 0.8); // ...and they finish at 1.2 s: 50 steps in 0.2 s, warm-up excluded
    expect(p.rate()).toBe(250);
    expect(p.eta(1200)).toBeCloseTo(100 / 250, 12);
    expect(p.eta(1300)).toBeCloseTo(100 / 250 - 0.1, 12); // counts down between finished points
    expect(p.eta(5000)).toBe(0);
    p.startEpoch(2); // a new epoch starts over
    expect(p.rate()).toBeUndefined();
  });
});
