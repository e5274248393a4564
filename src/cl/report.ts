// Reports of continual-learning runs (ScenarioResult from runScenario): JSON, an SVG heatmap of an
// accuracy matrix, SVG accuracy curves, and a self-contained HTML page combining them with a table
// of the metrics. Plain string building, no DOM and no Node modules, so it works in browsers too.
//
// Accuracies may be fractions (as runScenario returns them) or percentages: a matrix whose entries
// are all <= 1 is read as fractions. Everything is displayed in percent.

import type { ScenarioResult } from './strategy.js';
import type { AccuracyMatrix } from './metrics.js';
import type { SeededScenarioResult, SeedStat } from './seeds.js';
import {
  accuracyHeatmapSVG, escapeXml, lineChartSVG, percentScale, CHART_DASHES, CHART_MARKERS, CHART_PALETTE, UNTRAINED_FILL,
  type ChartSeries, type LegendEntry, type MarkerShape,
} from './charts.js';

// The charts are drawn by charts.ts (shared with the browser demo); its exports are re-exported here.
export * from './charts.js';

function asList(results: ScenarioResult | readonly ScenarioResult[]): readonly ScenarioResult[] {
  return Array.isArray(results) ? results : [results as ScenarioResult];
}

const fmt = (v: number, digits = 1): string => (Number.isFinite(v) ? v.toFixed(digits) : String(v));

/** JSON text of one or more scenario results, with optional metadata (settings, dataset, adapter). */
export function scenarioReportJSON(results: ScenarioResult | readonly ScenarioResult[], meta: Record<string, unknown> = {}): string {
  return JSON.stringify({ kind: 'engram-scenario-report', version: 1, meta, results: asList(results) }, null, 2);
}

// ------------------------------------------------------------------ heatmap and curves

/** Options of `accuracyMatrixSVG()`. */
export interface MatrixSVGOptions {
  /** Title drawn above the heatmap (default none). */
  title?: string;
  /** Names of the tasks (default "task 0", "task 1", ...). */
  taskLabels?: readonly string[];
  /** Cell size in pixels (default: sized to the labels, at least 56). */
  cell?: number;
}

/**
 * Heatmap of R[i][j] (rows: after training task i; columns: tested on task j), values in percent; cells
 * of tasks not learned yet (j > i) are grey with no number (see `accuracyHeatmapSVG`).
 */
export function accuracyMatrixSVG(R: AccuracyMatrix, opts: MatrixSVGOptions = {}): string {
  return accuracyHeatmapSVG(R, { title: opts.title, taskLabels: opts.taskLabels ?? R.map((_, j) => `task ${j}`), cell: opts.cell });
}

/** Options of `accuracyCurvesSVG()`. */
export interface CurvesSVGOptions {
  /** Title drawn above the plot (default none). */
  title?: string;
  /** Names of the tasks (default "task 0", "task 1", ...). */
  taskLabels?: readonly string[];
  /** Width of the SVG in pixels (default 640). */
  width?: number;
  /** Height of the SVG in pixels (default 360). */
  height?: number;
}

const X_AFTER = 'after training task';
/** Room on each side of the first and last stage, in stages, so the markers spread around them stay inside the axes. */
const STAGE_PAD = 0.3;

/** Legend of the per-(strategy, task) curves: tasks by colour, then strategies by dash and marker. */
function taskStrategyLegend(labels: readonly string[], strategies: readonly string[]): LegendEntry[] {
  return [
    ...labels.map((label, j) => ({ label, color: CHART_PALETTE[j % CHART_PALETTE.length]! })),
    ...strategies.map((label, s) => ({ label, dash: CHART_DASHES[s % CHART_DASHES.length]! || undefined, marker: CHART_MARKERS[s % CHART_MARKERS.length]! })),
  ];
}

/**
 * Accuracy on each task after each training stage: x = stage ("after training task i"), y = accuracy
 * (%). One series per (strategy, task), from the stage the task was learned on; colour = task, dash and
 * marker shape = strategy; series sharing a stage are spread a few pixels apart so none hides another.
 */
