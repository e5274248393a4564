// The charts of continual-learning runs, as SVG strings (no DOM, no Node modules), drawn the same way
// by the HTML reports (report.ts) and the browser demo (web/charts.ts):
//   - accuracyHeatmapSVG: the accuracy matrix R[i][j], one cell per (after task i, tested on task j);
//   - lineChartSVG: lines of points with optional ± std error bars and band, any x (training stages,
//     steps); anytimeAccuracySVG draws accuracy per task against training steps with it.
//
// Conventions, the same everywhere:
//   - a cell of a task not learned yet (j > i) is grey with no number: its accuracy is that of classes
//     the model has never seen (about 0 in class-incremental learning), kept in the data (JSON,
//     metrics) but not drawn as a result; a row not evaluated yet is white with a dashed outline;
//   - accuracies are drawn in percent; a matrix or series whose values are all <= 1 is read as fractions;
//   - in a line chart one point never hides another: every point has a marker (so a series of a
//     single point shows), markers are outlined in white and differ in shape by series, and series
//     sharing an x position can be spread sideways by a few pixels (`dodge`).

/** Escape text for XML/HTML content and attribute values. */
export function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

/** Colours of series (tasks), in order (matplotlib's "tab10"). */
export const CHART_PALETTE: readonly string[] = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];

/** Dash patterns of series (strategies), in order ('' = solid). */
export const CHART_DASHES: readonly string[] = ['', '6 4', '2 3', '8 3 2 3', '1 5'];

/** Shapes of point markers. */
export type MarkerShape = 'circle' | 'square' | 'triangle' | 'diamond' | 'triangle-down';

/** Marker shapes of series, in order. */
export const CHART_MARKERS: readonly MarkerShape[] = ['circle', 'square', 'triangle', 'diamond', 'triangle-down'];

/** Fill of heatmap cells of tasks not learned yet. */
export const UNTRAINED_FILL = '#d9d9d9';

/** 100 when the values look like fractions (all <= 1), else 1: multiply to get percent. */
export function percentScale(values: Iterable<number | null | undefined>): number {
  for (const v of values) if (v != null && Math.abs(v) > 1) return 1;
  return 100;
}

const fmt = (v: number, digits = 1): string => (Number.isFinite(v) ? v.toFixed(digits) : String(v));
const px = (v: number): string => (Math.round(v * 10) / 10).toString();

/** A light-to-dark blue for t in [0, 1]. */
function blue(t: number): string {
  const stops: [number, number, number][] = [[247, 251, 255], [158, 202, 225], [49, 130, 189], [8, 48, 107]];
  const u = Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0)) * (stops.length - 1);
  const i = Math.min(stops.length - 2, Math.floor(u));
  const f = u - i;
  const [a, b] = [stops[i]!, stops[i + 1]!];
  return `rgb(${a.map((x, k) => Math.round(x + (b[k]! - x) * f)).join(',')})`;
}

function svgOpen(w: number, h: number, id?: string): string {
  return `<svg xmlns="http://www.w3.org/2000/svg"${id ? ` id="${escapeXml(id)}"` : ''} width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" font-family="sans-serif" font-size="12">`;
}

// ------------------------------------------------------------------ heatmap

/** Options of `accuracyHeatmapSVG()`. */
export interface HeatmapOptions {
  /** Title drawn above the heatmap (default none). */
  title?: string;
  /** Names of the tasks (default "task 0", "task 1", ...); their number sets the matrix size (default R's rows). */
  taskLabels?: readonly string[];
  /** Cell size in pixels (default: sized to the labels, at least 56). */
  cell?: number;
  /** `id` of the svg element. */
  id?: string;
  /** When set, each drawn value's cell gets id `${cellIdPrefix}${i}-${j}` (e.g. 'R-' gives "R-1-0"). */
  cellIdPrefix?: string;
  /** Colours of the task labels (default black). */
  labelColors?: readonly string[];
}

/**
 * Heatmap of an accuracy matrix: rows "after task i", columns "tested on task j", the value in percent
 * in each cell (`data-value` holds it as given). Cells with j > i (task j not learned yet) are grey
 * with no number; rows missing from `R` (not evaluated yet) are white with a dashed outline.
 */
