// An SVG line chart of anytime-evaluation curves (runOnlineStream results): accuracy against stream
// steps, one line per strategy (mean accuracy over the tasks seen so far) or, for one result, one line
// per task; dashed verticals mark where each task starts. Self-contained (no DOM): a string of SVG.

import { EngramError } from '../engine/runtime.js';
import type { AnytimeResult } from './online.js';

/** Options of `anytimeChartSVG()`. */
export interface AnytimeChartOptions {
  /** Title above the plot. */
  title?: string;
  /** 'seen' (default): one line per result, the mean over the tasks seen so far; 'tasks': one line per task of the first result. */
  curves?: 'seen' | 'tasks';
  /** Width and height in pixels (default 640 x 360). */
  width?: number;
  /** Height in pixels (default 360). */
  height?: number;
}

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** An SVG chart (a string) of anytime accuracy curves: accuracy (0-100%) against stream steps. */
export function anytimeChartSVG(results: readonly AnytimeResult[], opts: AnytimeChartOptions = {}): string {
  if (results.length === 0) throw new EngramError('anytimeChartSVG: needs at least one result');
  const W = opts.width ?? 640;
  const H = opts.height ?? 360;
  const mode = opts.curves ?? 'seen';
  const pad = { l: 48, r: 150, t: opts.title ? 30 : 12, b: 36 };
  const maxStep = Math.max(1, ...results.map((r) => r.totalSteps));
  const px = (s: number): number => pad.l + (s / maxStep) * (W - pad.l - pad.r);
  const py = (a: number): number => pad.t + (1 - a) * (H - pad.t - pad.b);
  const lines: { label: string; points: [number, number][] }[] = mode === 'tasks'
    ? results[0]!.accuracy[0]!.map((_, j) => ({ label: `task ${j}`, points: results[0]!.steps.map((s, p) => [s, results[0]!.accuracy[p]![j]!] as [number, number]) }))
    : results.map((r) => ({ label: r.strategy, points: r.steps.map((s, p) => [s, r.seenAccuracy[p]!] as [number, number]) }));
  const parts: string[] = [`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">`];
  if (opts.title) parts.push(`<text x="${W / 2}" y="18" text-anchor="middle" font-size="13">${esc(opts.title)}</text>`);
  for (let a = 0; a <= 1.0001; a += 0.25) {
    parts.push(`<line x1="${pad.l}" x2="${W - pad.r}" y1="${py(a).toFixed(1)}" y2="${py(a).toFixed(1)}" stroke="#ddd"/>`, `<text x="${pad.l - 6}" y="${(py(a) + 4).toFixed(1)}" text-anchor="end">${Math.round(a * 100)}%</text>`);
  }
  for (const s of results[0]!.taskStarts.slice(1)) parts.push(`<line x1="${px(s).toFixed(1)}" x2="${px(s).toFixed(1)}" y1="${pad.t}" y2="${H - pad.b}" stroke="#999" stroke-dasharray="4 3"/>`);
  parts.push(`<line x1="${pad.l}" x2="${W - pad.r}" y1="${H - pad.b}" y2="${H - pad.b}" stroke="#333"/>`, `<text x="${(pad.l + W - pad.r) / 2}" y="${H - 8}" text-anchor="middle">stream steps (batches of ${results[0]!.batchSize}); dashed: a task starts</text>`);
  parts.push(`<text x="${W - pad.r}" y="${H - pad.b + 14}" text-anchor="end">${maxStep}</text>`, `<text x="${pad.l}" y="${H - pad.b + 14}" text-anchor="middle">0</text>`);
  lines.forEach((ln, i) => {
    const c = COLORS[i % COLORS.length]!;
    const d = ln.points.map(([s, a]) => `${px(s).toFixed(1)},${py(a).toFixed(1)}`).join(' ');
    parts.push(`<polyline fill="none" stroke="${c}" stroke-width="1.8" points="${d}"><title>${esc(ln.label)}</title></polyline>`);
    parts.push(`<rect x="${W - pad.r + 10}" y="${pad.t + 14 * i}" width="10" height="10" fill="${c}"/>`, `<text x="${W - pad.r + 24}" y="${pad.t + 14 * i + 9}">${esc(ln.label)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n');
}
