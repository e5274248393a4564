// Reports of continual-learning runs (ScenarioResult from runScenario): JSON, an SVG heatmap of an
// accuracy matrix, SVG accuracy curves, and a self-contained HTML page combining them with a table
// of the metrics. Plain string building, no DOM and no Node modules, so it works in browsers too.
//
// Accuracies may be fractions (as runScenario returns them) or percentages: a matrix whose entries
// are all <= 1 is read as fractions. Everything is displayed in percent.

import type { ScenarioResult } from './strategy.js';
import type { AccuracyMatrix } from './metrics.js';
import type { SeededScenarioResult, SeedStat } from './seeds.js';

/** Escape text for XML/HTML content and attribute values. */
export function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

function asList(results: ScenarioResult | readonly ScenarioResult[]): readonly ScenarioResult[] {
  return Array.isArray(results) ? results : [results as ScenarioResult];
}

/** 100 when the values look like fractions (all <= 1), else 1: multiply to get percent. */
function percentScale(values: Iterable<number>): number {
  for (const v of values) if (Math.abs(v) > 1) return 1;
  return 100;
}

const fmt = (v: number, digits = 1): string => (Number.isFinite(v) ? v.toFixed(digits) : String(v));
const px = (v: number): string => (Math.round(v * 10) / 10).toString();

/** JSON text of one or more scenario results, with optional metadata (settings, dataset, adapter). */
export function scenarioReportJSON(results: ScenarioResult | readonly ScenarioResult[], meta: Record<string, unknown> = {}): string {
  return JSON.stringify({ kind: 'engram-scenario-report', version: 1, meta, results: asList(results) }, null, 2);
}

// ------------------------------------------------------------------ heatmap

/** A light-to-dark blue scale for t in [0, 1]. */
function blue(t: number): string {
  const stops: [number, number, number][] = [[247, 251, 255], [158, 202, 225], [49, 130, 189], [8, 48, 107]];
  const u = Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0)) * (stops.length - 1);
  const i = Math.min(stops.length - 2, Math.floor(u));
  const f = u - i;
  const [a, b] = [stops[i]!, stops[i + 1]!];
  const c = a.map((x, k) => Math.round(x + (b[k]! - x) * f));
  return `rgb(${c.join(',')})`;
}

/** Options of `accuracyMatrixSVG()`. */
export interface MatrixSVGOptions {
  /** Title drawn above the heatmap (default none). */
  title?: string;
  /** Names of the tasks (default "task 0", "task 1", ...). */
  taskLabels?: readonly string[];
  /** Cell size in pixels (default 56). */
  cell?: number;
}

/** Heatmap of R[i][j] (rows: after training task i; columns: evaluated on task j), values in percent in each cell. */
export function accuracyMatrixSVG(R: AccuracyMatrix, opts: MatrixSVGOptions = {}): string {
  const T = R.length;
  const labels = Array.from({ length: T }, (_, j) => opts.taskLabels?.[j] ?? `task ${j}`);
  // Sized to the labels (about 7 px per character at 12 px) so column headers do not overlap.
  const longest = Math.max(0, ...labels.map((l) => l.length));
  const cell = opts.cell ?? Math.max(56, 7 * longest + 10);
  const scale = percentScale(R.flat());
  const left = Math.max(110, 7 * (longest + 6) + 12);
  const top = opts.title ? 62 : 40;
  const w = left + T * cell + 20;
  const h = top + T * cell + 20;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" font-family="sans-serif" font-size="12">`);
  if (opts.title) out.push(`<text x="${px(w / 2)}" y="18" text-anchor="middle" font-size="14" font-weight="bold">${escapeXml(opts.title)}</text>`);
  out.push(`<text x="${px(left + (T * cell) / 2)}" y="${top - 24}" text-anchor="middle" fill="#444">evaluated on</text>`);
  labels.forEach((l, j) => out.push(`<text x="${px(left + (j + 0.5) * cell)}" y="${top - 6}" text-anchor="middle">${escapeXml(l)}</text>`));
  for (let i = 0; i < T; i++) {
    const y = top + i * cell;
    out.push(`<text x="${left - 8}" y="${px(y + cell / 2 + 4)}" text-anchor="end">after ${escapeXml(labels[i]!)}</text>`);
    for (let j = 0; j < T; j++) {
      const v = (R[i]![j] ?? NaN) * scale;
      const t = v / 100;
      const x = left + j * cell;
      out.push(`<rect x="${x}" y="${y}" width="${cell}" height="${cell}" fill="${blue(t)}" stroke="#fff"/>`);
      out.push(`<text x="${px(x + cell / 2)}" y="${px(y + cell / 2 + 4)}" text-anchor="middle" fill="${t > 0.55 ? '#fff' : '#000'}">${fmt(v)}</text>`);
    }
  }
  out.push('</svg>');
  return out.join('\n');
}