export function accuracyHeatmapSVG(R: readonly (readonly (number | null | undefined)[] | undefined)[], opts: HeatmapOptions = {}): string {
  const T = opts.taskLabels?.length ?? R.length;
  const labels = Array.from({ length: T }, (_, j) => opts.taskLabels?.[j] ?? `task ${j}`);
  const longest = Math.max(0, ...labels.map((l) => l.length));
  // About 7 px per character at 12 px, so column headers do not overlap.
  const cell = opts.cell ?? Math.max(56, 7 * longest + 10);
  const scale = percentScale(R.flatMap((row) => row ?? []));
  const left = Math.max(92, 7 * (longest + 6) + 12);
  const top = opts.title ? 62 : 40;
  const w = left + T * cell + 20;
  const h = top + T * cell + 20;
  const out: string[] = [svgOpen(w, h, opts.id)];
  if (opts.title) out.push(`<text x="${px(w / 2)}" y="18" text-anchor="middle" font-size="14" font-weight="bold">${escapeXml(opts.title)}</text>`);
  out.push(`<text x="${px(left + (T * cell) / 2)}" y="${top - 24}" text-anchor="middle" fill="#444">tested on</text>`);
  const colorOf = (j: number): string => (opts.labelColors ? ` fill="${opts.labelColors[j % opts.labelColors.length]}"` : '');
  labels.forEach((l, j) => out.push(`<text x="${px(left + (j + 0.5) * cell)}" y="${top - 6}" text-anchor="middle"${colorOf(j)}>${escapeXml(l)}</text>`));
  const big = cell > 60 ? 15 : 12;
  for (let i = 0; i < T; i++) {
    const y = top + i * cell;
    out.push(`<text x="${left - 8}" y="${px(y + cell / 2 + 4)}" text-anchor="end" fill="#444">after ${escapeXml(labels[i]!)}</text>`);
    for (let j = 0; j < T; j++) {
      const x = left + j * cell;
      const rect = `x="${x}" y="${y}" width="${cell}" height="${cell}"`;
      const v = R[i]?.[j];
      if (j > i) {
        out.push(`<rect class="untrained" ${rect} fill="${UNTRAINED_FILL}" stroke="#fff" stroke-width="2"><title>${escapeXml(`${labels[j]} not learned yet after ${labels[i]}`)}</title></rect>`);
      } else if (v == null || !R[i]) {
        out.push(`<rect class="pending" x="${x + 2}" y="${y + 2}" width="${cell - 4}" height="${cell - 4}" fill="#fff" stroke="#bbb" stroke-dasharray="3 3"/>`);
      } else {
        const t = (v * scale) / 100;
        const id = opts.cellIdPrefix !== undefined ? ` id="${escapeXml(`${opts.cellIdPrefix}${i}-${j}`)}"` : '';
        out.push(`<rect class="cell"${id} data-value="${v}" ${rect} fill="${blue(t)}" stroke="#fff" stroke-width="2"/>`);
        out.push(`<text x="${px(x + cell / 2)}" y="${px(y + cell / 2 + 4)}" text-anchor="middle" font-size="${big}" fill="${t > 0.55 ? '#fff' : '#000'}">${fmt(v * scale)}</text>`);
      }
    }
  }
  out.push('</svg>');
  return out.join('\n');
}

// ------------------------------------------------------------------ line chart

/** One point of a `ChartSeries`. */
export interface ChartPoint {
  /** Position on the x axis (data units). */
  x: number;
  /** Value (in the chart's y units, e.g. percent). */
  y: number;
  /** Standard deviation drawn as an error bar (absent or NaN: no bar). */
  std?: number;
}

/** One line of `lineChartSVG()`. */
export interface ChartSeries {
  /** Legend and tooltip text. */
  label: string;
  /** The points, in x order; non-finite y values are skipped. */
  points: readonly ChartPoint[];
  /** Stroke and marker colour (default: the palette by series index). */
  color?: string;
  /** Stroke dash pattern (default solid). */
  dash?: string;
  /** Marker shape (default: `CHART_MARKERS` by series index). */
  marker?: MarkerShape;
}

/** One entry of a chart's legend. */
export interface LegendEntry {
  /** Text. */
  label: string;
  /** Line and marker colour (default dark grey). */
  color?: string;
  /** Dash pattern. */
  dash?: string;
  /** Marker drawn on the sample line. */
  marker?: MarkerShape;
}

/** A labelled position on the x axis. */
export interface AxisTick {
  /** Position (data units). */
  x: number;
  /** Text under the axis. */
  label: string;
  /** Text colour (default black). */
  color?: string;
}

