// Many seeds: run one experiment under several seeds (and, where it matters, class orders) and
// report every metric as mean ± std over the seeds, keeping the per-seed values.
//
// The std is the SAMPLE standard deviation (Bessel's correction, divisor n - 1), the usual error
// bar of "mean ± std over n seeds" in continual-learning papers (and what numpy's std(ddof=1) and
// torch.std give). With a single seed it is undefined and reported as NaN, never as 0.
//
//   const r = await runSeeds([0, 1, 2, 3, 4], (seed) => runScenario(makeStrategy(seed), tasks));
//   r.averageAccuracy   // { mean, std, n, perSeed: [...] }
//   r.accuracyMatrix    // { mean: R-bar[i][j], std: s[i][j] }
//
// `runScenarioSeeds(seeds, makeStrategy, tasks)` is the same for the common case, with the tasks
// optionally a function of the seed (a seeded class order: `shuffledClassOrder`).

import { EngramError } from '../engine/runtime.js';
import { Generator } from '../engine/random.js';
import type { GpuTransform } from '../data/transforms.js';
import type { Task } from './scenarios.js';
import { runScenario, type EvaluationSetting, type ScenarioResult, type Strategy } from './strategy.js';

/** One metric over seeds: mean, sample std (n - 1; NaN for one seed), the number of seeds and each seed's value. */
export interface SeedStat {
  /** Arithmetic mean over the seeds. */
  mean: number;
  /** Sample standard deviation (divisor n - 1); NaN when n < 2. */
  std: number;
  /** Number of seeds. */
  n: number;
  /** The value of each seed, in the order of `seeds`. */
  perSeed: number[];
}

/** Mean and sample standard deviation (divisor n - 1; NaN for fewer than two values). Throws on an empty list or a non-finite value. */
export function meanStd(values: readonly number[]): SeedStat {
  const n = values.length;
  if (n === 0) throw new EngramError('meanStd: needs at least one value');
  values.forEach((v, i) => {
    if (!Number.isFinite(v)) throw new EngramError(`meanStd: value ${i} is ${v}, not a finite number`);
  });
  const mean = values.reduce((a, b) => a + b, 0) / n;
  // Two-pass: the sum of squared deviations from the mean (no cancellation).
  const ss = values.reduce((a, v) => a + (v - mean) * (v - mean), 0);
  return { mean, std: n < 2 ? NaN : Math.sqrt(ss / (n - 1)), n, perSeed: [...values] };
}

/** Element-by-element mean and sample standard deviation of equally shaped matrices. */
export interface MatrixMeanStd {
  /** Mean over the seeds, per element. */
  mean: number[][];
  /** Sample standard deviation (divisor n - 1) over the seeds, per element; NaN for one seed. */
  std: number[][];
}

/** Element-wise mean and sample std of equally shaped matrices (one per seed). */
export function matrixMeanStd(matrices: readonly (readonly (readonly number[])[])[]): MatrixMeanStd {
  if (matrices.length === 0) throw new EngramError('matrixMeanStd: needs at least one matrix');
  const first = matrices[0]!;
  matrices.forEach((m, s) => {
    if (m.length !== first.length || m.some((row, i) => row.length !== first[i]!.length)) {
      throw new EngramError(`matrixMeanStd: matrix ${s} is shaped differently from matrix 0 (${first.length} rows)`);
    }
  });
  const stats = first.map((row, i) => row.map((_, j) => meanStd(matrices.map((m) => m[i]![j]!))));
  return { mean: stats.map((row) => row.map((s) => s.mean)), std: stats.map((row) => row.map((s) => s.std)) };
}

/** One strategy's results over several seeds: every metric of `ScenarioResult` as mean ± std, plus each seed's full result. */
export interface SeededScenarioResult {
  /** The strategy's name (of the first seed's result). */
  strategy: string;
  /** The seeds, in run order. */
  seeds: number[];
  /** Element-wise mean and sample std of the accuracy matrices. */
  accuracyMatrix: MatrixMeanStd;
  /** Final average accuracy over the seeds. */
  averageAccuracy: SeedStat;
  /** Average incremental accuracy over the seeds. */
  averageIncrementalAccuracy: SeedStat;
  /** Forgetting over the seeds. */
  forgetting: SeedStat;
  /** Backward transfer over the seeds. */
  backwardTransfer: SeedStat;
  /** Total training seconds (all tasks) over the seeds. */
  trainSeconds: SeedStat;
  /** Exemplars held at the end, over the seeds (absent when no seed reports a memory). */
  memoryExemplars?: SeedStat;
  /** Stored bytes at the end, over the seeds (absent when no seed reports a memory). */
  memoryBytes?: SeedStat;
  /** Each seed's full result, in the order of `seeds`. */
  perSeed: ScenarioResult[];
}

/** Aggregate one strategy's per-seed results (same number of tasks each) into mean ± std. */
export function aggregateSeeds(seeds: readonly number[], results: readonly ScenarioResult[]): SeededScenarioResult {
  if (results.length === 0) throw new EngramError('aggregateSeeds: needs at least one result');
  if (seeds.length !== results.length) throw new EngramError(`aggregateSeeds: ${seeds.length} seeds but ${results.length} results`);
  const names = new Set(results.map((r) => r.strategy));
  if (names.size > 1) throw new EngramError(`aggregateSeeds: the results come from different strategies (${[...names].join(', ')}); aggregate each separately`);
  const stat = (f: (r: ScenarioResult) => number): SeedStat => meanStd(results.map(f));
  const hasMemory = results.some((r) => r.memory !== undefined);
  return {
    strategy: results[0]!.strategy,
    seeds: [...seeds],
    accuracyMatrix: matrixMeanStd(results.map((r) => r.accuracyMatrix)),
    averageAccuracy: stat((r) => r.averageAccuracy),
    averageIncrementalAccuracy: stat((r) => r.averageIncrementalAccuracy),
    forgetting: stat((r) => r.forgetting),
    backwardTransfer: stat((r) => r.backwardTransfer),
    trainSeconds: stat((r) => r.trainSeconds.reduce((a, b) => a + b, 0)),
    ...(hasMemory ? { memoryExemplars: stat((r) => r.memory?.exemplars ?? 0), memoryBytes: stat((r) => r.memory?.bytes ?? 0) } : {}),
    perSeed: [...results],
  };
}

