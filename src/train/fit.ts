// fit(): the standard supervised training loop over a DataLoader, with the habits that keep a
// WebGPU engine fast: each step runs in a scope (its intermediates are freed), nothing is read
// back from the GPU except the loss every `logEvery` steps (each read waits for the GPU), and the
// epoch's mean loss is summed on the GPU and read once at the end of the epoch.

import { EngramError } from '../engine/runtime.js';
import { zeros, type Tensor } from '../engine/tensor.js';
import { scope } from '../engine/scope.js';
import { sync } from '../engine/runtime.js';
import { crossEntropy, addInPlace_ } from '../engine/ops/index.js';
import { shapeStr } from '../engine/shape.js';
import type { Module } from '../nn/module.js';
import { ImageDataset } from '../data/dataset.js';
import { DataLoader } from '../data/loader.js';
import { deterministicPart, normalizationsOf, type GpuTransform } from '../data/transforms.js';
import { evaluate, evalTransform, randomPartsInEvaluation, type EvalResult, type EvaluateOptions } from './evaluate.js';
import { Progress, defaultWriter, type ProgressOption, type ProgressWriter } from './progress.js';

/** What fit() needs of an optimizer (every engram optimizer has it). */
export interface OptimizerLike {
  /** Clear the parameters' gradients before a step's backward pass. */
  zeroGrad(): void;
  /** Update the parameters from their gradients. */
  step(): void;
}

/** Passed to FitOptions.onStep after every training step. */
export interface StepInfo {
  /** Epoch, counted from 1. */
  epoch: number;
  /** Step within the epoch, counted from 1. */
  step: number;
  /** Steps since fit() started, counted from 1. */
  globalStep: number;
  /** The step's loss, present on the steps where it was read back (every `logEvery` steps). */
  loss?: number;
}

/** One epoch of fit()'s returned history. */
export interface EpochHistory {
  /** Counted from 1. */
  epoch: number;
  /** Mean training loss over the epoch's steps. */
  loss: number;
  /** Wall time of the epoch's training steps (validation excluded), GPU work included. */
  seconds: number;
  /** Number of training steps in the epoch. */
  steps: number;
  /** Validation result when `valData` is given. */
  val?: EvalResult;
}

/** Options of fit(); only `optimizer` is required. */
export interface FitOptions {
  /** Updates the model's parameters after each step's backward pass (e.g. `new SGD(model.parameters(), { lr: 0.1 })`). */
  optimizer: OptimizerLike;
  /** Number of passes over the training data (default 1). */
  epochs?: number;
  /** (model output, labels) -> scalar loss; default crossEntropy. */
  lossFn?: (output: Tensor, target: Tensor) => Tensor;
  /**
   * Evaluated with evaluate() after every epoch. It must see the normalization the model trains
   * with: an ImageDataset goes through the training loader's deterministic preprocessing (its
   * normalize and resize, not its random crops and flips) unless `valTransform` says otherwise; a
   * DataLoader keeps its own transform, and fit throws before training when that normalizes
   * differently from the training loader or is random (augmentation; for test-time augmentation call
   * evaluate with `augmented: true` in onEpoch).
   */
  valData?: DataLoader | ImageDataset;
  /**
   * Preprocessing for `valData` when it is a dataset, instead of the training loader's deterministic
   * part: a transform, or a DataLoader whose deterministic part is applied. It must normalize as the
   * training loader does and have no random part.
   */
  valTransform?: GpuTransform | DataLoader;
  /** Called after every step (awaited when it returns a promise). */
  onStep?: (info: StepInfo) => void | Promise<void>;
  /** Called after every epoch, validation included (awaited when it returns a promise). */
  onEpoch?: (entry: EpochHistory) => void | Promise<void>;
  /** Progress display: 'auto' (default) draws a bar on a terminal and prints lines otherwise; false is silent. */
  progress?: ProgressOption;
  /** Read the loss back every this many steps (default 50). */
  logEvery?: number;
  /** Where progress goes (default: stdout, or console.log in browsers). */
  writer?: ProgressWriter;
}

