// Validation and evaluation see the preprocessing the model trains with (issue 13): fit applies the
// training loader's deterministic part to a valData dataset, refuses a valData loader or valTransform
// that normalizes differently, and evaluate() takes the training loader as its transform.

import { describe, it, expect } from 'vitest';
import * as E from '../../src/index.js';
import { ImageDataset, DataLoader, normalize, compose, randomCrop, randomHorizontalFlip, resize } from '../../src/data/index.js';
import { deterministicPart, normalizationsOf, randomPartsOf } from '../../src/data/transforms.js';
import { fit, evaluate, type OptimizerLike } from '../../src/train/index.js';
import { useGPU } from '../helpers/gpu.js';

useGPU();

/** Sixteen 1x2x2 images with pixel values spread over 0..255 and labels 0/1. */
function data(): ImageDataset {
  const g = new E.Generator(7);
  const images = Uint8Array.from({ length: 16 * 4 }, () => g.int(256));
  return new ImageDataset({ images, labels: Array.from({ length: 16 }, (_, i) => i % 2), channels: 1, height: 2, width: 2 });
}

/** A fixed linear model whose loss depends strongly on the input scale. */
function model(): E.Module {
  const lin = new E.Linear(4, 2);
  lin.loadStateDict({ weight: E.tensor([3, -2, 1, 0.5, -1, 2, -3, 1], [2, 4]), bias: E.tensor([0.25, -0.25], [2]) });
  return new E.Sequential(new E.Flatten(), lin);
}

/** An optimizer that counts steps and changes nothing, so the model stays the fixed one. */
function counting(): OptimizerLike & { steps: number } {
  const o = { steps: 0, step: () => void o.steps++, zeroGrad() {} };
  return o;
}

const norm = normalize([0.5], [0.25]);

describe('deterministicPart and normalizationsOf', () => {
  it('keep the normalize and resize of a pipeline, in order, and drop the random augmentation', () => {
    const crop = randomCrop(32, 4);
    const flip = randomHorizontalFlip();
    const n3 = normalize([0.49, 0.48, 0.45], [0.25, 0.24, 0.26]);
    expect(deterministicPart(compose([crop, flip, n3]))).toBe(n3);
    expect(deterministicPart(compose([crop, flip]))).toBeUndefined();
    expect(deterministicPart(crop)).toBeUndefined();
    expect(deterministicPart(undefined)).toBeUndefined();
    const all = compose([resize(16, 16), n3]);
    expect(deterministicPart(all)).toBe(all); // nothing random: the pipeline itself
    expect(deterministicPart(compose([crop, compose([resize(16, 16), flip]), n3]))!.name)
      .toBe('compose([resize(16, 16), normalize(mean=[0.49, 0.48, 0.45], std=[0.25, 0.24, 0.26])])');
    expect(normalizationsOf(compose([crop, compose([n3]), norm]))).toEqual([n3.normalization, norm.normalization]);
    expect(normalizationsOf(compose([crop, flip]))).toEqual([]);
  });
});

