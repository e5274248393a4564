// Accuracy of a strategy on each class separately (e.g. the new classes 10 and 11 of an appended
// dataset, each scored on its own test images, as a notebook reports "SVHN-7 88.6%, SVHN-8 75.1%").
// Predictions are read back once per test batch (evaluation, not a training step).

import { EngramError } from '../engine/runtime.js';
import { noGrad } from '../engine/scope.js';
import { DataLoader } from '../data/loader.js';
import type { ImageDataset } from '../data/dataset.js';
import type { GpuTransform } from '../data/transforms.js';
import type { Strategy } from './strategy.js';

/**
 * Accuracy of `strategy.predict` on the test images of each class in `classes` (a class absent from `test`
 * throws), in the order given: correct predictions of class c / test images of class c.
 */
export async function classAccuracies(
  strategy: Strategy,
  test: ImageDataset,
  classes: readonly number[],
  opts: { batchSize?: number; transform?: GpuTransform } = {},
): Promise<number[]> {
  const present = new Set(test.classes());
  for (const c of classes) if (!present.has(c)) throw new EngramError(`classAccuracies: class ${c} has no test images (the test set has classes ${[...present].join(', ')})`);
  const want = new Map(classes.map((c, i) => [c, i]));
  const correct = new Float64Array(classes.length);
  const total = new Float64Array(classes.length);
  const loader = new DataLoader(test, { batchSize: opts.batchSize ?? 500, transform: opts.transform });
  for (const batch of loader) {
    const pred = noGrad(() => strategy.predict(batch.x));
    const p = (await pred.toArray()) as Int32Array;
    pred.dispose();
    batch.indices.forEach((idx, i) => {
      const k = want.get(test.labels[idx]!);
      if (k === undefined) return;
      total[k] = total[k]! + 1;
      if (p[i] === test.labels[idx]) correct[k] = correct[k]! + 1;
    });
  }
  return classes.map((_, k) => correct[k]! / total[k]!);
}