/** Train `model` on `trainLoader` and return the per-epoch history. */
export async function fit(model: Module, trainLoader: DataLoader, opts: FitOptions): Promise<EpochHistory[]> {
  if (!(trainLoader instanceof DataLoader)) throw new EngramError('fit: trainLoader must be a DataLoader');
  if (!opts || typeof opts.optimizer?.step !== 'function' || typeof opts.optimizer.zeroGrad !== 'function') {
    throw new EngramError('fit: options need an optimizer, e.g. { optimizer: new SGD(model.parameters(), { lr: 0.1 }) }');
  }
  const { optimizer, epochs = 1, lossFn = crossEntropy, logEvery = 50, valData, onStep, onEpoch } = opts;
  if (!Number.isInteger(epochs) || epochs < 0) throw new EngramError(`fit: epochs must be a non-negative integer, got ${epochs}`);
  if (!Number.isInteger(logEvery) || logEvery <= 0) throw new EngramError(`fit: logEvery must be a positive integer, got ${logEvery}`);
  if (valData !== undefined && !(valData instanceof DataLoader) && !(valData instanceof ImageDataset)) {
    throw new EngramError('fit: valData must be a DataLoader or an ImageDataset');
  }
  if (opts.valTransform !== undefined && !(valData instanceof ImageDataset)) {
    throw new EngramError('fit: valTransform applies when valData is an ImageDataset (a DataLoader has its own transform)');
  }
  const valOpts = valData === undefined ? {} : validationOptions(trainLoader, valData, opts.valTransform);
  const progress = makeProgress(opts.progress ?? 'auto', opts.writer, epochs, trainLoader.len);
  const history: EpochHistory[] = [];
  let globalStep = 0;

  for (let epoch = 1; epoch <= epochs; epoch++) {
    model.train();
    progress?.startEpoch(epoch);
    const t0 = performance.now();
    const lossSum = zeros([]).keep(); // the epoch's summed step losses, on the GPU
    let steps = 0;
    try {
      for (const { x, y } of trainLoader) {
        steps++;
        globalStep++;
        const read = steps % logEvery === 0 || steps === trainLoader.len;
        const loss = scope(() => {
          const l = lossFn(model.forward(x), y);
          if (l.size !== 1) throw new EngramError(`fit: lossFn must return a scalar loss, got shape ${shapeStr(l.shape)}`);
          optimizer.zeroGrad();
          l.backward();
          optimizer.step();
          addInPlace_(lossSum, l.reshape([]));
          return read ? l.detach() : null;
        });
        let value: number | undefined;
        if (loss) {
          value = await loss.item();
          loss.dispose();
        }
        progress?.step(steps, value);
        if (onStep) await onStep({ epoch, step: steps, globalStep, loss: value });
      }
      const meanLoss = steps > 0 ? (await lossSum.item()) / steps : NaN;
      await sync();
      const entry: EpochHistory = { epoch, loss: meanLoss, seconds: (performance.now() - t0) / 1000, steps };
      if (valData !== undefined) {
        entry.val = await evaluate(model, valData, valOpts);
      }
      progress?.endEpoch(entry);
      history.push(entry);
      if (onEpoch) await onEpoch(entry);
    } finally {
      lossSum.dispose();
    }
  }
  optimizer.zeroGrad(); // gradients of the last step are not needed after training
  return history;
}

