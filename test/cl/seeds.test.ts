// Many seeds: mean ± sample std (n - 1) of every metric against hand-computed values, the runners,
// the seed and class-order helpers, and the error bars in the SVG/HTML reports.
import { describe, it, expect } from 'vitest';
import {
  meanStd, matrixMeanStd, aggregateSeeds, runSeeds, parseSeeds, shuffledClassOrder, chunkClasses, formatPercentStat,
  seenClassesAccuracy, type ScenarioResult,
} from '../../src/cl/index.js';
import { errorBarCurvesSVG, seededAccuracyCurvesSVG, seededScenarioReportHTML, seededReportJSON } from '../../src/cl/report.js';

function result(strategy: string, R: number[][], f: number, secs: number[], memory?: { exemplars: number; bytes: number }): ScenarioResult {
  return { strategy, accuracyMatrix: R, averageAccuracy: (R[1]![0]! + R[1]![1]!) / 2, averageIncrementalAccuracy: 0.5, forgetting: f, backwardTransfer: -f, trainSeconds: secs, memory };
}

describe('meanStd: sample standard deviation over seeds', () => {
  it('matches hand-computed values (divisor n - 1, not n)', () => {
    // [1, 2, 3, 4]: mean 2.5, squared deviations 2.25 + 0.25 + 0.25 + 2.25 = 5, sample var 5/3.
    const s = meanStd([1, 2, 3, 4]);
    expect(s.mean).toBe(2.5);
    expect(s.std).toBeCloseTo(Math.sqrt(5 / 3), 14); // 1.2909944...; the population std would be 1.1180
    expect(s.n).toBe(4);
    expect(s.perSeed).toEqual([1, 2, 3, 4]);
    // Three task-1 accuracies: mean 0.40, deviations 0, +0.02, -0.02 -> var (0.0004 + 0.0004) / 2.
    const a = meanStd([0.40, 0.42, 0.38]);
    expect(a.mean).toBeCloseTo(0.40, 15);
    expect(a.std).toBeCloseTo(0.02, 15);
    expect(formatPercentStat(a)).toBe('40.00 ± 2.00');
  });

  it('one seed has no std (NaN, never 0); empty and non-finite inputs throw', () => {
    const one = meanStd([0.7]);
    expect(one.mean).toBe(0.7);
    expect(Number.isNaN(one.std)).toBe(true);
    expect(formatPercentStat(one)).toBe('70.00 (1 seed)');
    expect(() => meanStd([])).toThrow(/at least one value/);
    expect(() => meanStd([1, NaN])).toThrow(/value 1 is NaN/);
  });

  it('is exact for large equal values (no cancellation)', () => {
    const s = meanStd([1e9 + 1, 1e9 + 1, 1e9 + 1]);
    expect(s.std).toBe(0);
  });

  it('matrices element-wise', () => {
    const { mean, std } = matrixMeanStd([[[1, 0], [0.2, 0.8]], [[0.9, 0], [0.4, 0.6]]]);
    expect(mean[0]![0]).toBeCloseTo(0.95, 15);
    expect(mean[1]).toEqual([expect.closeTo(0.3, 15), expect.closeTo(0.7, 15)]);
    // Two values a, b: sample std |a - b| / sqrt(2).
    expect(std[0]![0]).toBeCloseTo(0.1 / Math.SQRT2, 15);
    expect(std[0]![1]).toBe(0);
    expect(std[1]![0]).toBeCloseTo(0.2 / Math.SQRT2, 15);
    expect(() => matrixMeanStd([[[1]], [[1, 2]]])).toThrow(/shaped differently/);
  });
});

