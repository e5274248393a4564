// iCaRL's compression study as a preset: does storing exemplars more compactly buy accuracy when the
// memory is a fixed number of BYTES? The source (a report on iCaRL) ran CIFAR-100 in 10 steps of 10
// classes with K = 2000 exemplars, herding and nearest-mean-of-exemplars classification, and compared
// exemplars stored as zlib-compressed tensors (~60% smaller), downscaled to 16x16 (4x the exemplars)
// and fp16 (2x), plotting accuracy against the number of classes.
//
// Here: iCaRL (src/cl/strategies/icarl.ts: herding, BCE + distillation, nearest mean of exemplars)
// class-incremental, with the SAME byte budget for every format: --budget-images float32 images'
// worth of bytes (default 200: 627,200 bytes on 1 x 28 x 28 images), given to iCaRL as memoryBytes:
// each of the c classes seen holds floor(budget / c) stored bytes, the longest prefix of its herding
// order that fits, so every format holds as many exemplars as fit and none exceeds the budget:
//   float32, fp16, uint8 : K = floor(budget / stored bytes of one exemplar) (1x, 2x, 4x float32's K);
//   deflate              : float32 exemplars deflated one by one (the report's zlib); a deflated
//                          exemplar's size depends on the image, so the count held follows the images
//                          herding picks (the K printed and tabled is an estimate, budget / mean
//                          deflated size of --calibration-images seeded training images; the
//                          exemplars and bytes actually held are reported beside it);
//   downscale            : float32 exemplars stored at half the side (14 x 14 for Fashion-MNIST, 16 x 16
//                          for CIFAR, block means), resized back (bilinear) on the GPU when replayed
//                          and when the class means are computed (4x float32's K);
//   uint8-deflate, uint8-downscale : the two combined with uint8 (not in the default list).
// For the uncompressed formats memoryBytes is exactly memorySize K (K / (classes seen) per class).
//
// Data: --data fashion-mnist (default), the full training and test sets, 5 tasks of 2 classes
// ({0,1}, {2,3}, ...): Fashion-MNIST has 10 classes, so the report's 10 steps would leave one class per
// step. --data cifar100 --cifar100 <folder> (the binary version: cifar-100-binary/ or
// cifar-100-binary.tar.gz) runs the report's split, 10 tasks of 10 fine classes; pass --budget-images
// 2000 for its K = 2000 in float32. Class order: label order. Inputs are pixels / 255 normalized by the
// training set's per-channel mean and std.
// Model: BenchMLP (examples/cl-bench/strategies.ts), C*H*W -> 256 -> 256 -> classes, ReLU: the report
// used a ResNet-32, which a software GPU cannot train over 15 runs of full Fashion-MNIST in reasonable
// time; the MLP keeps one run near a few minutes there. SGD lr 0.01 momentum 0.9, batch 64, 1 epoch
// per task (--lr, --momentum, --batch, --epochs).
// Reported per format, mean ± sample std over --seeds (default 0-2): exemplars held, bytes held, final
// accuracy over all classes (sample-weighted, the iCaRL/PyCIL convention) and the accuracy-versus-
// classes curve. Writes examples/out/cl-icarl-compression-<data>.{json,md,html}.
// --train-per-task / --test-per-task take seeded random subsets: a reduced run, for timing or smoke tests.
//
//   npm run example -- cl-icarl-compression [--data fashion-mnist|cifar100] [--seeds 0-2]
//        [--formats float32,fp16,uint8,deflate,downscale] [--budget-images 200] [--classes-per-task 0]
//        [--epochs 1] [--lr 0.01] [--momentum 0.9] [--batch 64] [--hidden 256]
//        [--train-per-task 0] [--test-per-task 0] [--calibration-images 1000] [--fashion <dir>] [--cifar100 <dir>]

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as E from '../src/index.js';
import { loadFashionMNIST, loadCIFAR100 } from '../src/data/node.js';
import { normalize, type GpuTransform, type ImageDataset } from '../src/data/index.js';
import {
  classIncremental, runScenarioSeeds, meanStd, formatPercentStat, parseSeeds, createExemplarStore, seededReportJSON,
  seededScenarioReportHTML, errorBarCurvesSVG,
  type ExemplarFormat, type SeededScenarioResult, type SeedStat, type Task,
} from '../src/cl/index.js';
import { ICaRL } from '../src/cl/strategies/index.js';
import { BenchMLP } from './cl-bench/strategies.js';
import { exampleArgs, listOption, runMain, formatTable, UsageError } from './util.js';