// Validation sees the training normalization, or fit refuses to start.
//
// A model trained on normalized images and validated on raw ones reports a wrong loss and accuracy
// with no error at all (issue 13 measured it on MNIST: 92.1% and loss 0.717 instead of 0.237).
// Two cases:
//  - valData is an ImageDataset: it carries no preprocessing of its own, so fit applies the training
//    loader's deterministic part by default. That is what evaluation needs (the same normalize and
//    resize, without the random augmentation, as torchvision's train/test transform pairs do), and
//    there is no correct reading of "no preprocessing" for a model trained on normalized inputs.
//  - valData is a DataLoader, or valTransform is given: the caller chose a preprocessing explicitly,
//    and overriding it behind their back would be another silent surprise, so a normalization that
//    differs from the training loader's is an error naming the fix, raised before any training.
// Only the normalize() steps are compared: crops and resizes legitimately differ between training
// and evaluation (randomCrop in training, a resize or nothing in evaluation). A caller who really
// wants another normalization can evaluate() in onEpoch.
function validationOptions(train: DataLoader, valData: DataLoader | ImageDataset, valTransform: GpuTransform | DataLoader | undefined): EvaluateOptions {
  const trainDet = deterministicPart(train.transform);
  const want = normalizationsOf(train.transform);
  // What to do about a mismatch depends on who normalizes: a training loader that normalizes has a
  // deterministic part to copy; one that does not means the validation side must drop its normalize().
  const fix = (what: string, or: string): string => want.length > 0
    ? `give ${what} the training preprocessing (${trainDet!.name}), or ${or} (fit then applies the training loader's deterministic preprocessing itself)`
    : `remove the normalize() from ${what}, or normalize the training loader the same way`;
  const wrong = 'so validation would report a wrong loss and accuracy';
  // Validation on randomly cropped or flipped images reports a lower, noisy accuracy with no error.
  const random = randomPartsInEvaluation(valData, valTransform);
  if (random.length) {
    const [what, instead] = valData instanceof DataLoader
      ? ['the valData loader', "pass the test ImageDataset as valData (fit applies the training loader's deterministic preprocessing), or a loader without augmentation"]
      : ['valTransform', 'give valTransform the deterministic transforms only (normalize, resize), or leave it out'];
    throw new EngramError(`fit: ${what} is random (${random.join(', ')}), so validation would measure augmented images; ${instead} (test-time augmentation: evaluate(model, data, { augmented: true }) in onEpoch)`);
  }
  if (valData instanceof DataLoader) {
    const got = normalizationsOf(valData.transform);
    if (!sameNormalizations(want, got)) {
      throw new EngramError(`fit: the training loader ${describeNorms(want)} but the valData loader ${describeNorms(got)}, ${wrong}; ${fix('the validation DataLoader', 'pass the test ImageDataset as valData')}`);
    }
    return {};
  }
  if (valTransform !== undefined) {
    const t = evalTransform(valTransform);
    const got = normalizationsOf(t);
    if (!sameNormalizations(want, got)) {
      throw new EngramError(`fit: the training loader ${describeNorms(want)} but valTransform ${describeNorms(got)}, ${wrong}; ${fix('valTransform', 'leave valTransform out')}`);
    }
    return { transform: t };
  }
  // The default: the training loader's deterministic part, when it gives the images the model trains on.
  const raw: [number, number, number] = [valData.channels, valData.height, valData.width];
  const shape = trainDet ? trainDet.outputShape(raw) : raw;
  if (shape.join() !== train.imageShape.join()) {
    throw new EngramError(`fit: valData images would be ${shape.join('x')} after the training loader's deterministic preprocessing (${trainDet?.name ?? 'none'}), but the model trains on ${train.imageShape.join('x')} (its random transforms change the size); pass valTransform, e.g. compose([resize(${train.imageShape[1]}, ${train.imageShape[2]}), normalize(...)]) with the training normalization`);
  }
  return { transform: trainDet };
}

type Normalization = ReturnType<typeof normalizationsOf>[number];

function describeNorms(list: readonly Normalization[]): string {
  if (list.length === 0) return 'does not normalize';
  return `normalizes with ${list.map((n) => `normalize([${n.mean.join(', ')}], [${n.std.join(', ')}])`).join(' then ')}`;
}

/** Same steps, with one mean/std value standing for every channel (as normalize() reads it). */
function sameNormalizations(a: readonly Normalization[], b: readonly Normalization[]): boolean {
  if (a.length !== b.length) return false;
  const same = (x: readonly number[], y: readonly number[]): boolean => {
    const n = Math.max(x.length, y.length);
    if (x.length !== y.length && x.length !== 1 && y.length !== 1) return false;
    for (let i = 0; i < n; i++) if (x[x.length === 1 ? 0 : i] !== y[y.length === 1 ? 0 : i]) return false;
    return true;
  };
  return a.every((n, i) => same(n.mean, b[i]!.mean) && same(n.std, b[i]!.std));
}

function makeProgress(option: ProgressOption, writer: ProgressWriter | undefined, epochs: number, stepsPerEpoch: number): Progress | null {
  if (option === false) return null;
  if (option !== true && option !== 'auto' && option !== 'bar' && option !== 'lines') {
    throw new EngramError(`fit: progress must be true, false, 'auto', 'bar' or 'lines', got ${JSON.stringify(option)}`);
  }
  const w = writer ?? defaultWriter();
  const mode = option === 'bar' || option === 'lines' ? option : w.isTTY ? 'bar' : 'lines';
  return new Progress({ epochs, stepsPerEpoch, mode, writer: w });
}
