// The demo's two SVG charts: accuracy per task over training steps, and the accuracy matrix as a
// heatmap filled row by row while training goes on. Both are drawn by the library's chart module
// (src/cl/charts.ts), the one the HTML reports use, so the demo and the reports follow the same
// conventions (tasks not learned yet grey with no number; a marker on every point).

import { accuracyHeatmapSVG, anytimeAccuracySVG, CHART_PALETTE } from '../src/cl/charts.js';
import type { EvalPoint } from './experiment.js';

/** Colours of the tasks, shared by the charts and the "now" table. */
export const TASK_COLORS = CHART_PALETTE;

export interface CurvesInput {
  points: readonly EvalPoint[];
  taskLabels: readonly string[];
  /** Steps per task: the x axis spans taskLabels.length * stepsPerTask, with a mark at each task start. */
  stepsPerTask: number;
}

/** Test accuracy on each task (one line per task, from the evaluation after its first chunk) against steps. */
export function curvesSVG({ points, taskLabels, stepsPerTask }: CurvesInput): string {
  const T = taskLabels.length;
  return anytimeAccuracySVG(points, {
    taskLabels, taskStarts: taskLabels.map((_, t) => t * stepsPerTask), lastStep: Math.max(1, T * stepsPerTask), id: 'curves-svg',
  });
}

/**
 * R[i][j] (row: after task i, column: tested on task j) for the rows done so far; rows not evaluated
 * yet are dashed, tasks not learned yet grey. Filled cells carry id "R-i-j" and data-value.
 */
export function heatmapSVG(R: readonly (readonly number[])[], taskLabels: readonly string[]): string {
  const T = taskLabels.length;
  return accuracyHeatmapSVG(R, { taskLabels, cell: T > 3 ? 52 : T > 2 ? 80 : 100, id: 'heatmap-svg', cellIdPrefix: 'R-', labelColors: TASK_COLORS });
}