/** How one format stores an exemplar. */
export interface FormatSpec {
  /** Element format. */
  format: ExemplarFormat;
  /** Deflate each exemplar. */
  compress?: boolean;
  /** Store downscaled by this factor. */
  downscale?: number;
}

/** The formats this preset compares (the first five are the default list). */
export const FORMAT_SPECS = {
  float32: { format: 'float32' },
  fp16: { format: 'fp16' },
  uint8: { format: 'uint8' },
  deflate: { format: 'float32', compress: true },
  downscale: { format: 'float32', downscale: 2 },
  'uint8-deflate': { format: 'uint8', compress: true },
  'uint8-downscale': { format: 'uint8', downscale: 2 },
} as const satisfies Record<string, FormatSpec>;

/** A format's name. */
export type FormatName = keyof typeof FORMAT_SPECS;

/** Every format name, default ones first. */
export const FORMAT_NAMES = Object.keys(FORMAT_SPECS) as FormatName[];

/** Settings of a run. */
export interface CompressionSettings {
  /** Formats to compare. */
  formats: readonly FormatName[];
  /** Seeds (model initialization, shuffles). */
  seeds: readonly number[];
  /** The byte budget in float32 images' worth of bytes. */
  budgetImages: number;
  /** Classes per task (consecutive labels). */
  classesPerTask: number;
  /** SGD settings and epochs per task. */
  lr: number;
  momentum: number;
  batchSize: number;
  epochs: number;
  /** Seeded random subset of each task's training / test images (0 or undefined: all). */
  trainPerTask?: number;
  testPerTask?: number;
  /** Training images whose mean deflated size sets a compressed format's K (default 1000). */
  calibrationImages?: number;
  /** The model for `inputs` values and `classes` outputs (default BenchMLP(inputs, hidden, classes)). */
  model?: (inputs: number, classes: number) => E.Classifier;
  /** BenchMLP's hidden width (default 256). */
  hidden?: number;
  /** Progress lines. */
  log?: (line: string) => void;
}

/** One format's outcome over the seeds. */
export interface FormatOutcome {
  /** The format's name. */
  name: FormatName;
  /** How it stores an exemplar. */
  spec: FormatSpec;
  /** Bytes of one exemplar: exact when uncompressed, the calibration sample's mean when deflated. */
  bytesPerExemplar: number;
  /** Whether bytesPerExemplar (so K) is an estimate (compressed formats). */
  estimated: boolean;
  /** K = floor(budget / bytesPerExemplar): exact uncompressed, an estimate when deflated (iCaRL gets the budget in bytes). */
  memorySize: number;
  /** Per-seed results (strategy name 'icarl/<format>'). */
  seeded: SeededScenarioResult;
  /** Exemplars and stored bytes held at the end. */
  heldExemplars: SeedStat;
  heldBytes: SeedStat;
  /** Accuracy over every test image of all classes after the last task (sample-weighted). */
  finalAccuracy: SeedStat;
  /** Accuracy against the number of classes seen (sample-weighted), mean and std per stage. */
  curve: { classes: number[]; mean: number[]; std: number[] };
}