export function accuracyCurvesSVG(results: ScenarioResult | readonly ScenarioResult[], opts: CurvesSVGOptions = {}): string {
  const list = asList(results);
  const T = Math.max(1, ...list.map((r) => r.accuracyMatrix.length));
  const labels = Array.from({ length: T }, (_, j) => opts.taskLabels?.[j] ?? `task ${j}`);
  const series: ChartSeries[] = list.flatMap((r, s) => {
    const R = r.accuracyMatrix;
    const scale = percentScale(R.flat());
    return R.map((_, j) => ({
      label: `${r.strategy}: ${labels[j]}`,
      color: CHART_PALETTE[j % CHART_PALETTE.length]!,
      dash: CHART_DASHES[s % CHART_DASHES.length]! || undefined,
      marker: CHART_MARKERS[s % CHART_MARKERS.length]!,
      points: R.slice(j).map((row, k) => ({ x: j + k, y: (row[j] ?? NaN) * scale })),
    }));
  });
  return lineChartSVG(series, {
    title: opts.title, width: opts.width, height: opts.height, xDomain: [-STAGE_PAD, T - 1 + STAGE_PAD], xTicks: labels.map((label, x) => ({ x, label })),
    dodge: 'auto', xLabel: X_AFTER, yLabel: 'test accuracy (%)', legend: taskStrategyLegend(labels, list.map((r) => r.strategy)),
  });
}

// ------------------------------------------------------------------ HTML page

/** Options of `scenarioReportHTML()`. */
export interface HTMLReportOptions {
  /** Page title (default 'Continual-learning report'). */
  title?: string;
  /** Names of the tasks (default "task 0", "task 1", ...). */
  taskLabels?: readonly string[];
  /** Settings shown above the table and embedded in the page's JSON. */
  meta?: Record<string, unknown>;
}