// ------------------------------------------------------------------ curves

const PALETTE = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];
const DASHES = ['', '6 4', '2 3', '8 3 2 3', '1 5'];

/** Options of `accuracyCurvesSVG()`. */
export interface CurvesSVGOptions {
  /** Title drawn above the plot (default none). */
  title?: string;
  /** Names of the tasks (default "task 0", "task 1", ...). */
  taskLabels?: readonly string[];
  /** Width of the SVG in pixels (default 600). */
  width?: number;
  /** Height of the SVG in pixels (default 340). */
  height?: number;
}

/**
 * Accuracy on each task after each training stage: x = stage ("after task i"), y = accuracy (%).
 * One line per (strategy, task), from the stage the task was learned on; colour = task, dash =
 * strategy, with a legend of both.
 */
export function accuracyCurvesSVG(results: ScenarioResult | readonly ScenarioResult[], opts: CurvesSVGOptions = {}): string {
  const list = asList(results);
  const T = Math.max(1, ...list.map((r) => r.accuracyMatrix.length));
  const labels = Array.from({ length: T }, (_, j) => opts.taskLabels?.[j] ?? `task ${j}`);
  const W = opts.width ?? 600;
  const H = opts.height ?? 340;
  const m = { left: 56, right: 160, top: opts.title ? 36 : 16, bottom: 50 };
  const pw = W - m.left - m.right;
  const ph = H - m.top - m.bottom;
  const xAt = (i: number): number => m.left + (T === 1 ? pw / 2 : (i / (T - 1)) * pw);
  const yAt = (pct: number): number => m.top + ph - (Math.min(100, Math.max(0, pct)) / 100) * ph;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`);
  if (opts.title) out.push(`<text x="${px(m.left + pw / 2)}" y="20" text-anchor="middle" font-size="14" font-weight="bold">${escapeXml(opts.title)}</text>`);
  // Grid and y axis, every 20%.
  for (let p = 0; p <= 100; p += 20) {
    const y = px(yAt(p));
    out.push(`<line x1="${m.left}" y1="${y}" x2="${m.left + pw}" y2="${y}" stroke="#ddd"/>`);
    out.push(`<text x="${m.left - 6}" y="${px(yAt(p) + 4)}" text-anchor="end">${p}</text>`);
  }
  for (let i = 0; i < T; i++) out.push(`<text x="${px(xAt(i))}" y="${m.top + ph + 18}" text-anchor="middle">${escapeXml(labels[i]!)}</text>`);
  out.push(`<line x1="${m.left}" y1="${m.top}" x2="${m.left}" y2="${m.top + ph}" stroke="#000"/>`);
  out.push(`<line x1="${m.left}" y1="${m.top + ph}" x2="${m.left + pw}" y2="${m.top + ph}" stroke="#000"/>`);
  out.push(`<text x="${px(m.left + pw / 2)}" y="${H - 10}" text-anchor="middle">after training on</text>`);
  out.push(`<text transform="translate(16 ${px(m.top + ph / 2)}) rotate(-90)" text-anchor="middle">test accuracy (%)</text>`);
  list.forEach((r, s) => {
    const R = r.accuracyMatrix;
    const scale = percentScale(R.flat());
    const dash = DASHES[s % DASHES.length]!;
    for (let j = 0; j < R.length; j++) {
      const pts = R.slice(j).map((row, k) => `${px(xAt(j + k))},${px(yAt((row[j] ?? NaN) * scale))}`);
      const color = PALETTE[j % PALETTE.length]!;
      out.push(`<polyline points="${pts.join(' ')}" fill="none" stroke="${color}" stroke-width="2"${dash ? ` stroke-dasharray="${dash}"` : ''}/>`);
      for (const p of pts) {
        const [x, y] = p.split(',');
        out.push(`<circle cx="${x}" cy="${y}" r="3" fill="${color}"/>`);
      }
    }
  });
  // Legend: tasks by colour, strategies by dash.
  let ly = m.top + 6;
  const lx = m.left + pw + 16;
  for (let j = 0; j < T; j++, ly += 18) {
    out.push(`<line x1="${lx}" y1="${ly}" x2="${lx + 24}" y2="${ly}" stroke="${PALETTE[j % PALETTE.length]}" stroke-width="3"/>`);
    out.push(`<text x="${lx + 30}" y="${ly + 4}">${escapeXml(labels[j]!)}</text>`);
  }
  ly += 6;
  list.forEach((r, s) => {
    const dash = DASHES[s % DASHES.length]!;
    out.push(`<line x1="${lx}" y1="${ly}" x2="${lx + 24}" y2="${ly}" stroke="#333" stroke-width="2"${dash ? ` stroke-dasharray="${dash}"` : ''}/>`);
    out.push(`<text x="${lx + 30}" y="${ly + 4}">${escapeXml(r.strategy)}</text>`);
    ly += 18;
  });
  out.push('</svg>');
  return out.join('\n');
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
    ];
    return `<tr>${cells.map((c, i) => `<td${i ? ' class="num"' : ''}>${c}</td>`).join('')}</tr>`;
  });
  const head = ['strategy', 'average accuracy (%)', 'average incremental accuracy (%)', 'forgetting (%)', 'BWT (%)', 'memory exemplars', 'memory bytes', 'train time (s)'];
  return reportPage({
    title, meta, head, rows, json: scenarioReportJSON(list, meta),
    sections: [
      '<p>R[i][j]: accuracy on task j\'s test set after training on tasks 0..i. Forgetting: mean drop of each old task from its best accuracy; BWT: mean change of each old task from just after learning it to the end (negative = forgetting).</p>',
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
}

/** Options of `errorBarCurvesSVG()`. */
export interface ErrorBarSVGOptions {
  /** Title drawn above the plot. */
  title?: string;
  /** Width in pixels (default 640). */
  width?: number;
  /** Height in pixels (default 360). */
  height?: number;
  /** Caption of the x axis (default 'after training on'). */
  xLabel?: string;
  /** Caption of the y axis (default 'test accuracy (%), mean ± std over seeds'). */
  yLabel?: string;
  /** Read the values as fractions (x100) or percent; default: fractions when every mean is <= 1. */
  scale?: 'fraction' | 'percent';
}

/**
 * Curves of mean values with ± std error bars and a shaded ± std band (one `<path class="std-band">`
 * per series and one `<line class="error-bar">` per point with a defined std), y in percent.
 */
export function errorBarCurvesSVG(xLabels: readonly string[], series: readonly ErrorBarSeries[], opts: ErrorBarSVGOptions = {}): string {
  const X = Math.max(1, xLabels.length);
  const W = opts.width ?? 640;
  const H = opts.height ?? 360;
  const longest = Math.max(0, ...series.map((s) => s.label.length));
  const m = { left: 56, right: Math.max(120, 7 * longest + 50), top: opts.title ? 36 : 16, bottom: 50 };
  const pw = W - m.left - m.right;
  const ph = H - m.top - m.bottom;
  const allMeans = series.flatMap((s) => s.mean.filter((v): v is number => v !== undefined && Number.isFinite(v)));
  const k = opts.scale === 'percent' ? 1 : opts.scale === 'fraction' ? 100 : percentScale(allMeans);
  const xAt = (i: number): number => m.left + (X === 1 ? pw / 2 : (i / (X - 1)) * pw);
  const yAt = (pct: number): number => m.top + ph - (Math.min(100, Math.max(0, pct)) / 100) * ph;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`);
  if (opts.title) out.push(`<text x="${px(m.left + pw / 2)}" y="20" text-anchor="middle" font-size="14" font-weight="bold">${escapeXml(opts.title)}</text>`);
  for (let p = 0; p <= 100; p += 20) {
    out.push(`<line x1="${m.left}" y1="${px(yAt(p))}" x2="${m.left + pw}" y2="${px(yAt(p))}" stroke="#ddd"/>`);
    out.push(`<text x="${m.left - 6}" y="${px(yAt(p) + 4)}" text-anchor="end">${p}</text>`);
  }
  xLabels.forEach((l, i) => out.push(`<text x="${px(xAt(i))}" y="${m.top + ph + 18}" text-anchor="middle">${escapeXml(l)}</text>`));
  out.push(`<line x1="${m.left}" y1="${m.top}" x2="${m.left}" y2="${m.top + ph}" stroke="#000"/>`);
  out.push(`<line x1="${m.left}" y1="${m.top + ph}" x2="${m.left + pw}" y2="${m.top + ph}" stroke="#000"/>`);
  out.push(`<text x="${px(m.left + pw / 2)}" y="${H - 10}" text-anchor="middle">${escapeXml(opts.xLabel ?? 'after training on')}</text>`);
  out.push(`<text transform="translate(16 ${px(m.top + ph / 2)}) rotate(-90)" text-anchor="middle">${escapeXml(opts.yLabel ?? 'test accuracy (%), mean ± std over seeds')}</text>`);
  series.forEach((s, si) => {
    const color = s.color ?? PALETTE[si % PALETTE.length]!;
    const pts: { x: number; mean: number; std: number }[] = [];
    for (let i = 0; i < X; i++) {
      const mu = s.mean[i];
      if (mu === undefined || !Number.isFinite(mu)) continue;
      const sd = s.std[i];
      pts.push({ x: xAt(i), mean: mu * k, std: sd !== undefined && Number.isFinite(sd) ? sd * k : NaN });
    }
    const banded = pts.filter((p) => Number.isFinite(p.std));
    if (banded.length >= 2) {
      const upper = banded.map((p) => `${px(p.x)},${px(yAt(p.mean + p.std))}`);
      const lower = banded.map((p) => `${px(p.x)},${px(yAt(p.mean - p.std))}`).reverse();
      out.push(`<path class="std-band" d="M${upper.join(' L')} L${lower.join(' L')} Z" fill="${color}" fill-opacity="0.15" stroke="none"/>`);
    }
    if (pts.length) {
      out.push(`<polyline points="${pts.map((p) => `${px(p.x)},${px(yAt(p.mean))}`).join(' ')}" fill="none" stroke="${color}" stroke-width="2"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''}/>`);
    }
    for (const p of pts) {
      if (Number.isFinite(p.std)) {
        const [y0, y1] = [px(yAt(p.mean - p.std)), px(yAt(p.mean + p.std))];
        out.push(`<line class="error-bar" x1="${px(p.x)}" y1="${y0}" x2="${px(p.x)}" y2="${y1}" stroke="${color}" stroke-width="1.5"/>`);
        out.push(`<line x1="${px(p.x - 4)}" y1="${y0}" x2="${px(p.x + 4)}" y2="${y0}" stroke="${color}" stroke-width="1.5"/>`);
        out.push(`<line x1="${px(p.x - 4)}" y1="${y1}" x2="${px(p.x + 4)}" y2="${y1}" stroke="${color}" stroke-width="1.5"/>`);
      }
      out.push(`<circle cx="${px(p.x)}" cy="${px(yAt(p.mean))}" r="3" fill="${color}"><title>${escapeXml(`${s.label}: ${fmt(p.mean, 2)}${Number.isFinite(p.std) ? ` ± ${fmt(p.std, 2)}` : ''}`)}</title></circle>`);
    }
  });
  let ly = m.top + 6;
  const lx = m.left + pw + 16;
  series.forEach((s, si) => {
    const color = s.color ?? PALETTE[si % PALETTE.length]!;
    out.push(`<line x1="${lx}" y1="${ly}" x2="${lx + 24}" y2="${ly}" stroke="${color}" stroke-width="3"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''}/>`);
    out.push(`<text x="${lx + 30}" y="${ly + 4}">${escapeXml(s.label)}</text>`);
    ly += 18;
  });
  out.push('</svg>');
  return out.join('\n');
}

