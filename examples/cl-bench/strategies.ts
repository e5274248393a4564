// The strategies of the continual-learning benchmark table (examples/cl-benchmarks.ts), each built the
// same way: a fresh shared MLP under the run's seed, the shared optimizer settings, and the strategy's
// own hyperparameters stated here (they are part of the protocol the table reports).
//
// Shared model: BenchMLP, 784 -> 256 -> ReLU -> 256 -> ReLU -> 10 (a Linear classifier on 256 features);
// with --model multi-head, benchMultiHeadMLP: the same body and one Linear head per task (MultiTaskModel),
// run by the strategies marked `multiHead` (task-incremental setting only).
// Shared training: SGD (lr, momentum from the command line), batch size, epochs per task.
// Replay memory: every method that keeps exemplars keeps at most --memory (default 500) of them in all.
// To add a strategy: add an entry to STRATEGIES (name -> description, make, scenarios it supports).
// A module of cl-benchmarks (and cl-online), not an example itself: it lives in examples/cl-bench/ so that
// `npm run example` does not list it.

import * as E from '../../src/index.js';
import type { GpuTransform } from '../../src/data/index.js';
import { MultiTaskModel, type Strategy, type Task } from '../../src/cl/index.js';
import { UsageError } from '../util.js';
import {
  Naive, ExperienceReplay, EWC, SI, LwF, Cumulative, JointTraining, ICaRL, NCMReplay, GaussianHeadStrategy,
  DER, ERACE, AGEM, GDumb, MIR, WA, BiC,
} from '../../src/cl/strategies/index.js';

/** The shared benchmark model: a two-hidden-layer MLP on flattened 28x28 images. */
export class BenchMLP extends E.Classifier {
  readonly body: E.Sequential;
  constructor(inputs = 784, hidden = 256, numClasses = 10) {
    super();
    this.body = this.registerModule('features', new E.Sequential(new E.Flatten(), new E.Linear(inputs, hidden), new E.ReLU(), new E.Linear(hidden, hidden), new E.ReLU()));
    this.registerModule('classifier', new E.Linear(hidden, numClasses));
  }
  features(x: E.Tensor): E.Tensor {
    return this.body.forward(x);
  }
}

/**
 * The multi-head benchmark model: BenchMLP's body (inputs -> hidden -> ReLU -> hidden -> ReLU, state-dict keys
 * `features.1.*`, `features.3.*` as BenchMLP's) and one Linear(hidden, task's classes) head per task
 * (`heads.<taskId>.*`), created when the task is first seen.
 */
export function benchMultiHeadMLP(inputs = 784, hidden = 256): MultiTaskModel {
  return new MultiTaskModel(new E.Sequential(new E.Flatten(), new E.Linear(inputs, hidden), new E.ReLU(), new E.Linear(hidden, hidden), new E.ReLU()), hidden);
}

/** What every strategy of a run shares. */
export interface BenchSettings {
  /** SGD learning rate. */
  lr: number;
  /** SGD momentum. */
  momentum: number;
  /** Stream batch size. */
  batchSize: number;
  /** Epochs per task. */
  epochs: number;
  /** Replay memory size in exemplars, in all (every method that keeps exemplars). */
  memory: number;
  /** The scenario's tasks (JointTraining needs them all). */
  tasks: readonly Task[];
  /** Deterministic transform of every image, train and test (the normalization). */
  transform?: GpuTransform;
  /** Build the model (default: BenchMLP); the tiny smoke test passes a smaller one. */
  model?: () => E.Classifier;
}

/** A strategy's numeric hyperparameters by name (the registry's defaults, or a run's `--set` values). */
export type BenchParams = Readonly<Record<string, number>>;

