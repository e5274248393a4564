// Two class-incremental experiments on CIFAR-10 (and SVHN):
//   (a) CIFAR-10, then SVHN digits 7 and 8 as new classes 10 and 11 (appendDatasetClasses). The model
//       is trained on CIFAR-10, its head is expanded 10 -> 12, and the feature extractor is frozen
//       after task 0; task 1 trains the head only, with or without class-balanced replay of 100
//       CIFAR images per class (stored at the end of task 0).
//   (b) Split CIFAR-10 (five two-class tasks): ER vs NCM-ER (the same ER training, nearest-class-mean
//       prediction) with reservoir memories of 200 / 500 / 1000 exemplars.
// Data: torchvision roots. --cifar <root> holds cifar-10-batches-bin/ or cifar-10-binary.tar.gz; --svhn
// <root> holds train_32x32.mat and test_32x32.mat. Writes examples/out/cl-cifar-svhn.json and cl-cifar-svhn-{a,b}.html.
// The logic is `runCifarSvhn` (exported, so a test can run it on tiny fixtures with a tiny model).
//
//   npm run example -- cl-cifar-svhn --cifar ~/data --svhn ~/data/svhn [--part a|b|ab] [--model resnet|cifar-cnn]
//        [--nf 20] [--train-per-task 0] [--test-per-task 0] [--epochs 1] [--lr 0.05] [--momentum 0.9]
//        [--batch 32] [--memories 200,500,1000] [--per-class-memory 100] [--seed 0]

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as E from '../src/index.js';
import { loadCIFAR10, loadSVHN } from '../src/data/node.js';
import { normalize, type ImageDataset, type GpuTransform } from '../src/data/index.js';
import type { Classifier } from '../src/models/classifier.js';
import { appendDatasetClasses, fiveTaskSplit, runScenario, type ScenarioResult, type Strategy, type Task } from '../src/cl/index.js';
import { ExperienceReplay } from '../src/cl/strategies/index.js';
import { NCMReplay } from '../src/cl/strategies/head-strategies.js';
import { scenarioReportHTML, scenarioReportJSON } from '../src/cl/report.js';
import { exampleArgs, positiveIntList, runMain, UsageError, formatTable } from './util.js';

export const CIFAR_MEAN = [0.4914, 0.4822, 0.4465];
export const CIFAR_STD = [0.247, 0.243, 0.261];

export interface Split {
  train: ImageDataset;
  test: ImageDataset;
}

export interface CifarSvhnData {
  cifar: Split;
  /** Needed for part (a) only. */
  svhn?: Split;
}

export interface CifarSvhnSettings {
  /** Builds a fresh model with this many outputs (seeded by the caller's manualSeed). */
  makeModel: (numClasses: number) => Classifier;
  /** Which experiments (default both). */
  parts?: readonly ('a' | 'b')[];
  /** A seeded random subset of each task's training / test images (0 or undefined: all). */
  trainPerTask?: number;
  testPerTask?: number;
  epochs?: number;
  lr?: number;
  momentum?: number;
  batchSize?: number;
  seed?: number;
  /** Part (a): CIFAR exemplars kept per class (default 100). */
  perClassMemory?: number;
  /** Part (b): memory sizes in exemplars (default [200, 500, 1000]). */
  memories?: readonly number[];
  /** Training transform (default: the CIFAR normalization). */
  transform?: GpuTransform;
  log?: (line: string) => void;
}

export interface PartResult {
  tasks: { classes: number[]; train: number; test: number }[];
  results: ScenarioResult[];
}

export interface CifarSvhnResult {
  /** (a): results plus the classifier size after the last task (12 when expanded). */
  appended?: PartResult & { headSizes: number[] };
  split?: PartResult;
  seconds: number;
}

/** A seeded random subset of n images (all when n is 0/undefined or not less than there are), in dataset order. */
function randomSubset(ds: ImageDataset, n: number | undefined, seed: number): ImageDataset {
  if (!n || n >= ds.length) return ds;
  const idx = Array.from(new E.Generator(seed).permutation(ds.length).subarray(0, n)).sort((a, b) => a - b);
  return ds.subset(idx);
}

function subsetTasks(tasks: Task[], s: CifarSvhnSettings): Task[] {
  const seed = s.seed ?? 0;
  return tasks.map((t) => ({
    ...t,
    train: randomSubset(t.train, s.trainPerTask, seed * 1000 + t.id),
    test: randomSubset(t.test, s.testPerTask, seed * 1000 + 100 + t.id),
  }));
}

const describeTasks = (tasks: Task[]) => tasks.map((t) => ({ classes: t.classes, train: t.train.length, test: t.test.length }));
const pct = (v: number): string => `${(v * 100).toFixed(2)}%`;