function bytesText(b: number): string {
  if (b < 1024) return `${b} B`;
  const units = ['KiB', 'MiB', 'GiB'];
  let v = b / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(2)} ${units[u]}`;
}

/**
 * The page both HTML reports are: head and style (`style` adds rules), the title, the settings
 * table of `meta`, the results table (`head`, then `rows` of <tr>), `sections` (notes and figures),
 * and the report's JSON in a script element, its "<" escaped so it can never close that element.
 */
function reportPage(page: {
  title: string; meta: Record<string, unknown>; head: readonly string[]; rows: readonly string[];
  sections: readonly string[]; json: string; style?: string;
}): string {
  const metaRows = Object.entries(page.meta).map(([k, v]) => `<tr><th>${escapeXml(k)}</th><td>${escapeXml(typeof v === 'string' ? v : JSON.stringify(v))}</td></tr>`);
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8"/>',
    `<title>${escapeXml(page.title)}</title>`,
    `<style>body{font-family:sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}td.num{text-align:right}${page.style ?? ''}.figs{display:flex;flex-wrap:wrap;gap:24px;align-items:flex-start}</style>`,
    '</head>',
    '<body>',
    `<h1>${escapeXml(page.title)}</h1>`,
    metaRows.length ? `<table class="meta">\n${metaRows.join('\n')}\n</table>` : '',
    '<h2>Results</h2>',
    `<table class="results">\n<tr>${page.head.map((h) => `<th>${escapeXml(h)}</th>`).join('')}</tr>\n${page.rows.join('\n')}\n</table>`,
    ...page.sections,
    `<script type="application/json" id="report-data">\n${page.json.replace(/</g, '\\u003c')}\n</script>`,
    '</body>',
    '</html>',
  ].filter((l) => l !== '').join('\n') + '\n';
}

/** A self-contained HTML page: settings, a table of the metrics, each strategy's matrix, the curves and the JSON. */
export function scenarioReportHTML(results: ScenarioResult | readonly ScenarioResult[], opts: HTMLReportOptions = {}): string {
  const list = asList(results);
  const title = opts.title ?? 'Continual-learning report';
  const meta = opts.meta ?? {};
  const rows = list.map((r) => {
    const scale = percentScale(r.accuracyMatrix.flat());
    const cells = [
      escapeXml(r.strategy),
      fmt(r.averageAccuracy * scale, 2),
      fmt(r.averageIncrementalAccuracy * scale, 2),
      fmt(r.forgetting * scale, 2),
      fmt(r.backwardTransfer * scale, 2),
      String(r.memory?.exemplars ?? 0),
      bytesText(r.memory?.bytes ?? 0),
      fmt(r.trainSeconds.reduce((a, b) => a + b, 0), 1),
      r.cost?.secondsPerStep !== undefined ? fmt(1000 * r.cost.secondsPerStep, 2) : '–',
      r.cost?.readbacksPerStep !== undefined ? fmt(r.cost.readbacksPerStep, 2) : '–',
      r.cost ? bytesText(r.cost.peakExtraBytes) : '–',
    ];
    return `<tr>${cells.map((c, i) => `<td${i ? ' class="num"' : ''}>${c}</td>`).join('')}</tr>`;
  });
  const head = [
    'strategy', 'average accuracy (%)', 'average incremental accuracy (%)', 'forgetting (%)', 'BWT (%)', 'memory exemplars', 'memory bytes', 'train time (s)',
    'time per step (ms)', 'readbacks per step', 'peak extra GPU memory',
  ];
  return reportPage({
    title, meta, head, rows, json: scenarioReportJSON(list, meta),
    sections: [
      '<p>R[i][j]: accuracy on task j\'s test set after training on tasks 0..i (grey: task j not learned yet; its value stays in the JSON). Forgetting: mean drop of each old task from its best accuracy; BWT: mean change of each old task from just after learning it to the end (negative = forgetting). Costs: wall time of training divided by the optimizer steps; GPU-to-CPU readbacks inside the training loops per step; the most GPU memory held by tensors while training, above what was held before the run (the model included there).</p>',
      '<h2>Accuracy matrices</h2>',
      '<div class="figs">',
      ...list.map((r) => `<figure>\n${accuracyMatrixSVG(r.accuracyMatrix, { title: r.strategy, taskLabels: opts.taskLabels })}\n</figure>`),
      '</div>',
      '<h2>Accuracy per task after each stage</h2>',
      `<figure>\n${accuracyCurvesSVG(list, { taskLabels: opts.taskLabels })}\n</figure>`,
    ],
  });
}

// ------------------------------------------------------------------ many seeds: error bars

/** One line of `errorBarCurvesSVG()`: a mean per x position and its ± std. */
export interface ErrorBarSeries {
  /** Legend text. */
  label: string;
  /** Mean at each x position (NaN or undefined: no point there). Fractions or percent, see `errorBarCurvesSVG`. */
  mean: readonly (number | undefined)[];
  /** Sample std at each x position (NaN: no bar, e.g. a single seed). */
  std: readonly (number | undefined)[];
  /** Stroke colour (default: the palette by series index). */
  color?: string;
  /** Stroke dash pattern (default solid). */
  dash?: string;
  /** Marker shape (default: by series index). */
  marker?: MarkerShape;
}

/** Options of `errorBarCurvesSVG()`. */
export interface ErrorBarSVGOptions {
  /** Title drawn above the plot. */
  title?: string;
  /** Width in pixels (default 640). */
  width?: number;
  /** Height in pixels (default 360). */
  height?: number;
  /** Caption of the x axis (default 'after training task'). */
  xLabel?: string;
  /** Caption of the y axis (default 'test accuracy (%), mean ± std over seeds'). */
  yLabel?: string;
  /** Read the values as fractions (x100) or percent; default: fractions when every mean is <= 1. */
  scale?: 'fraction' | 'percent';
  /** Legend entries (default one per series). */
  legend?: readonly LegendEntry[];
}

/**
 * Curves of mean values with ± std error bars and a shaded ± std band (one `<path class="std-band">`
 * per series and one `<line class="error-bar">` per point with a defined std), y in percent; series
 * sharing an x position are spread a few pixels apart (see `lineChartSVG`).
 */
export function errorBarCurvesSVG(xLabels: readonly string[], series: readonly ErrorBarSeries[], opts: ErrorBarSVGOptions = {}): string {
  const X = Math.max(1, xLabels.length);
  const allMeans = series.flatMap((s) => s.mean.filter((v): v is number => v !== undefined && Number.isFinite(v)));
  const k = opts.scale === 'percent' ? 1 : opts.scale === 'fraction' ? 100 : percentScale(allMeans);
  const chart: ChartSeries[] = series.map((s) => ({
    label: s.label, color: s.color, dash: s.dash, marker: s.marker,
    points: Array.from({ length: X }, (_, i) => ({ x: i, y: (s.mean[i] ?? NaN) * k, std: (s.std[i] ?? NaN) * k })),
  }));
  return lineChartSVG(chart, {
    title: opts.title, width: opts.width, height: opts.height, xDomain: [-STAGE_PAD, X - 1 + STAGE_PAD], xTicks: xLabels.map((label, x) => ({ x, label })),
    dodge: 'auto', xLabel: opts.xLabel ?? X_AFTER, yLabel: opts.yLabel ?? 'test accuracy (%), mean ± std over seeds', legend: opts.legend,
  });
}

/**
 * Accuracy on each task after each stage, mean ± std over seeds: one line per (strategy, task) from the
 * stage the task was learned on, with error bars and a ± std band; colour = task, dash and marker = strategy.
 */
export function seededAccuracyCurvesSVG(results: SeededScenarioResult | readonly SeededScenarioResult[], opts: CurvesSVGOptions = {}): string {
  const list: readonly SeededScenarioResult[] = Array.isArray(results) ? results : [results as SeededScenarioResult];
  const T = Math.max(1, ...list.map((r) => r.accuracyMatrix.mean.length));
  const labels = Array.from({ length: T }, (_, j) => opts.taskLabels?.[j] ?? `task ${j}`);
  const series: ErrorBarSeries[] = [];
  list.forEach((r, s) => {
    const { mean, std } = r.accuracyMatrix;
    for (let j = 0; j < mean.length; j++) {
      series.push({
        label: `${r.strategy}: ${labels[j]}`,
        mean: mean.map((row, i) => (i >= j ? row[j] : undefined)),
        std: std.map((row, i) => (i >= j ? row[j] : undefined)),
        color: CHART_PALETTE[j % CHART_PALETTE.length]!,
        dash: CHART_DASHES[s % CHART_DASHES.length]! || undefined,
        marker: CHART_MARKERS[s % CHART_MARKERS.length]!,
      });
    }
  });
  const scale = percentScale(list.flatMap((r) => r.accuracyMatrix.mean.flat()));
  return errorBarCurvesSVG(labels, series, {
    title: opts.title, width: opts.width ?? 700, height: opts.height ?? 380, scale: scale === 100 ? 'fraction' : 'percent',
    legend: taskStrategyLegend(labels, list.map((r) => r.strategy)),
  });
}

/** JSON text of seeded results: each metric's mean, std, n and per-seed values, and each seed's full result. */
export function seededReportJSON(results: SeededScenarioResult | readonly SeededScenarioResult[], meta: Record<string, unknown> = {}): string {
  const list = Array.isArray(results) ? results : [results];
  return JSON.stringify({ kind: 'engram-seeded-scenario-report', version: 1, std: 'sample standard deviation over seeds (divisor n - 1)', meta, results: list }, null, 2);
}

const pm = (s: SeedStat, scale: number, digits = 2): string => (Number.isFinite(s.std) ? `${fmt(s.mean * scale, digits)} ± ${fmt(s.std * scale, digits)}` : `${fmt(s.mean * scale, digits)} (1 seed)`);

/**
 * A self-contained HTML page for results over several seeds: settings, a table of every metric as
 * mean ± std (sample std, n - 1) with the seeds, each strategy's mean accuracy matrix with its std,
 * the accuracy curves with error bars, extra figures, and the JSON (per-seed values included).
 */
export function seededScenarioReportHTML(
  results: SeededScenarioResult | readonly SeededScenarioResult[],
  opts: HTMLReportOptions & {
    /** Extra SVG figures (e.g. `errorBarCurvesSVG` of another metric), each with a heading. */
    figures?: readonly { heading: string; svg: string }[];
  } = {},
): string {
  const list: readonly SeededScenarioResult[] = Array.isArray(results) ? results : [results as SeededScenarioResult];
  const title = opts.title ?? 'Continual-learning report (mean ± std over seeds)';
  const meta = opts.meta ?? {};
  const rows = list.map((r) => {
    const scale = percentScale(r.accuracyMatrix.mean.flat());
    const cells = [
      escapeXml(r.strategy), escapeXml(r.seeds.join(', ')),
      pm(r.averageAccuracy, scale), pm(r.averageIncrementalAccuracy, scale), pm(r.forgetting, scale), pm(r.backwardTransfer, scale),
      r.memoryExemplars ? fmt(r.memoryExemplars.mean, 0) : '0', pm(r.trainSeconds, 1, 1),
    ];
    return `<tr>${cells.map((c, i) => `<td${i > 1 ? ' class="num"' : ''}>${c}</td>`).join('')}</tr>`;
  });
  const head = ['strategy', 'seeds', 'average accuracy (%)', 'average incremental accuracy (%)', 'forgetting (%)', 'BWT (%)', 'memory exemplars (mean)', 'train time (s)'];
  const matrixTable = (r: SeededScenarioResult): string => {
    const scale = percentScale(r.accuracyMatrix.mean.flat());
    const T = r.accuracyMatrix.mean.length;
    const labels = Array.from({ length: T }, (_, j) => opts.taskLabels?.[j] ?? `task ${j}`);
    const body = r.accuracyMatrix.mean.map((row, i) => `<tr><th>after ${escapeXml(labels[i]!)}</th>${row.map((v, j) => {
      if (j > i) return `<td class="untrained" style="background:${UNTRAINED_FILL}" title="not learned yet"></td>`;
      const sd = r.accuracyMatrix.std[i]![j]!;
      return `<td class="num">${fmt(v * scale, 2)}${Number.isFinite(sd) ? ` ± ${fmt(sd * scale, 2)}` : ''}</td>`;
    }).join('')}</tr>`);
    return `<table class="matrix">\n<caption>${escapeXml(r.strategy)}: R[i][j] (%), mean ± std over ${r.seeds.length} seeds</caption>\n<tr><th></th>${labels.map((l) => `<th>on ${escapeXml(l)}</th>`).join('')}</tr>\n${body.join('\n')}\n</table>`;
  };
  return reportPage({
    title, meta, head, rows, json: seededReportJSON(list, meta), style: 'caption{text-align:left;font-weight:bold}',
    sections: [
      '<p>Every value is the mean ± the sample standard deviation (divisor n − 1) over the seeds listed; the JSON below holds each seed\'s values. R[i][j]: accuracy on task j\'s test set after training on tasks 0..i (grey: task j not learned yet; its values stay in the JSON).</p>',
      '<h2>Accuracy matrices</h2>',
      '<div class="figs">',
      ...list.map(matrixTable),
      '</div>',
      '<h2>Accuracy per task after each stage (error bars: ± std)</h2>',
      `<figure>\n${seededAccuracyCurvesSVG(list, { taskLabels: opts.taskLabels })}\n</figure>`,
      ...(opts.figures ?? []).flatMap((f) => [`<h2>${escapeXml(f.heading)}</h2>`, `<figure>\n${f.svg}\n</figure>`]),
    ],
  });
}