/** One benchmark strategy. */
export interface BenchStrategy {
  /** The hyperparameters `--set` may change, with the values the table uses (absent: none are tunable here). */
  params?: BenchParams;
  /** One line: the strategy and its hyperparameters, for the table's notes. */
  describe: (s: BenchSettings, p: BenchParams) => string;
  /** A fresh strategy (model initialized under E.manualSeed(seed) by the caller). */
  make: (seed: number, s: BenchSettings, p: BenchParams) => Strategy;
  /** Whether it runs on domain-incremental scenarios (the same classes in every task). Default true. */
  domain?: boolean;
  /** Whether it trains a multi-head model (--model multi-head): every exemplar or distillation through its task's head. Default false. */
  multiHead?: boolean;
}

/** BiC's validation share of the memory: a tenth (Wu et al. split exemplars 9:1 into training and validation). */
const bicVal = (s: BenchSettings): number => Math.max(1, Math.round(s.memory / 10));
const model = (s: BenchSettings): E.Classifier => (s.model ? s.model() : new BenchMLP());
const sgd = (s: BenchSettings) => ({ lr: s.lr, momentum: s.momentum, batchSize: s.batchSize, epochs: s.epochs, transform: s.transform });

/** The registry: every strategy the benchmark table can run, by name. */
export const STRATEGIES: Record<string, BenchStrategy> = {
  naive: {
    describe: () => 'Naive fine-tuning (cross-entropy, nothing against forgetting)',
    make: (seed, s) => new Naive({ model: model(s), ...sgd(s), seed }),
    multiHead: true,
  },
  er: {
    describe: (s) => `Experience replay: reservoir memory of ${s.memory} exemplars updated online, one memory batch of the stream batch's size per step (loss = stream CE + memory CE)`,
    make: (seed, s) => new ExperienceReplay({ model: model(s), ...sgd(s), seed, capacity: s.memory }),
    multiHead: true,
  },
  ewc: {
    params: { lambda: 100 },
    describe: (_s, p) => `EWC, lambda ${p.lambda}, one penalty per past task (separate), empirical Fisher`,
    make: (seed, s, p) => new EWC({ model: model(s), ...sgd(s), seed, lambda: p.lambda! }),
    multiHead: true,
  },
  si: {
    params: { lambda: 1, eps: 1e-7, clip: 0.001 },
    describe: (_s, p) => `Synaptic Intelligence, lambda ${p.lambda} (penalty lambda/2 sum Omega (theta - theta*)^2), xi ${p.eps}, Omega clamped to [0, ${p.clip}] (Avalanche's eps and clip_to)`,
    make: (seed, s, p) => new SI({ model: model(s), ...sgd(s), seed, lambda: p.lambda!, eps: p.eps!, clip: p.clip! }),
    multiHead: true,
  },
  lwf: {
    params: { alpha: 1, temperature: 2 },
    describe: (_s, p) => `Learning without Forgetting, alpha ${p.alpha}, temperature ${p.temperature}`,
    make: (seed, s, p) => new LwF({ model: model(s), ...sgd(s), seed, alpha: p.alpha!, temperature: p.temperature! }),
    multiHead: true,
  },
  cumulative: {
    describe: () => 'Cumulative: retrain on all tasks so far at each task (keeps all data; upper reference)',
    make: (seed, s) => new Cumulative({ model: model(s), ...sgd(s), seed }),
  },
  joint: {
    describe: () => 'Joint training on the union of all tasks, once (offline upper bound)',
    make: (seed, s) => new JointTraining({ model: model(s), ...sgd(s), seed, tasks: s.tasks }),
  },
  icarl: {
    describe: (s) => `iCaRL: ${s.memory} herding exemplars in all, BCE + distillation, nearest-mean-of-exemplars prediction`,
    make: (seed, s) => new ICaRL({ model: model(s), ...sgd(s), evalTransform: s.transform, seed, memorySize: s.memory }),
    domain: false, // iCaRL's tasks must bring new classes
  },
  'ncm-er': {
    describe: (s) => `NCM-ER: ER as above (${s.memory} exemplars), prediction by the nearest class mean of the features`,
    make: (seed, s) => new NCMReplay({ model: model(s), ...sgd(s), evalTransform: s.transform, seed, capacity: s.memory }),
  },
  gaussian: {
    describe: () => 'Gaussian head: features trained on task 0 only, then a streaming LDA head (shared covariance) fitted per task',
    make: (seed, s) => new GaussianHeadStrategy({ model: model(s), ...sgd(s), evalTransform: s.transform, seed }),
  },
  der: {
    params: { alpha: 0.1 },
    describe: (s, p) => `DER: reservoir memory of ${s.memory} exemplars with their logits, alpha ${p.alpha} x logit MSE on one memory batch per step (Avalanche's default alpha 0.1)`,
    make: (seed, s, p) => new DER({ model: model(s), ...sgd(s), seed, capacity: s.memory, alpha: p.alpha!, beta: 0 }),
  },
  derpp: {
    params: { alpha: 0.1, beta: 0.5 },
    describe: (s, p) => `DER++: DER (${s.memory} exemplars, alpha ${p.alpha}) plus beta ${p.beta} x CE on a second memory batch (Avalanche's defaults alpha 0.1, beta 0.5)`,
    make: (seed, s, p) => new DER({ model: model(s), ...sgd(s), seed, capacity: s.memory, alpha: p.alpha!, beta: p.beta!, name: 'der++' }),
  },
  'er-ace': {
    describe: (s) => `ER-ACE: ER as above (${s.memory} exemplars, reservoir), stream CE over the classes in the stream batch, memory CE over all seen (Avalanche's ER_ACE)`,
    make: (seed, s) => new ERACE({ model: model(s), ...sgd(s), seed, capacity: s.memory, streamClasses: 'batch' }),
  },
  agem: {
    params: { sampleSize: 64 },
    describe: (s, p) => `A-GEM: ${Math.floor(s.memory / Math.max(1, s.tasks.length))} random images per task (${s.memory} over the ${s.tasks.length} tasks), reference gradient on ${p.sampleSize} of them per step (Avalanche's sample_size default 64)`,
    make: (seed, s, p) => new AGEM({ model: model(s), ...sgd(s), seed, patternsPerExperience: Math.max(1, Math.floor(s.memory / Math.max(1, s.tasks.length))), sampleSize: p.sampleSize! }),
  },
  gdumb: {
    describe: (s) => `GDumb: greedy class-balanced memory of ${s.memory} exemplars; the model is reset and trained from scratch on the memory at each task (same epochs)`,
    make: (seed, s) => new GDumb({ model: model(s), ...sgd(s), seed, capacity: s.memory }),
  },
  mir: {
    describe: (s) => `MIR: ER as above (${s.memory} exemplars), memory batch = the batch-size most interfered of 5 x batch-size random candidates (virtual step at the lr)`,
    make: (seed, s) => new MIR({ model: model(s), ...sgd(s), seed, capacity: s.memory }),
  },
  wa: {
    describe: (s) => `WA: ER as above (${s.memory} exemplars) plus weight aligning of the new classes' classifier rows after each task (Zhao et al. 2020)`,
    make: (seed, s) => new WA({ model: model(s), ...sgd(s), seed, capacity: s.memory }),
  },
  bic: {
    params: { biasSteps: 200, biasLr: 0.1 },
    describe: (s, p) => `BiC: ER with ${s.memory - bicVal(s)} replay + ${bicVal(s)} held-out validation exemplars (${s.memory} in all, Wu et al.'s 9:1 split), bias layer fitted by ${p.biasSteps} GD steps of lr ${p.biasLr} per task; no distillation term`,
    make: (seed, s, p) => new BiC({ model: model(s), ...sgd(s), seed, capacity: s.memory - bicVal(s), valCapacity: bicVal(s), biasSteps: p.biasSteps!, biasLr: p.biasLr! }),
  },
};