/** Run part (a) and/or part (b) on the given datasets; returns every ScenarioResult. */
export async function runCifarSvhn(data: CifarSvhnData, s: CifarSvhnSettings): Promise<CifarSvhnResult> {
  const parts = s.parts ?? ['a', 'b'];
  const seed = s.seed ?? 0;
  const log = s.log ?? (() => undefined);
  const normalization = normalize(CIFAR_MEAN, CIFAR_STD);
  const transform = s.transform ?? normalization;
  const train = { lr: s.lr ?? 0.05, momentum: s.momentum ?? 0.9, batchSize: s.batchSize ?? 32, epochs: s.epochs ?? 1, seed, transform };
  const out: CifarSvhnResult = { seconds: 0 };
  const t0 = performance.now();

  const run = async (name: string, tasks: Task[], build: (model: Classifier) => Strategy, numClasses: number, after?: (st: Strategy) => void) => {
    E.manualSeed(seed); // the same initial model for every strategy
    const strategy = build(s.makeModel(numClasses));
    const r = await runScenario(strategy, tasks, {
      evalTransform: normalization,
      onTask: (i, row) => log(`${name}: after task ${i}: ${row.map(pct).join(' / ')}`),
    });
    r.strategy = name;
    after?.(strategy);
    strategy.dispose?.();
    return r;
  };

  if (parts.includes('a')) {
    if (!data.svhn) throw new Error('runCifarSvhn: part (a) needs the SVHN data');
    const tasks = subsetTasks(appendDatasetClasses(data.cifar, data.svhn, [7, 8], [10, 11]), s);
    const perClass = s.perClassMemory ?? 100;
    const baseClasses = tasks[0]!.classes.length;
    const headSizes: number[] = [];
    const frozen = { ...train, expandHeads: true, freezeFeaturesAfterFirstTask: true };
    const results = [
      // Without memory: the expanded head is trained on classes 10/11 alone.
      await run('frozen, no replay', tasks, (model) => new ExperienceReplay({
        model, ...frozen, name: 'frozen, no replay', update: 'end-of-task', fraction: () => 0,
      }), 10, (st) => headSizes.push((st as ExperienceReplay).model.numClasses)),
      // Class-balanced replay of perClass CIFAR images per class, stored at the end of task 0.
      await run(`frozen + replay ${perClass}/class`, tasks, (model) => new ExperienceReplay({
        model, ...frozen, name: `frozen + replay ${perClass}/class`, update: 'end-of-task', bufferKind: 'class-balanced',
        capacity: perClass * baseClasses, fraction: (t) => (t.id === 0 ? 1 : 0),
      }), 10, (st) => headSizes.push((st as ExperienceReplay).model.numClasses)),
    ];
    out.appended = { tasks: describeTasks(tasks), results, headSizes };
  }

  if (parts.includes('b')) {
    const tasks = subsetTasks(fiveTaskSplit(data.cifar.train, data.cifar.test), s);
    const results: ScenarioResult[] = [];
    for (const m of s.memories ?? [200, 500, 1000]) {
      const memory = { capacity: m, bufferKind: 'reservoir' as const, update: 'online' as const };
      results.push(await run(`er/${m}`, tasks, (model) => new ExperienceReplay({ model, ...train, ...memory, name: `er/${m}` }), 10));
      results.push(await run(`ncm-er/${m}`, tasks, (model) => new NCMReplay({ model, ...train, ...memory, name: `ncm-er/${m}`, evalTransform: normalization }), 10));
    }
    out.split = { tasks: describeTasks(tasks), results };
  }
  out.seconds = (performance.now() - t0) / 1000;
  return out;
}

function table(results: ScenarioResult[]): string {
  return formatTable(
    ['strategy', 'final avg acc', 'avg incremental acc', 'forgetting', 'BWT', 'exemplars', 'bytes', 'train s'],
    results.map((r) => [
      r.strategy, pct(r.averageAccuracy), pct(r.averageIncrementalAccuracy), pct(r.forgetting), pct(r.backwardTransfer),
      String(r.memory?.exemplars ?? 0), String(r.memory?.bytes ?? 0), r.trainSeconds.reduce((a, b) => a + b, 0).toFixed(1),
    ]),
  );
}

/** Write cl-cifar-svhn.json (both parts) and one HTML page per part (their task counts differ); returns the paths. */
export function writeReports(r: CifarSvhnResult, meta: Record<string, unknown>, outDir: string): string[] {
  mkdirSync(outDir, { recursive: true });
  const all = [
    ...(r.appended?.results ?? []).map((x) => ({ ...x, strategy: `(a) ${x.strategy}` })),
    ...(r.split?.results ?? []).map((x) => ({ ...x, strategy: `(b) ${x.strategy}` })),
  ];
  const files = [join(outDir, 'cl-cifar-svhn.json')];
  writeFileSync(files[0]!, scenarioReportJSON(all, meta));
  if (r.appended) {
    const f = join(outDir, 'cl-cifar-svhn-a.html');
    writeFileSync(f, scenarioReportHTML(r.appended.results, { title: '(a) CIFAR-10, then SVHN 7/8 as classes 10/11', taskLabels: ['CIFAR-10', 'SVHN 7/8'], meta }));
    files.push(f);
  }
  if (r.split) {
    const f = join(outDir, 'cl-cifar-svhn-b.html');
    writeFileSync(f, scenarioReportHTML(r.split.results, { title: '(b) Split CIFAR-10: ER vs NCM-ER', taskLabels: ['0-1', '2-3', '4-5', '6-7', '8-9'], meta }));
    files.push(f);
  }
  return files;
}

