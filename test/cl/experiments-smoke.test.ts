// End-to-end smoke test of examples/cl-cifar-svhn.ts on the committed format fixtures, with a tiny
// CNN (conv, batch norm, pooling; the real runs use ReducedResNet18 or CifarCNN): both parts run on
// data read by the loaders the CLI uses, and the results have the right structure. The fixtures are a handful of records each: the archive's CIFAR-10
// train split has classes {0, 1, 3, 5, 9} and its test split {4, 6, 9}, and SVHN's test split has
// no 7 or 8. So the smoke datasets pool every CIFAR record (archive train + test + cifar10_sample.bin,
// all ten classes) and every SVHN record, and use each pool as both train and test split: this
// checks the plumbing, not accuracy.
import { describe, it, expect } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as E from '../../src/index.js';
import { ImageDataset } from '../../src/data/dataset.js';
import { cifar10FromBins } from '../../src/data/readers.js';
import { loadCIFAR10, loadSVHN } from '../../src/data/node.js';
import { runCifarSvhn, writeReports } from '../../examples/cl-cifar-svhn.js';
import { useGPU } from '../helpers/gpu.js';

useGPU();

/** conv3x3/2 (3 -> 4) + BN + ReLU + maxpool 4 -> 64 features -> linear head: fast on a software GPU. */
class TinyCifarNet extends E.Classifier {
  readonly body: E.Sequential;
  constructor(numClasses: number) {
    super();
    this.body = this.registerModule('features', new E.Sequential(
      new E.Conv2d(3, 4, 3, { stride: 2, padding: 1 }), new E.BatchNorm2d(4), new E.ReLU(), new E.MaxPool2d(4), new E.Flatten(),
    ));
    this.registerModule('classifier', new E.Linear(64, numClasses));
  }
  features(x: E.Tensor): E.Tensor {
    return this.body.forward(x);
  }
}

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'data');

function expectMatrix(R: number[][], tasks: number): void {
  expect(R).toHaveLength(tasks);
  for (const row of R) {
    expect(row).toHaveLength(tasks);
    for (const v of row) {
      expect(Number.isFinite(v)).toBe(true);
      expect(v).toBeGreaterThanOrEqual(0);
      expect(v).toBeLessThanOrEqual(1);
    }
  }
}

describe('examples/cl-cifar-svhn on the format fixtures', () => {
  it('runs (a) CIFAR-10 + SVHN 7/8 and (b) Split CIFAR-10 ER vs NCM-ER end to end', async () => {
    const cifarParts = [
      await loadCIFAR10(FIXTURES, { train: true }), // from cifar-10-binary.tar.gz, as --cifar <root> does
      await loadCIFAR10(FIXTURES, { train: false }),
      cifar10FromBins([{ name: 'cifar10_sample.bin', bytes: new Uint8Array(readFileSync(join(FIXTURES, 'cifar10_sample.bin'))) }]),
    ];
    const cifar = ImageDataset.concat(cifarParts);
    expect(cifar.classes()).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const svhnRoot = join(FIXTURES, 'svhn');
    const svhn = ImageDataset.concat([await loadSVHN(svhnRoot, { split: 'train' }), await loadSVHN(svhnRoot, { split: 'test' })]);
    expect(svhn.classes()).toEqual(expect.arrayContaining([7, 8]));

    const lines: string[] = [];
    const r = await runCifarSvhn(
      { cifar: { train: cifar, test: cifar }, svhn: { train: svhn, test: svhn } },
      {
        makeModel: (n) => new TinyCifarNet(n),
        epochs: 1, batchSize: 8, lr: 0.05, perClassMemory: 2, memories: [4, 8], seed: 1, log: (l) => lines.push(l),
      },
    );

    // (a): two tasks, 10 CIFAR classes then 10/11; the head grew to 12 in both runs.
    const a = r.appended!;
    expect(a.tasks.map((t) => t.classes)).toEqual([[0, 1, 2, 3, 4, 5, 6, 7, 8, 9], [10, 11]]);
    expect(a.headSizes).toEqual([12, 12]);
    expect(a.results.map((x) => x.strategy)).toEqual(['frozen, no replay', 'frozen + replay 2/class']);
    for (const x of a.results) expectMatrix(x.accuracyMatrix, 2);
    expect(a.results[0]!.memory).toEqual({ exemplars: 0, bytes: 0 });
    expect(a.results[1]!.memory!.exemplars).toBe(20); // 2 per class of 10, stored at the end of task 0
    expect(a.results[1]!.memory!.bytes).toBe(20 * 3 * 32 * 32 * 4);

    // (b): five two-class tasks, ER and NCM-ER at each memory size.
    const b = r.split!;
    expect(b.tasks.map((t) => t.classes)).toEqual([[0, 1], [2, 3], [4, 5], [6, 7], [8, 9]]);
    expect(b.results.map((x) => x.strategy)).toEqual(['er/4', 'ncm-er/4', 'er/8', 'ncm-er/8']);
    for (const x of b.results) {
      expectMatrix(x.accuracyMatrix, 5);
      expect(x.trainSeconds).toHaveLength(5);
      for (const m of [x.averageAccuracy, x.averageIncrementalAccuracy]) expect(m >= 0 && m <= 1).toBe(true);
    }
    expect(b.results.map((x) => x.memory!.exemplars)).toEqual([4, 4, 8, 8]);
    expect(lines.length).toBe(2 * 2 + 4 * 5);

    const dir = mkdtempSync(join(tmpdir(), 'cl-cifar-svhn-'));
    try {
      const files = writeReports(r, { smoke: true }, dir);
      expect(files.map((f) => f.slice(dir.length + 1))).toEqual(['cl-cifar-svhn.json', 'cl-cifar-svhn-a.html', 'cl-cifar-svhn-b.html']);
      const json = JSON.parse(readFileSync(files[0]!, 'utf8')) as { results: { strategy: string }[] };
      expect(json.results).toHaveLength(6);
      expect(json.results[0]!.strategy).toBe('(a) frozen, no replay');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('says when part (a) has no SVHN data', async () => {
    const cifar = cifar10FromBins([{ name: 'cifar10_sample.bin', bytes: new Uint8Array(readFileSync(join(FIXTURES, 'cifar10_sample.bin'))) }]);
    await expect(runCifarSvhn({ cifar: { train: cifar, test: cifar } }, { makeModel: (n) => new TinyCifarNet(n), parts: ['a'] }))
      .rejects.toThrow(/part \(a\) needs the SVHN data/);
  });
});