/** The whole study: the budget and one outcome per format. */
export interface CompressionResult {
  /** The byte budget every format shares. */
  budgetBytes: number;
  /** The tasks' class lists. */
  taskClasses: number[][];
  /** Training / test images per task. */
  trainSizes: number[];
  testSizes: number[];
  /** One entry per format, in the order asked. */
  outcomes: FormatOutcome[];
}

/** A seeded random subset of n images in dataset order (all when n is 0 or not below the size). */
function randomSubset(ds: ImageDataset, n: number | undefined, seed: number): ImageDataset {
  if (!n || n >= ds.length) return ds;
  const idx = Array.from(new E.Generator(seed).permutation(ds.length).subarray(0, n)).sort((a, b) => a - b);
  return ds.subset(idx);
}

/** Per-channel mean and std of a dataset's pixels / 255 (float64 sums). */
export function channelStats(ds: ImageDataset): { mean: number[]; std: number[] } {
  const C = ds.channels;
  const hw = ds.height * ds.width;
  const sum = new Float64Array(C);
  const sq = new Float64Array(C);
  const img = ds.images;
  for (let i = 0; i < ds.length; i++) {
    for (let c = 0; c < C; c++) {
      const off = (i * C + c) * hw;
      for (let k = 0; k < hw; k++) {
        const v = img[off + k]! / 255;
        sum[c]! += v;
        sq[c]! += v * v;
      }
    }
  }
  const n = ds.length * hw;
  const mean = Array.from(sum, (s) => s / n);
  return { mean, std: Array.from(sq, (s, c) => Math.sqrt(Math.max(1e-12, s / n - mean[c]! ** 2))) };
}

/**
 * K for a format at `budgetBytes`: exact for uncompressed formats; for compressed ones from the mean
 * stored size of `calibrationImages` seeded images of `train` (deflate sizes depend on the image).
 */
export function exemplarsInBudget(spec: FormatSpec, train: ImageDataset, budgetBytes: number, calibrationImages = 1000): { memorySize: number; bytesPerExemplar: number; estimated: boolean } {
  const store = createExemplarStore({ shape: [train.channels, train.height, train.width], ...spec });
  if (!spec.compress) return { memorySize: store.capacityFor(budgetBytes), bytesPerExemplar: store.bytesPerExemplar, estimated: false };
  const sample = new E.Generator(12345).permutation(train.length).subarray(0, Math.min(calibrationImages, train.length));
  for (const i of sample) store.add(train.image(i), train.labels[i]!);
  const mean = store.bytes / store.size;
  return { memorySize: Math.floor(budgetBytes / mean), bytesPerExemplar: mean, estimated: true };
}

/** The class-incremental tasks: consecutive labels, `perTask` at a time, optionally subsets. */
export function compressionTasks(train: ImageDataset, test: ImageDataset, s: Pick<CompressionSettings, 'classesPerTask' | 'trainPerTask' | 'testPerTask'>): Task[] {
  const labels = [...new Set(Array.from(train.labels))].sort((a, b) => a - b);
  if (labels.length % s.classesPerTask !== 0) throw new Error(`cl-icarl-compression: ${labels.length} classes do not split into tasks of ${s.classesPerTask}`);
  const groups: number[][] = [];
  for (let i = 0; i < labels.length; i += s.classesPerTask) groups.push(labels.slice(i, i + s.classesPerTask));
  return classIncremental(train, test, groups).map((t) => ({
    ...t,
    train: randomSubset(t.train, s.trainPerTask, 7000 + t.id),
    test: randomSubset(t.test, s.testPerTask, 7100 + t.id),
  }));
}

