// An SVG line chart of anytime-evaluation curves (runOnlineStream results): accuracy against stream
// steps, one line per strategy (mean accuracy over the tasks seen so far) or, for one result, one line
// per task; dashed verticals mark where each task starts. Drawn by the shared `lineChartSVG` (charts.ts),
// so it looks like every other engram chart. Self-contained (no DOM): a string of SVG.

import { EngramError } from '../engine/runtime.js';
import { lineChartSVG, type ChartSeries } from './charts.js';
import type { AnytimeResult } from './online.js';

/** Options of `anytimeChartSVG()`. */
export interface AnytimeChartOptions {
  /** Title above the plot. */
  title?: string;
  /** 'seen' (default): one line per result, the mean over the tasks seen so far; 'tasks': one line per task of the first result. */
  curves?: 'seen' | 'tasks';
  /** Width in pixels (default 640). */
  width?: number;
  /** Height in pixels (default 360). */
  height?: number;
}

/** An SVG chart (a string) of anytime accuracy curves: accuracy (0-100%) against stream steps. */
export function anytimeChartSVG(results: readonly AnytimeResult[], opts: AnytimeChartOptions = {}): string {
  if (results.length === 0) throw new EngramError('anytimeChartSVG: needs at least one result');
  const first = results[0]!;
  const series: ChartSeries[] = (opts.curves ?? 'seen') === 'tasks'
    ? (first.accuracy[0] ?? []).map((_, j) => ({ label: `task ${j}`, points: first.steps.map((x, p) => ({ x, y: 100 * first.accuracy[p]![j]! })) }))
    : results.map((r) => ({ label: r.strategy, points: r.steps.map((x, p) => ({ x, y: 100 * r.seenAccuracy[p]! })) }));
  const maxStep = Math.max(1, ...results.map((r) => r.totalSteps));
  return lineChartSVG(series, {
    title: opts.title, width: opts.width ?? 640, height: opts.height ?? 360, xDomain: [0, maxStep],
    boundaries: first.taskStarts.slice(1), digits: 1,
    xLabel: `stream steps (batches of ${first.batchSize}); dashed: a task starts`, yLabel: 'test accuracy (%)',
  });
}