/** The registry's names, in table order. */
export const STRATEGY_NAMES = Object.keys(STRATEGIES);


/**
 * The shared optimizer settings `--set` may change for one strategy (`agem.momentum=0`: A-GEM under plain SGD
 * while the others keep the shared momentum), beside the strategy's own `params`.
 */
export const SHARED_TUNABLE = ['lr', 'momentum'] as const;

/** `--set` values: strategy name -> hyperparameter -> the values to run (one row per combination). */
export type BenchOverrides = Readonly<Record<string, Readonly<Record<string, readonly number[]>>>>;

/**
 * Parse `--set`: comma-separated `strategy.param=value` items, where value may list several numbers separated
 * by `|` (a sweep: one row per value, or per combination when several parameters of a strategy are swept), e.g.
 * `ewc.lambda=10|100|1000,si.lambda=10`. Every strategy must be one of `strategies` (the run's) and every
 * parameter one the registry lists for it; anything else throws, naming the item and what is allowed.
 */
export function parseOverrides(spec: string, strategies: readonly string[]): BenchOverrides {
  const out: Record<string, Record<string, number[]>> = {};
  if (spec.trim() === '') return out;
  for (const item of spec.split(',')) {
    const m = /^\s*([\w-]+)\.(\w+)\s*=\s*(.+?)\s*$/.exec(item);
    if (!m) throw new UsageError(`--set: '${item}' is not strategy.param=value (e.g. ewc.lambda=1000 or ewc.lambda=10|100)`);
    const [, name, param, values] = m as unknown as [string, string, string, string];
    const entry = STRATEGIES[name];
    if (!entry) throw new UsageError(`--set ${item}: unknown strategy '${name}'; the registry has ${STRATEGY_NAMES.join(', ')}`);
    if (!strategies.includes(name)) throw new UsageError(`--set ${item}: '${name}' is not among the strategies run (${strategies.join(', ')}); add it to --strategies`);
    const tunable = [...Object.keys(entry.params ?? {}), ...SHARED_TUNABLE];
    if (!tunable.includes(param)) throw new UsageError(`--set ${item}: ${name} has no parameter '${param}'; it takes ${tunable.join(', ')}`);
    if (out[name]?.[param]) throw new UsageError(`--set ${item}: ${name}.${param} is set twice; list several values as ${name}.${param}=a|b`);
    const nums = values.split('|').map((v) => {
      const x = Number(v.trim());
      if (v.trim() === '' || !Number.isFinite(x)) throw new UsageError(`--set ${item}: '${v}' is not a finite number`);
      return x;
    });
    (out[name] ??= {})[param] = nums;
  }
  return out;
}