/** Run iCaRL once per (format, seed) at the same byte budget. */
export async function runIcarlCompression(data: { train: ImageDataset; test: ImageDataset }, s: CompressionSettings): Promise<CompressionResult> {
  const log = s.log ?? (() => undefined);
  const { train, test } = data;
  const D = train.imageSize;
  const budgetBytes = s.budgetImages * D * 4;
  const tasks = compressionTasks(train, test, s);
  const numClasses = Math.max(...tasks.flatMap((t) => t.classes)) + 1;
  const stats = channelStats(train);
  const norm: GpuTransform = normalize(stats.mean, stats.std);
  const makeModel = s.model ?? ((inputs: number, classes: number) => new BenchMLP(inputs, s.hidden ?? 256, classes));
  const testSizes = tasks.map((t) => t.test.length);
  const outcomes: FormatOutcome[] = [];
  for (const name of s.formats) {
    const spec: FormatSpec = FORMAT_SPECS[name];
    const k = exemplarsInBudget(spec, train, budgetBytes, s.calibrationImages);
    if (k.memorySize < numClasses) throw new Error(`cl-icarl-compression: ${budgetBytes} bytes hold ${k.memorySize} ${name} exemplars, fewer than the ${numClasses} classes; raise --budget-images`);
    log(`${name}: ${k.estimated ? '~' : ''}${k.bytesPerExemplar.toFixed(0)} bytes / exemplar -> K = ${k.memorySize}`);
    const seeded = await runScenarioSeeds(s.seeds, (seed) => {
      E.manualSeed(seed);
      return new ICaRL({
        model: makeModel(D, numClasses), lr: s.lr, momentum: s.momentum, batchSize: s.batchSize, epochs: s.epochs, seed,
        transform: norm, evalTransform: norm, memoryBytes: budgetBytes,
        memoryFormat: spec.format, memoryCompress: spec.compress, memoryDownscale: spec.downscale,
      });
    }, tasks, {
      evalTransform: norm,
      onTask: (seed, i, row) => log(`${name} seed ${seed}: after task ${i}: ${row.slice(0, i + 1).map((v) => `${(v * 100).toFixed(1)}%`).join(' / ')}`),
      onSeed: (_seed, r) => {
        r.strategy = `icarl/${name}`;
      },
    });
    const curves = seeded.perSeed.map((r) => r.accuracyVersusClasses!.sampleWeighted);
    const stages = curves[0]!.map((_, i) => meanStd(curves.map((c) => c[i]!)));
    outcomes.push({
      name, spec, ...k, seeded,
      heldExemplars: meanStd(seeded.perSeed.map((r) => r.memory!.exemplars)),
      heldBytes: meanStd(seeded.perSeed.map((r) => r.memory!.bytes)),
      finalAccuracy: stages[stages.length - 1]!,
      curve: { classes: seeded.perSeed[0]!.accuracyVersusClasses!.classes, mean: stages.map((x) => x.mean), std: stages.map((x) => x.std) },
    });
  }
  return { budgetBytes, taskClasses: tasks.map((t) => [...t.classes]), trainSizes: tasks.map((t) => t.train.length), testSizes, outcomes };
}

/** The settings that make a run reduced (empty: the preset as documented). */
export function reductions(s: CompressionSettings): string[] {
  const r: string[] = [];
  if (s.trainPerTask) r.push(`${s.trainPerTask} training images per task (preset: all)`);
  if (s.testPerTask) r.push(`${s.testPerTask} test images per task (preset: all)`);
  return r;
}

const num = (x: SeedStat, digits = 0): string => (Number.isFinite(x.std) ? `${x.mean.toFixed(digits)} ± ${x.std.toFixed(digits)}` : x.mean.toFixed(digits));