function checkSeeds(seeds: readonly number[], fn: string): void {
  if (seeds.length === 0) throw new EngramError(`${fn}: needs at least one seed`);
  for (const s of seeds) if (!Number.isInteger(s)) throw new EngramError(`${fn}: seeds must be integers, got ${s}`);
  if (new Set(seeds).size !== seeds.length) throw new EngramError(`${fn}: the seeds repeat (${seeds.join(', ')}); a repeated seed would count one run twice`);
}

/**
 * Run `run(seed, i)` for each seed in turn (sequentially: they share the GPU) and aggregate the
 * results into mean ± std (sample std, n - 1) with the per-seed values.
 */
export async function runSeeds(seeds: readonly number[], run: (seed: number, index: number) => Promise<ScenarioResult>): Promise<SeededScenarioResult> {
  checkSeeds(seeds, 'runSeeds');
  const results: ScenarioResult[] = [];
  for (let i = 0; i < seeds.length; i++) results.push(await run(seeds[i]!, i));
  return aggregateSeeds(seeds, results);
}

/** Options of `runScenarioSeeds()`: those of `runScenario()`, with a per-seed progress callback. */
export interface SeededRunOptions {
  /** Deterministic transform of the test images (as in runScenario). */
  evalTransform?: GpuTransform;
  /** Test batch size (as in runScenario). */
  evalBatchSize?: number;
  /** Called after each row of each seed's accuracy matrix. */
  onTask?: (seed: number, i: number, row: number[]) => void;
  /** 'class-incremental' (default) or 'task-incremental' (as in runScenario). */
  setting?: EvaluationSetting;
  /** Called after each seed's run. */
  onSeed?: (seed: number, result: ScenarioResult) => void;
}

/**
 * `runScenario` over several seeds: `makeStrategy(seed)` builds a fresh strategy (seed its model's
 * initialization inside, e.g. with manualSeed(seed)), `tasks` is the scenario or a function of the
 * seed (for a seeded class order). Each strategy is disposed after its run.
 */
export async function runScenarioSeeds(
  seeds: readonly number[],
  makeStrategy: (seed: number) => Strategy,
  tasks: readonly Task[] | ((seed: number) => readonly Task[]),
  opts: SeededRunOptions = {},
): Promise<SeededScenarioResult> {
  return runSeeds(seeds, async (seed) => {
    const strategy = makeStrategy(seed);
    try {
      const ts = typeof tasks === 'function' ? tasks(seed) : tasks;
      const r = await runScenario(strategy, ts, {
        evalTransform: opts.evalTransform,
        evalBatchSize: opts.evalBatchSize,
        setting: opts.setting,
        onTask: opts.onTask ? (i, row) => opts.onTask!(seed, i, row) : undefined,
      });
      opts.onSeed?.(seed, r);
      return r;
    } finally {
      strategy.dispose?.();
    }
  });
}

/** A seeded random order of `classes` (Fisher-Yates with engram's Generator), e.g. for a class-order seed. */
export function shuffledClassOrder(classes: readonly number[], seed: number): number[] {
  if (!Number.isInteger(seed)) throw new EngramError(`shuffledClassOrder: seed must be an integer, got ${seed}`);
  const perm = new Generator(seed).permutation(classes.length);
  return Array.from(perm, (i) => classes[i]!);
}

/** Split a class order into consecutive tasks of `perTask` classes (the last may be smaller). */
export function chunkClasses(order: readonly number[], perTask: number): number[][] {
  if (!Number.isInteger(perTask) || perTask < 1) throw new EngramError(`chunkClasses: perTask must be a positive integer, got ${perTask}`);
  const out: number[][] = [];
  for (let i = 0; i < order.length; i += perTask) out.push(order.slice(i, i + perTask));
  return out;
}

/** "mean ± std" in percent of a fraction-valued stat (e.g. "40.81 ± 1.23"); a single seed gives "40.81 (1 seed)". */
export function formatPercentStat(s: SeedStat, digits = 2): string {
  const m = (s.mean * 100).toFixed(digits);
  return Number.isFinite(s.std) ? `${m} ± ${(s.std * 100).toFixed(digits)}` : `${m} (1 seed)`;
}

/** Seeds from text: comma-separated integers and inclusive ranges, e.g. "0-4,7" -> [0, 1, 2, 3, 4, 7]. Throws on a repeat or a malformed item. */
export function parseSeeds(text: string): number[] {
  const out: number[] = [];
  for (const part of text.split(',').map((s) => s.trim()).filter(Boolean)) {
    const m = /^(-?\d+)(?:-(-?\d+))?$/.exec(part);
    if (!m) throw new EngramError(`parseSeeds: '${part}' is not an integer or a range a-b`);
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    if (b < a) throw new EngramError(`parseSeeds: the range '${part}' is empty`);
    if (b - a > 100_000) throw new EngramError(`parseSeeds: the range '${part}' is too long`);
    for (let s = a; s <= b; s++) out.push(s);
  }
  if (out.length === 0) throw new EngramError('parseSeeds: needs at least one seed');
  if (new Set(out).size !== out.length) throw new EngramError(`parseSeeds: '${text}' repeats a seed`);
  return out;
}
