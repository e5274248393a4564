// The demo's two SVG charts, built as strings: accuracy per task over training steps, and the
// accuracy matrix as a heatmap whose unfilled rows stay blank while training goes on.

import { escapeXml } from '../src/cl/report.js';
import type { EvalPoint } from './experiment.js';

export const TASK_COLORS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];
const color = (j: number): string => TASK_COLORS[j % TASK_COLORS.length]!;
const r1 = (v: number): string => (Math.round(v * 10) / 10).toString();
const pct = (v: number): string => `${(100 * v).toFixed(1)}`;

export interface CurvesInput {
  points: readonly EvalPoint[];
  taskLabels: readonly string[];
  /** Steps per task: the x axis spans taskLabels.length * stepsPerTask, with a mark at each task start. */
  stepsPerTask: number;
}

/** Test accuracy on each task (one line per task, from the evaluation after its first chunk) against steps. */
export function curvesSVG({ points, taskLabels, stepsPerTask }: CurvesInput): string {
  const T = taskLabels.length;
  const W = 560;
  const H = 280;
  const m = { left: 48, right: 130, top: 14, bottom: 44 };
  const pw = W - m.left - m.right;
  const ph = H - m.top - m.bottom;
  const maxStep = Math.max(1, T * stepsPerTask);
  const x = (step: number): number => m.left + (step / maxStep) * pw;
  const y = (acc: number): number => m.top + ph - Math.min(1, Math.max(0, acc)) * ph;
  const out: string[] = [`<svg xmlns="http://www.w3.org/2000/svg" id="curves-svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`];
  for (let p = 0; p <= 100; p += 20) {
    out.push(`<line x1="${m.left}" y1="${r1(y(p / 100))}" x2="${m.left + pw}" y2="${r1(y(p / 100))}" stroke="#e4e4e4"/>`);
    out.push(`<text x="${m.left - 6}" y="${r1(y(p / 100) + 4)}" text-anchor="end">${p}</text>`);
  }
  // Task boundaries, labelled with the task that starts there.
  for (let t = 0; t < T; t++) {
    const bx = r1(x(t * stepsPerTask));
    if (t > 0) out.push(`<line x1="${bx}" y1="${m.top}" x2="${bx}" y2="${m.top + ph}" stroke="#999" stroke-dasharray="3 3"/>`);
    out.push(`<text x="${r1(x((t + 0.5) * stepsPerTask))}" y="${m.top + ph + 16}" text-anchor="middle" fill="${color(t)}">${escapeXml(taskLabels[t]!)}</text>`);
  }
  out.push(`<line x1="${m.left}" y1="${m.top}" x2="${m.left}" y2="${m.top + ph}" stroke="#000"/>`);
  out.push(`<line x1="${m.left}" y1="${m.top + ph}" x2="${m.left + pw}" y2="${m.top + ph}" stroke="#000"/>`);
  out.push(`<text x="${r1(m.left + pw / 2)}" y="${H - 6}" text-anchor="middle" fill="#444">training steps (dashed lines: a new task starts)</text>`);
  out.push(`<text transform="translate(13 ${r1(m.top + ph / 2)}) rotate(-90)" text-anchor="middle" fill="#444">test accuracy (%)</text>`);
  for (let j = 0; j < T; j++) {
    const pts = points.filter((p) => p.acc[j] != null).map((p) => `${r1(x(p.step))},${r1(y(p.acc[j]!))}`);
    if (pts.length === 0) continue;
    out.push(`<polyline points="${pts.join(' ')}" fill="none" stroke="${color(j)}" stroke-width="2.5"/>`);
    for (const xy of pts) {
      const [cx, cy] = xy.split(',');
      out.push(`<circle cx="${cx}" cy="${cy}" r="3" fill="${color(j)}"/>`);
    }
  }
  let ly = m.top + 8;
  const lx = m.left + pw + 14;
  out.push(`<text x="${lx}" y="${ly}" fill="#444">accuracy on</text>`);
  for (let j = 0; j < T; j++) {
    ly += 18;
    out.push(`<line x1="${lx}" y1="${ly - 4}" x2="${lx + 22}" y2="${ly - 4}" stroke="${color(j)}" stroke-width="3"/>`);
    out.push(`<text x="${lx + 28}" y="${ly}">${escapeXml(taskLabels[j]!)}</text>`);
  }
  out.push('</svg>');
  return out.join('');
}

/** A light-to-dark blue for an accuracy in [0, 1]. */
function blue(t: number): string {
  const stops = [[247, 251, 255], [158, 202, 225], [49, 130, 189], [8, 48, 107]];
  const u = Math.min(1, Math.max(0, t)) * (stops.length - 1);
  const i = Math.min(stops.length - 2, Math.floor(u));
  const c = stops[i]!.map((a, k) => Math.round(a + (stops[i + 1]![k]! - a) * (u - i)));
  return `rgb(${c.join(',')})`;
}

/**
 * R[i][j] (row: after task i, column: tested on task j) for the rows done so far; cells of later rows
 * and of tasks not yet learned are left blank. Filled cells carry id "R-i-j" and data-value.
 */
export function heatmapSVG(R: readonly (readonly number[])[], taskLabels: readonly string[]): string {
  const T = taskLabels.length;
  const cell = T > 3 ? 52 : T > 2 ? 80 : 100;
  const left = 92;
  const top = 40;
  const W = left + T * cell + 10;
  const H = top + T * cell + 10;
  const out: string[] = [`<svg xmlns="http://www.w3.org/2000/svg" id="heatmap-svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`];
  out.push(`<text x="${left + (T * cell) / 2}" y="13" text-anchor="middle" fill="#444">tested on</text>`);
  for (let j = 0; j < T; j++) out.push(`<text x="${left + (j + 0.5) * cell}" y="${top - 8}" text-anchor="middle" fill="${color(j)}">${escapeXml(taskLabels[j]!)}</text>`);
  for (let i = 0; i < T; i++) {
    const yy = top + i * cell;
    out.push(`<text x="${left - 8}" y="${yy + cell / 2 + 4}" text-anchor="end" fill="#444">after ${escapeXml(taskLabels[i]!)}</text>`);
    for (let j = 0; j < T; j++) {
      const xx = left + j * cell;
      const v = R[i]?.[j];
      if (v === undefined) {
        out.push(`<rect x="${xx}" y="${yy}" width="${cell}" height="${cell}" fill="#f4f4f4" stroke="#fff" stroke-width="2"/>`);
        continue;
      }
      out.push(`<rect id="R-${i}-${j}" data-value="${v}" x="${xx}" y="${yy}" width="${cell}" height="${cell}" fill="${blue(v)}" stroke="#fff" stroke-width="2"/>`);
      out.push(`<text x="${xx + cell / 2}" y="${yy + cell / 2 + 4}" text-anchor="middle" font-size="${cell > 60 ? 15 : 12}" fill="${v > 0.55 ? '#fff' : '#000'}">${pct(v)}</text>`);
    }
  }
  out.push('</svg>');
  return out.join('');
}