/**
 * Accuracy on each task after each stage, mean ± std over seeds: one line per (strategy, task) from the
 * stage the task was learned on, with error bars and a ± std band; colour = task, dash = strategy.
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
        color: PALETTE[j % PALETTE.length]!,
        dash: DASHES[s % DASHES.length]! || undefined,
      });
    }
  });
  const scale = percentScale(list.flatMap((r) => r.accuracyMatrix.mean.flat()));
  return errorBarCurvesSVG(labels, series, { title: opts.title, width: opts.width ?? 700, height: opts.height ?? 380, scale: scale === 100 ? 'fraction' : 'percent' });
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
      const sd = r.accuracyMatrix.std[i]![j]!;
      return `<td class="num">${fmt(v * scale, 2)}${Number.isFinite(sd) ? ` ± ${fmt(sd * scale, 2)}` : ''}</td>`;
    }).join('')}</tr>`);
    return `<table class="matrix">\n<caption>${escapeXml(r.strategy)}: R[i][j] (%), mean ± std over ${r.seeds.length} seeds</caption>\n<tr><th></th>${labels.map((l) => `<th>on ${escapeXml(l)}</th>`).join('')}</tr>\n${body.join('\n')}\n</table>`;
  };
  return reportPage({
    title, meta, head, rows, json: seededReportJSON(list, meta), style: 'caption{text-align:left;font-weight:bold}',
    sections: [
      '<p>Every value is the mean ± the sample standard deviation (divisor n − 1) over the seeds listed; the JSON below holds each seed\'s values. R[i][j]: accuracy on task j\'s test set after training on tasks 0..i.</p>',
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