describe('aggregateSeeds / runSeeds', () => {
  const r0 = result('er', [[0.9, 0], [0.40, 0.80]], 0.50, [1, 2], { exemplars: 100, bytes: 400 });
  const r1 = result('er', [[0.8, 0], [0.44, 0.70]], 0.36, [2, 3], { exemplars: 100, bytes: 400 });
  const r2 = result('er', [[1.0, 0], [0.36, 0.90]], 0.64, [3, 4], { exemplars: 100, bytes: 400 });

  it('every metric as mean ± sample std with the per-seed values', () => {
    const a = aggregateSeeds([0, 1, 2], [r0, r1, r2]);
    expect(a.strategy).toBe('er');
    expect(a.seeds).toEqual([0, 1, 2]);
    // R[1][0] = 0.40, 0.44, 0.36: mean 0.40, sample std 0.04.
    expect(a.accuracyMatrix.mean[1]![0]).toBeCloseTo(0.40, 15);
    expect(a.accuracyMatrix.std[1]![0]).toBeCloseTo(0.04, 15);
    // R[0][0] = 0.9, 0.8, 1.0: mean 0.9, std 0.1.
    expect(a.accuracyMatrix.std[0]![0]).toBeCloseTo(0.1, 15);
    // averageAccuracy = 0.6, 0.57, 0.63: mean 0.6, std 0.03.
    expect(a.averageAccuracy.mean).toBeCloseTo(0.6, 15);
    expect(a.averageAccuracy.std).toBeCloseTo(0.03, 15);
    expect(a.averageAccuracy.perSeed).toEqual([0.6, 0.57, 0.63].map((v) => expect.closeTo(v, 15)));
    // forgetting 0.50, 0.36, 0.64: mean 0.5, std 0.14.
    expect(a.forgetting.mean).toBeCloseTo(0.5, 15);
    expect(a.forgetting.std).toBeCloseTo(0.14, 15);
    expect(a.backwardTransfer.mean).toBeCloseTo(-0.5, 15);
    // Train seconds summed per seed: 3, 5, 7 -> mean 5, std 2.
    expect(a.trainSeconds.mean).toBe(5);
    expect(a.trainSeconds.std).toBe(2);
    expect(a.memoryExemplars).toEqual({ mean: 100, std: 0, n: 3, perSeed: [100, 100, 100] });
    expect(a.perSeed).toEqual([r0, r1, r2]);
    // No memory anywhere: no memory stats.
    expect(aggregateSeeds([0], [result('naive', [[1, 0], [0, 1]], 1, [1])]).memoryExemplars).toBeUndefined();
  });

  it('rejects mismatched inputs', () => {
    expect(() => aggregateSeeds([0, 1], [r0])).toThrow(/2 seeds but 1 results/);
    expect(() => aggregateSeeds([0, 1], [r0, result('naive', r1.accuracyMatrix, 0, [1])])).toThrow(/different strategies/);
  });

  it('runSeeds runs each seed in order and aggregates; repeated seeds are refused', async () => {
    const calls: [number, number][] = [];
    const byseed = new Map([[3, r0], [5, r1], [9, r2]]);
    const a = await runSeeds([3, 5, 9], async (seed, i) => {
      calls.push([seed, i]);
      return byseed.get(seed)!;
    });
    expect(calls).toEqual([[3, 0], [5, 1], [9, 2]]);
    expect(a.seeds).toEqual([3, 5, 9]);
    expect(a.accuracyMatrix.std[1]![0]).toBeCloseTo(0.04, 15);
    await expect(runSeeds([1, 1], async () => r0)).rejects.toThrow(/repeat/);
    await expect(runSeeds([], async () => r0)).rejects.toThrow(/at least one seed/);
  });

  it('seed lists, class orders', () => {
    expect(parseSeeds('0-4')).toEqual([0, 1, 2, 3, 4]);
    expect(parseSeeds('0-2, 7,9')).toEqual([0, 1, 2, 7, 9]);
    expect(() => parseSeeds('0-2,1')).toThrow(/repeats/);
    expect(() => parseSeeds('a')).toThrow(/not an integer/);
    expect(() => parseSeeds('3-1')).toThrow(/empty/);
    const classes = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
    const o1 = shuffledClassOrder(classes, 1);
    expect([...o1].sort((a, b) => a - b)).toEqual(classes);
    expect(shuffledClassOrder(classes, 1)).toEqual(o1);
    expect(shuffledClassOrder(classes, 2)).not.toEqual(o1);
    expect(chunkClasses(o1, 2)).toEqual([o1.slice(0, 2), o1.slice(2, 4), o1.slice(4, 6), o1.slice(6, 8), o1.slice(8)]);
  });

  it('seenClassesAccuracy weights each task by its test-set size', () => {
    const R = [[0.9, 0, 0], [0.6, 0.8, 0], [0.5, 0.7, 1.0]];
    // Stage 1: (0.6 * 500 + 0.8 * 100) / 600; stage 2: (0.5 * 500 + 0.7 * 100 + 1 * 400) / 1000.
    const v = seenClassesAccuracy(R, [500, 100, 400]);
    expect(v[0]).toBeCloseTo(0.9, 15);
    expect(v[1]).toBeCloseTo(380 / 600, 15);
    expect(v[2]).toBeCloseTo(0.72, 15);
    expect(() => seenClassesAccuracy(R, [1, 2])).toThrow(/one test-set size per task/);
  });
});