/** Options of `lineChartSVG()`. */
export interface LineChartOptions {
  /** Caption of the x axis. */
  xLabel: string;
  /** Caption of the y axis. */
  yLabel: string;
  /** Title drawn above the plot. */
  title?: string;
  /** `id` of the svg element. */
  id?: string;
  /** Width in pixels (default 640). */
  width?: number;
  /** Height in pixels (default 360). */
  height?: number;
  /** x range drawn (default: the points' range; a single x is centred). */
  xDomain?: readonly [number, number];
  /** Labelled x ticks (default: five evenly spaced numbers). */
  xTicks?: readonly AxisTick[];
  /** y range drawn; values outside are clamped to it (default [0, 100]). */
  yDomain?: readonly [number, number];
  /** y grid lines and their labels (default every 20 from 0 to 100). */
  yTicks?: readonly number[];
  /** x positions of dashed vertical lines (e.g. where a task starts). */
  boundaries?: readonly number[];
  /**
   * Pixels between neighbouring series at the same x (series k of n is moved by (k - (n-1)/2) * dodge),
   * so equal values stay visible side by side; 'auto': up to 6 px, the n series together spanning at
   * most half the smallest gap between x positions (default 0).
   */
  dodge?: number | 'auto';
  /** Shade mean ± std between the points of a series that have a std (default true). */
  band?: boolean;
  /** Legend entries (default one per series), and a heading above them. */
  legend?: readonly LegendEntry[];
  /** Heading of the legend. */
  legendTitle?: string;
  /** Digits of the values in the tooltips (default 2). */
  digits?: number;
}

/** A marker of `shape` centred on (x, y), filled with `color`, outlined in white. */
function marker(shape: MarkerShape, x: number, y: number, color: string, r: number, title?: string): string {
  const t = title ? `<title>${escapeXml(title)}</title>` : '';
  const style = `class="marker" fill="${color}" stroke="#fff" stroke-width="1.2"`;
  const close = (tag: string): string => (t ? `>${t}</${tag}>` : '/>');
  if (shape === 'circle') return `<circle ${style} cx="${px(x)}" cy="${px(y)}" r="${r}"${close('circle')}`;
  if (shape === 'square') return `<rect ${style} x="${px(x - r * 0.9)}" y="${px(y - r * 0.9)}" width="${px(1.8 * r)}" height="${px(1.8 * r)}"${close('rect')}`;
  const k = r * 1.25;
  const pts = shape === 'triangle' ? [[0, -k], [k, 0.8 * k], [-k, 0.8 * k]]
    : shape === 'triangle-down' ? [[0, k], [k, -0.8 * k], [-k, -0.8 * k]]
      : [[0, -k], [k, 0], [0, k], [-k, 0]];
  return `<path ${style} d="M${pts.map(([dx, dy]) => `${px(x + dx!)},${px(y + dy!)}`).join(' L')} Z"${close('path')}`;
}

/**
 * Lines of points with a marker on every point (so a one-point series shows), optional ± std error
 * bars (`<line class="error-bar">`) and band (`<path class="std-band">`), labelled axes, a grid and a
 * legend. Each marker carries a tooltip "label: value ± std".
 */