describe('evaluation uses the training preprocessing', () => {
  it('fit validates a dataset through the training loader\'s normalization, without its augmentation', async () => {
    const m = model();
    const ds = data();
    const normalized = await evaluate(m, ds, { transform: norm });
    const raw = await evaluate(m, ds);
    expect(Math.abs(normalized.loss - raw.loss)).toBeGreaterThan(0.1); // the mismatch is visible here
    // The training loader flips at random and normalizes; validation must normalize and not flip.
    const train = new DataLoader(ds, { batchSize: 8, shuffle: true, transform: compose([randomHorizontalFlip(), norm]) });
    const h = await fit(m, train, { optimizer: counting(), valData: ds, progress: false });
    expect(h[0]!.val!.loss).toBeCloseTo(normalized.loss, 5);
    expect(h[0]!.val!.confusion).toEqual(normalized.confusion);
    // evaluate() takes the training loader as its transform: its deterministic part.
    const viaLoader = await evaluate(m, ds, { transform: train });
    expect(viaLoader.loss).toBeCloseTo(normalized.loss, 5);
    // fit's valTransform may also be the loader (or the transform itself).
    const h2 = await fit(m, train, { optimizer: counting(), valData: ds, valTransform: train, progress: false });
    expect(h2[0]!.val!.loss).toBeCloseTo(normalized.loss, 5);
    m.dispose();
  });

  it('fit refuses, before training, a validation loader or valTransform that normalizes differently', async () => {
    const m = model();
    const ds = data();
    const train = new DataLoader(ds, { batchSize: 8, transform: compose([randomHorizontalFlip(), norm]) });
    const opt = counting();
    await expect(fit(m, train, { optimizer: opt, valData: new DataLoader(ds, { batchSize: 8 }), progress: false })).rejects.toThrow(
      "fit: the training loader normalizes with normalize([0.5], [0.25]) but the valData loader does not normalize, so validation would report a wrong loss and accuracy; give the validation DataLoader the training preprocessing (normalize(mean=[0.5], std=[0.25])), or pass the test ImageDataset as valData",
    );
    await expect(fit(m, train, { optimizer: opt, valData: new DataLoader(ds, { batchSize: 8, transform: normalize([0.5], [0.5]) }), progress: false }))
      .rejects.toThrow(/the valData loader normalizes with normalize\(\[0.5\], \[0.5\]\)/);
    await expect(fit(m, train, { optimizer: opt, valData: ds, valTransform: resize(2, 2), progress: false }))
      .rejects.toThrow(/but valTransform does not normalize, .*give valTransform the training preprocessing .*, or leave valTransform out/);
    const plain = new DataLoader(ds, { batchSize: 8 });
    await expect(fit(m, plain, { optimizer: opt, valData: new DataLoader(ds, { batchSize: 8, transform: norm }), progress: false }))
      .rejects.toThrow(/the training loader does not normalize but the valData loader normalizes .*; remove the normalize\(\) from the validation DataLoader/);
    // A random crop that changes the size: the default cannot give the model its input shape.
    const cropped = new DataLoader(ds, { batchSize: 8, transform: compose([randomCrop(1), norm]) });
    await expect(fit(m, cropped, { optimizer: opt, valData: ds, progress: false }))
      .rejects.toThrow(/valData images would be 1x2x2 after the training loader's deterministic preprocessing \(normalize.*\), but the model trains on 1x1x1 .*; pass valTransform/);
    expect(opt.steps).toBe(0); // every refusal came before the first step
    // A separate but equal normalize() is accepted.
    const equal = new DataLoader(ds, { batchSize: 8, transform: normalize([0.5], [0.25]) });
    await fit(m, train, { optimizer: opt, valData: equal, progress: false });
    expect(opt.steps).toBe(2);
    m.dispose();
  });

  it('evaluate and fit refuse a random evaluation preprocessing unless augmented: true says it is meant', async () => {
    const m = model();
    const ds = data();
    const flip = randomHorizontalFlip();
    const augmenting = new DataLoader(ds, { batchSize: 8, transform: compose([flip, norm]) });
    expect(randomPartsOf(compose([flip, norm]))).toEqual([flip.name]);
    expect(randomPartsOf(norm)).toEqual([]);
    await expect(evaluate(m, augmenting)).rejects.toThrow(
      `evaluate: this DataLoader's transform is random (${flip.name}), so the accuracy and loss would be measured on augmented images; pass the dataset with { transform: trainLoader }`,
    );
    await expect(evaluate(m, ds, { transform: compose([flip, norm]) })).rejects.toThrow(`evaluate: the transform option is random (${flip.name})`);
    // The loader as a transform gives its deterministic part: accepted, and equal to normalize alone.
    const viaLoader = await evaluate(m, ds, { transform: augmenting });
    const normalized = await evaluate(m, ds, { transform: norm });
    expect(viaLoader.loss).toBeCloseTo(normalized.loss, 6);
    // Test-time augmentation, asked for: it runs.
    const tta = await evaluate(m, augmenting, { augmented: true });
    expect(tta.count).toBe(ds.length);
    // ... and refused where nothing random would run: a loader as the transform gives only its deterministic part.
    await expect(evaluate(m, ds, { transform: augmenting, augmented: true })).rejects.toThrow(
      'evaluate: augmented: true, but a DataLoader given as the transform contributes only its deterministic part, so no augmentation would happen',
    );
    await expect(evaluate(m, ds, { transform: norm, augmented: true })).rejects.toThrow('evaluate: augmented: true, but the transform option has no random part');
    // A DataLoader with a transform option is the misuse it is, not a randomness complaint.
    await expect(evaluate(m, augmenting, { transform: norm })).rejects.toThrow('evaluate: batchSize and transform apply when passing a dataset');
    const opt = counting();
    await expect(fit(m, augmenting, { optimizer: opt, valData: augmenting, progress: false }))
      .rejects.toThrow(`fit: the valData loader is random (${flip.name}), so validation would measure augmented images; pass the test ImageDataset as valData`);
    await expect(fit(m, augmenting, { optimizer: opt, valData: ds, valTransform: compose([flip, norm]), progress: false }))
      .rejects.toThrow(`fit: valTransform is random (${flip.name}), so validation would measure augmented images; give valTransform the deterministic transforms only`);
    await expect(fit(m, augmenting, { optimizer: opt, valData: augmenting, progress: false })).rejects.toThrow('(test-time augmentation: evaluate(model, data, { augmented: true }) in onEpoch)');
    expect(opt.steps).toBe(0);
    m.dispose();
  });
});