/** Markdown tables: per format the exemplars and bytes held and the final accuracy, then the accuracy-versus-classes curve. */
export function compressionMarkdown(r: CompressionResult): string {
  const o = r.outcomes;
  const main = formatTable(
    ['format', 'bytes / exemplar', 'K', 'exemplars held', 'bytes held', '% of budget', 'final accuracy, all classes (%)'],
    o.map((x) => [x.name, `${x.estimated ? '~' : ''}${x.bytesPerExemplar.toFixed(0)}`, String(x.memorySize), num(x.heldExemplars), num(x.heldBytes),
      (100 * x.heldBytes.mean / r.budgetBytes).toFixed(1), formatPercentStat(x.finalAccuracy)]),
  );
  const classes = o[0]?.curve.classes ?? [];
  const curve = formatTable(
    ['accuracy (%) after classes', ...classes.map(String)],
    o.map((x) => [x.name, ...x.curve.mean.map((m, i) => formatPercentStat({ mean: m, std: x.curve.std[i]!, n: x.seeded.seeds.length, perSeed: [] }))]),
  );
  return `${main}\n\n${curve}`;
}

async function main(): Promise<void> {
  const args = exampleArgs({
    name: 'cl-icarl-compression',
    summary: "iCaRL's compression study: class-incremental iCaRL with exemplars stored as float32, fp16, uint8, deflated or downscaled at the same byte budget, mean ± std over seeds.",
    options: {
      data: { kind: 'string', choices: ['fashion-mnist', 'cifar100'], default: 'fashion-mnist', help: 'full Fashion-MNIST (5 tasks of 2 classes) or CIFAR-100 from --cifar100 (10 tasks of 10)' },
      fashion: { kind: 'string', default: '', help: 'the Fashion-MNIST folder (default: the system copy or the download cache)' },
      cifar100: { kind: 'string', default: '', help: '--data cifar100: a folder with cifar-100-binary/ or cifar-100-binary.tar.gz' },
      formats: { kind: 'string', default: 'float32,fp16,uint8,deflate,downscale', help: `comma-separated, of ${FORMAT_NAMES.join(', ')}` },
      seeds: { kind: 'string', default: '0-2', help: 'seeds, e.g. 0-2 or 0,1,2 (mean ± std over them)' },
      'budget-images': { kind: 'positive-int', default: 200, help: "the memory's byte budget, in float32 images' worth" },
      'classes-per-task': { kind: 'non-negative-int', default: 0, help: 'classes per task (0: 2 for Fashion-MNIST, 10 for CIFAR-100)' },
      epochs: { kind: 'positive-int', default: 1, help: 'epochs per task' },
      lr: { kind: 'positive-number', default: 0.01, help: 'SGD learning rate' },
      momentum: { kind: 'number', default: 0.9, help: 'SGD momentum' },
      batch: { kind: 'positive-int', default: 64, help: 'batch size (new data and exemplars together)' },
      hidden: { kind: 'positive-int', default: 256, help: "BenchMLP's hidden width" },
      'train-per-task': { kind: 'non-negative-int', default: 0, help: "a seeded random subset of each task's training images (0: all; else a reduced run)" },
      'test-per-task': { kind: 'non-negative-int', default: 0, help: "a seeded random subset of each task's test images (0: all; else a reduced run)" },
      'calibration-images': { kind: 'positive-int', default: 1000, help: "training images whose mean deflated size sets a deflated format's K" },
      out: { kind: 'string', default: 'examples/out', help: 'where the JSON, markdown and HTML reports go' },
    },
  });
  const formats = listOption('formats', args.formats as string, FORMAT_NAMES);
  const seeds = parseSeeds(args.seeds as string);
  const cifar = args.data === 'cifar100';
  if (cifar && !args.cifar100) throw new UsageError('--data cifar100 needs --cifar100 <folder> (cifar-100-binary/ or cifar-100-binary.tar.gz in it)');
  const rt = await E.init();
  const adapter = `${rt.info.vendor} / ${rt.info.description}`;
  console.log(`adapter: ${adapter}`);
  const load = (train: boolean) => (cifar
    ? loadCIFAR100(args.cifar100 as string, { train, labels: 'fine' })
    : args.fashion ? loadFashionMNIST(args.fashion as string, { train }) : loadFashionMNIST(undefined, { train }));
  const data = { train: await load(true), test: await load(false) };
  const dataName = cifar ? 'CIFAR-100' : 'Fashion-MNIST';
  const settings: CompressionSettings = {
    formats, seeds, budgetImages: args['budget-images'] as number,
    classesPerTask: (args['classes-per-task'] as number) || (cifar ? 10 : 2),
    lr: args.lr as number, momentum: args.momentum as number, batchSize: args.batch as number, epochs: args.epochs as number,
    hidden: args.hidden as number, trainPerTask: args['train-per-task'] as number, testPerTask: args['test-per-task'] as number,
    calibrationImages: args['calibration-images'] as number, log: (l) => console.log(l),
  };
  const reduced = reductions(settings);
  console.log(reduced.length ? `REDUCED RUN (not the preset): ${reduced.join('; ')}` : 'full data');
  const t0 = performance.now();
  const r = await runIcarlCompression(data, settings);
  const seconds = (performance.now() - t0) / 1000;
  const runs = formats.length * seeds.length;
  const md = compressionMarkdown(r);
  console.log(`\n${md}\n\nbudget ${r.budgetBytes} bytes (${settings.budgetImages} float32 images); ${runs} runs, ${seconds.toFixed(0)} s (${(seconds / runs).toFixed(0)} s a run)`);

  const meta = {
    experiment: `iCaRL compression study, ${dataName}, class-incremental, tasks ${r.taskClasses.map((c) => `{${c.join(',')}}`).join(' ')}`,
    model: `BenchMLP ${data.train.imageSize}-${settings.hidden}-${settings.hidden}-${Math.max(...r.taskClasses.flat()) + 1}`,
    optimizer: `SGD lr ${settings.lr} momentum ${settings.momentum}`, batchSize: settings.batchSize, epochsPerTask: settings.epochs,
    budgetBytes: r.budgetBytes, budgetImages: settings.budgetImages, trainSizes: r.trainSizes, testSizes: r.testSizes,
    seeds, reduced, adapter, seconds: Math.round(seconds), secondsPerRun: Math.round(seconds / runs),
    summary: r.outcomes.map((o) => ({
      format: o.name, spec: o.spec, bytesPerExemplar: o.bytesPerExemplar, estimated: o.estimated, memorySize: o.memorySize,
      heldExemplars: o.heldExemplars, heldBytes: o.heldBytes, finalAccuracy: o.finalAccuracy, accuracyVersusClasses: o.curve,
    })),
  };
  const out = args.out as string;
  mkdirSync(out, { recursive: true });
  const base = join(out, `cl-icarl-compression-${cifar ? 'cifar100' : 'fashion'}`);
  const list = r.outcomes.map((o) => o.seeded);
  writeFileSync(`${base}.json`, seededReportJSON(list, meta));
  writeFileSync(`${base}.md`, `# iCaRL at ${r.budgetBytes} bytes, ${dataName}, seeds ${seeds.join(', ')}${reduced.length ? ` (REDUCED: ${reduced.join('; ')})` : ''}\n\n${md}\n`);
  const svg = errorBarCurvesSVG(r.outcomes[0]!.curve.classes.map(String), r.outcomes.map((o) => ({ label: `${o.name} (K ${o.memorySize})`, mean: o.curve.mean, std: o.curve.std })), {
    title: `iCaRL at ${r.budgetBytes} bytes: accuracy against classes`, xLabel: 'classes seen', yLabel: 'accuracy over the seen classes (%), mean ± std',
  });
  writeFileSync(`${base}.html`, seededScenarioReportHTML(list, {
    title: `iCaRL compression study (${dataName}, ${r.budgetBytes} bytes)`, meta,
    taskLabels: r.taskClasses.map((c) => `{${c.join(',')}}`), figures: [{ heading: 'Accuracy against the number of classes (error bars: ± std)', svg }],
  }));
  console.log(`wrote ${base}.{json,md,html}`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  runMain('cl-icarl-compression', main);
}