async function main(): Promise<void> {
  const args = exampleArgs({
    name: 'cl-cifar-svhn',
    summary: 'class-incremental CIFAR-10: (a) then SVHN 7/8 as new classes with a frozen feature extractor, (b) Split CIFAR-10, ER vs NCM-ER.',
    options: {
      cifar: { kind: 'string', default: '', help: 'a folder with cifar-10-batches-bin/ or cifar-10-binary.tar.gz (required)' },
      svhn: { kind: 'string', default: '', help: 'a folder with train_32x32.mat and test_32x32.mat (required for part a)' },
      part: { kind: 'string', choices: ['a', 'b', 'ab'], default: 'ab', help: 'which experiments' },
      model: { kind: 'string', choices: ['resnet', 'cifar-cnn'], default: 'resnet', help: 'ReducedResNet18 or CifarCNN' },
      nf: { kind: 'positive-int', default: 20, help: "ReducedResNet18's base width" },
      'train-per-task': { kind: 'non-negative-int', default: 0, help: "a seeded random subset of each task's training images (0: all)" },
      'test-per-task': { kind: 'non-negative-int', default: 0, help: "a seeded random subset of each task's test images (0: all)" },
      epochs: { kind: 'positive-int', default: 1, help: 'epochs per task' },
      lr: { kind: 'positive-number', default: 0.05, help: 'SGD learning rate' },
      momentum: { kind: 'number', default: 0.9, help: 'SGD momentum' },
      batch: { kind: 'positive-int', default: 32, help: 'training batch size' },
      memories: { kind: 'string', default: '200,500,1000', help: 'part b: memory sizes in exemplars, comma-separated' },
      'per-class-memory': { kind: 'positive-int', default: 100, help: 'part a: CIFAR exemplars kept per class' },
      seed: { kind: 'int', default: 0, help: 'seeds the subsets, the initialization and the shuffling' },
      out: { kind: 'string', default: 'examples/out', help: 'where the JSON and HTML reports go' },
    },
  });
  const parts = [...args.part] as ('a' | 'b')[];
  if (!args.cifar) throw new UsageError('--cifar <root> is required (a folder with cifar-10-batches-bin/ or cifar-10-binary.tar.gz)');
  if (parts.includes('a') && !args.svhn) throw new UsageError('--svhn <root> is required for part a (a folder with train_32x32.mat and test_32x32.mat)');
  const modelKind = args.model;
  const memories = positiveIntList('memories', args.memories);
  const rt = await E.init();
  const adapter = `${rt.info.vendor} / ${rt.info.description}`;
  console.log(`adapter: ${adapter}`);
  const cifarRoot = args.cifar as string;
  const data: CifarSvhnData = { cifar: { train: await loadCIFAR10(cifarRoot, { train: true }), test: await loadCIFAR10(cifarRoot, { train: false }) } };
  if (parts.includes('a')) {
    const svhnRoot = args.svhn as string;
    data.svhn = { train: await loadSVHN(svhnRoot, { split: 'train' }), test: await loadSVHN(svhnRoot, { split: 'test' }) };
  }
  const nf = args.nf as number;
  const settings: CifarSvhnSettings = {
    makeModel: (n) => (modelKind === 'resnet' ? new E.ReducedResNet18(n, nf) : new E.CifarCNN(n)),
    parts, trainPerTask: args['train-per-task'] as number, testPerTask: args['test-per-task'] as number,
    epochs: args.epochs as number, lr: args.lr as number, momentum: args.momentum as number, batchSize: args.batch as number,
    seed: args.seed as number, perClassMemory: args['per-class-memory'] as number,
    memories, log: (l) => console.log(l),
  };
  const r = await runCifarSvhn(data, settings);
  if (r.appended) console.log(`\n(a) CIFAR-10 then SVHN 7/8 as classes 10/11; head sizes after task 1: ${r.appended.headSizes.join(', ')}\n${table(r.appended.results)}`);
  if (r.split) console.log(`\n(b) Split CIFAR-10, five tasks\n${table(r.split.results)}`);
  console.log(`total ${r.seconds.toFixed(1)} s`);
  const meta = {
    experiment: 'class-incremental CIFAR-10 (+ SVHN 7/8)', model: modelKind === 'resnet' ? `ReducedResNet18 nf ${nf}` : 'CifarCNN',
    optimizer: `SGD lr ${settings.lr} momentum ${settings.momentum}`, batchSize: settings.batchSize, epochsPerTask: settings.epochs,
    tasksA: r.appended?.tasks, tasksB: r.split?.tasks, seed: settings.seed, adapter, seconds: Number(r.seconds.toFixed(1)),
  };
  for (const f of writeReports(r, meta, args.out as string)) console.log(`wrote ${f}`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  runMain('cl-cifar-svhn', main);
}