describe('reports with error bars', () => {
  it('errorBarCurvesSVG draws one bar per point with a std, at mean ± std, and a band', () => {
    // Default layout: height 360, top 16, bottom 50 -> plot height 294; y(p) = 310 - 2.94 p.
    const svg = errorBarCurvesSVG(['a', 'b', 'c'], [
      { label: 'x', mean: [0.5, 0.6, 0.7], std: [0.1, 0.05, NaN] },
      { label: 'y', mean: [0.2, undefined, 0.3], std: [0.02, undefined, 0.01] },
    ]);
    const bars = [...svg.matchAll(/<line class="error-bar" x1="([\d.]+)" y1="([\d.]+)" x2="[\d.]+" y2="([\d.]+)"/g)];
    expect(bars).toHaveLength(4); // x: 2 points with std; y: 2 points
    // 50 ± 10 %: from y(40) = 192.4 down to y(60) = 133.6.
    expect(bars[0]!.slice(2)).toEqual(['192.4', '133.6']);
    // 60 ± 5 %: y(55) = 148.3, y(65) = 118.9.
    expect(bars[1]!.slice(2)).toEqual(['148.3', '118.9']);
    expect(svg.match(/class="std-band"/g)).toHaveLength(2);
    expect(svg).toContain('<title>x: 50.00 ± 10.00</title>');
    expect(svg).toContain('<title>x: 70.00</title>'); // no std: a point without a bar
  });

  it('seeded curves, HTML and JSON carry the stds and the per-seed values', () => {
    const a = aggregateSeeds([0, 1, 2], [
      result('er', [[0.9, 0], [0.40, 0.80]], 0.50, [1, 2]),
      result('er', [[0.8, 0], [0.44, 0.70]], 0.36, [2, 3]),
      result('er', [[1.0, 0], [0.36, 0.90]], 0.64, [3, 4]),
    ]);
    const svg = seededAccuracyCurvesSVG(a, { taskLabels: ['t1', 't2'] });
    // Task 1: 2 stages, task 2: 1 stage, each with a std.
    expect(svg.match(/class="error-bar"/g)).toHaveLength(3);
    expect(svg).toContain('<title>er: t1: 40.00 ± 4.00</title>');
    const html = seededScenarioReportHTML(a, { taskLabels: ['t1', 't2'], meta: { seeds: [0, 1, 2] } });
    expect(html).toContain('60.00 ± 3.00'); // average accuracy
    expect(html).toContain('50.00 ± 14.00'); // forgetting
    expect(html).toContain('40.00 ± 4.00'); // R[1][0] in the matrix table
    expect(html).toContain('class="error-bar"');
    expect(html).toContain('sample standard deviation (divisor n − 1)');
    const json = JSON.parse(seededReportJSON(a));
    expect(json.results[0].averageAccuracy.perSeed).toHaveLength(3);
    expect(json.results[0].perSeed[1].accuracyMatrix[1][0]).toBe(0.44);
    expect(json.std).toMatch(/n - 1/);
  });
});