/** One row of a run: a registry strategy under one set of hyperparameters. */
export interface BenchVariant {
  /** The row's name: the registry name, plus the changed values in parentheses when `--set` changed any. */
  label: string;
  /** The strategy's own hyperparameters: the registry's defaults with the overrides applied (lr and momentum, when set, too). */
  params: BenchParams;
  /** Only the values `--set` changed (empty for the registry's own row). */
  changed: BenchParams;
}

/** The shared settings of one variant: `s` with the variant's `lr` / `momentum` overrides applied. */
export function variantSettings(s: BenchSettings, v: BenchVariant): BenchSettings {
  return { ...s, ...(v.changed.lr !== undefined ? { lr: v.changed.lr } : {}), ...(v.changed.momentum !== undefined ? { momentum: v.changed.momentum } : {}) };
}

/** The rows a strategy runs as: one with the registry's values, or one per combination of its `--set` values. */
export function strategyVariants(name: string, overrides: BenchOverrides = {}): BenchVariant[] {
  const defaults = STRATEGIES[name]?.params ?? {};
  const set = overrides[name] ?? {};
  let combos: Record<string, number>[] = [{}];
  for (const [param, values] of Object.entries(set)) combos = combos.flatMap((c) => values.map((v) => ({ ...c, [param]: v })));
  return combos.map((changed) => {
    const keys = Object.keys(changed);
    return {
      label: keys.length ? `${name} (${keys.map((k) => `${k}=${changed[k]}`).join(', ')})` : name,
      params: { ...defaults, ...changed },
      changed,
    };
  });
}