export function lineChartSVG(series: readonly ChartSeries[], opts: LineChartOptions): string {
  const W = opts.width ?? 640;
  const H = opts.height ?? 360;
  const legend = opts.legend ?? series.map((s, k) => ({ label: s.label, color: s.color ?? CHART_PALETTE[k % CHART_PALETTE.length]!, dash: s.dash, marker: s.marker ?? CHART_MARKERS[k % CHART_MARKERS.length]! }));
  const longest = Math.max(opts.legendTitle?.length ?? 0, ...legend.map((e) => e.label.length));
  const m = { left: 56, right: Math.max(120, 7 * longest + 50), top: opts.title ? 36 : 16, bottom: 50 };
  const pw = W - m.left - m.right;
  const ph = H - m.top - m.bottom;
  const xs = series.flatMap((s) => s.points.map((p) => p.x));
  const [x0, x1] = opts.xDomain ?? [Math.min(...xs, Infinity), Math.max(...xs, -Infinity)];
  const [y0, y1] = opts.yDomain ?? [0, 100];
  const xAt = (x: number): number => (!(x1 > x0) ? m.left + pw / 2 : m.left + ((x - x0) / (x1 - x0)) * pw);
  const yAt = (y: number): number => m.top + ph - ((Math.min(y1, Math.max(y0, y)) - y0) / (y1 - y0)) * ph;
  const digits = opts.digits ?? 2;
  const out: string[] = [svgOpen(W, H, opts.id)];
  if (opts.title) out.push(`<text x="${px(m.left + pw / 2)}" y="20" text-anchor="middle" font-size="14" font-weight="bold">${escapeXml(opts.title)}</text>`);
  for (const p of opts.yTicks ?? [0, 20, 40, 60, 80, 100]) {
    out.push(`<line x1="${m.left}" y1="${px(yAt(p))}" x2="${m.left + pw}" y2="${px(yAt(p))}" stroke="#e4e4e4"/>`);
    out.push(`<text x="${m.left - 6}" y="${px(yAt(p) + 4)}" text-anchor="end">${p}</text>`);
  }
  const ticks: readonly AxisTick[] = opts.xTicks ?? (Number.isFinite(x0) ? Array.from({ length: x1 > x0 ? 5 : 1 }, (_, k) => x0 + ((x1 - x0) * k) / 4).map((x) => ({ x, label: String(Math.round(x * 100) / 100) })) : []);
  for (const t of ticks) out.push(`<text x="${px(xAt(t.x))}" y="${m.top + ph + 18}" text-anchor="middle"${t.color ? ` fill="${t.color}"` : ''}>${escapeXml(t.label)}</text>`);
  for (const b of opts.boundaries ?? []) out.push(`<line x1="${px(xAt(b))}" y1="${m.top}" x2="${px(xAt(b))}" y2="${m.top + ph}" stroke="#999" stroke-dasharray="3 3"/>`);
  out.push(`<line x1="${m.left}" y1="${m.top}" x2="${m.left}" y2="${m.top + ph}" stroke="#000"/>`);
  out.push(`<line x1="${m.left}" y1="${m.top + ph}" x2="${m.left + pw}" y2="${m.top + ph}" stroke="#000"/>`);
  out.push(`<text class="x-label" x="${px(m.left + pw / 2)}" y="${H - 10}" text-anchor="middle" fill="#444">${escapeXml(opts.xLabel)}</text>`);
  out.push(`<text class="y-label" transform="translate(16 ${px(m.top + ph / 2)}) rotate(-90)" text-anchor="middle" fill="#444">${escapeXml(opts.yLabel)}</text>`);
  const n = series.length;
  let dodge = opts.dodge ?? 0;
  if (dodge === 'auto') {
    const at = [...new Set(xs)].map(xAt).sort((a, b) => a - b);
    const gap = at.length > 1 ? Math.min(...at.slice(1).map((v, i) => v - at[i]!)) : pw;
    dodge = n > 1 ? Math.min(6, (0.5 * gap) / (n - 1)) : 0;
  }
  const markers: string[] = [];
  series.forEach((s, k) => {
    const color = s.color ?? CHART_PALETTE[k % CHART_PALETTE.length]!;
    const shape = s.marker ?? CHART_MARKERS[k % CHART_MARKERS.length]!;
    const shift = (k - (n - 1) / 2) * dodge;
    const pts = s.points.filter((p) => Number.isFinite(p.y)).map((p) => ({ x: xAt(p.x) + shift, y: p.y, std: p.std !== undefined && Number.isFinite(p.std) ? p.std : NaN }));
    const banded = pts.filter((p) => Number.isFinite(p.std));
    if ((opts.band ?? true) && banded.length >= 2) {
      const upper = banded.map((p) => `${px(p.x)},${px(yAt(p.y + p.std))}`);
      const lower = banded.map((p) => `${px(p.x)},${px(yAt(p.y - p.std))}`).reverse();
      out.push(`<path class="std-band" d="M${upper.join(' L')} L${lower.join(' L')} Z" fill="${color}" fill-opacity="0.15" stroke="none"/>`);
    }
    if (pts.length >= 2) out.push(`<polyline points="${pts.map((p) => `${px(p.x)},${px(yAt(p.y))}`).join(' ')}" fill="none" stroke="${color}" stroke-width="2"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''}/>`);
    for (const p of pts) {
      if (Number.isFinite(p.std)) {
        const [ya, yb] = [px(yAt(p.y - p.std)), px(yAt(p.y + p.std))];
        out.push(`<line class="error-bar" x1="${px(p.x)}" y1="${ya}" x2="${px(p.x)}" y2="${yb}" stroke="${color}" stroke-width="1.5"/>`);
        out.push(`<line x1="${px(p.x - 4)}" y1="${ya}" x2="${px(p.x + 4)}" y2="${ya}" stroke="${color}" stroke-width="1.5"/>`);
        out.push(`<line x1="${px(p.x - 4)}" y1="${yb}" x2="${px(p.x + 4)}" y2="${yb}" stroke="${color}" stroke-width="1.5"/>`);
      }
      // Markers go on top of every line and bar, so no line hides a point.
      markers.push(marker(shape, p.x, yAt(p.y), color, 4, `${s.label}: ${fmt(p.y, digits)}${Number.isFinite(p.std) ? ` ± ${fmt(p.std, digits)}` : ''}`));
    }
  });
  out.push(...markers);
  let ly = m.top + 6;
  const lx = m.left + pw + 16;
  if (opts.legendTitle) {
    out.push(`<text x="${lx}" y="${ly + 4}" fill="#444">${escapeXml(opts.legendTitle)}</text>`);
    ly += 18;
  }
  for (const e of legend) {
    const color = e.color ?? '#333';
    out.push(`<line x1="${lx}" y1="${ly}" x2="${lx + 24}" y2="${ly}" stroke="${color}" stroke-width="2.5"${e.dash ? ` stroke-dasharray="${e.dash}"` : ''}/>`);
    if (e.marker) out.push(marker(e.marker, lx + 12, ly, color, 4).replace('class="marker"', 'class="legend-marker"'));
    out.push(`<text x="${lx + 30}" y="${ly + 4}">${escapeXml(e.label)}</text>`);
    ly += 18;
  }
  out.push('</svg>');
  return out.join('\n');
}

// ------------------------------------------------------------------ accuracy against steps

/** One evaluation of an anytime-evaluation run: the step and the accuracy on each task (null: not seen yet). */
export interface AnytimePoint {
  /** Training steps (or batches) done so far, over all tasks. */
  step: number;
  /** Accuracy on each task's test set, a fraction in [0, 1]; null or undefined for tasks not seen yet. */
  acc: readonly (number | null | undefined)[];
}

/** Options of `anytimeAccuracySVG()`. */
export interface AnytimeOptions {
  /** Names of the tasks; their number sets the series. */
  taskLabels: readonly string[];
  /** Step at which each task starts (task 0 at 0): a dashed line and the task's name mark each. */
  taskStarts: readonly number[];
  /** Last step of the x axis (default: the last task start plus the mean task length, or the last point). */
  lastStep?: number;
  /** `id` of the svg element. */
  id?: string;
  /** Width in pixels (default 560). */
  width?: number;
  /** Height in pixels (default 280). */
  height?: number;
}

/**
 * Test accuracy on each task against training steps (one line per task, from its first evaluation),
 * task boundaries dashed and labelled with the task that starts there, x "training steps", y "test
 * accuracy (%)".
 */
export function anytimeAccuracySVG(points: readonly AnytimePoint[], opts: AnytimeOptions): string {
  const T = opts.taskLabels.length;
  const starts = opts.taskStarts;
  const meanLen = starts.length > 1 ? (starts[starts.length - 1]! - starts[0]!) / (starts.length - 1) : 0;
  const lastPoint = Math.max(0, ...points.map((p) => p.step));
  const end = opts.lastStep ?? Math.max(lastPoint, (starts[T - 1] ?? 0) + meanLen, 1);
  const series: ChartSeries[] = opts.taskLabels.map((label, j) => ({
    label,
    color: CHART_PALETTE[j % CHART_PALETTE.length]!,
    marker: CHART_MARKERS[j % CHART_MARKERS.length]!,
    points: points.filter((p) => p.acc[j] != null).map((p) => ({ x: p.step, y: 100 * p.acc[j]! })),
  }));
  const ticks = opts.taskLabels.map((label, t) => ({ x: ((starts[t] ?? 0) + (starts[t + 1] ?? end)) / 2, label, color: CHART_PALETTE[t % CHART_PALETTE.length]! }));
  return lineChartSVG(series, {
    id: opts.id, width: opts.width ?? 560, height: opts.height ?? 280, xDomain: [0, end], xTicks: ticks,
    boundaries: starts.filter((s) => s > 0), dodge: 2, digits: 1,
    xLabel: 'training steps (dashed lines: a new task starts)', yLabel: 'test accuracy (%)', legendTitle: 'accuracy on',
  });
}
