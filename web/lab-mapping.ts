// The lab's mapping pictures: which workgroup and which thread writes each output element. The
// geometry is not assumed: the op is run on the GPU with `runtime().trace` on, and the picture is
// drawn from the dispatch it recorded (its workgroup grid) and the @workgroup_size of the very WGSL
// the engine generated for it. The ownership rule per kernel is the one its header comment in
// src/shaders states; the page checks that the recorded grid covers the output with it.

import * as E from '../src/index.js';
import { matmulTiledWGSL, TILE, WG_SIDE } from '../src/shaders/matmul.js';
import { unaryForwardWGSL } from '../src/shaders/elementwise.js';
import { reduceWGSL } from '../src/shaders/reduce.js';
import { conv2dDirectWGSL } from '../src/shaders/conv2d.js';
import { stepDepth } from './lab-staging.js';

export interface Owner {
  /** Workgroup id (x, y). */
  wg: [number, number];
  /** Local invocation id (x, y). */
  thread: [number, number];
}

export interface Mapping {
  id: string;
  title: string;
  text: string;
  /** Output rows and columns drawn. */
  size: { rows: number; cols: number };
  /** What the main grid is (default 'output'; a reduction draws its input, where the threads work). */
  gridName?: string;
  /** The WGSL whose @workgroup_size the picture uses (the one the op dispatches). */
  wgsl(): string;
  /** Run the op at this size with the trace on; the dispatch of the kernel drawn. */
  record(rows: number, cols: number): E.TracedDispatch;
  /** Who writes output element (r, c), for a recorded grid. */
  owner(r: number, c: number, cols: number): Owner;
  /** The workgroup grid the rule needs (to check against the recorded one). */
  expectedGrid(rows: number, cols: number): [number, number];
  /** What the element's thread reads, in words. */
  reads(r: number, c: number, cols: number): string;
  /** The inputs drawn beside the output: A to the left of C, B above it, as in C = A @ B. */
  operands: Operand[];
  /** What to highlight in the inputs when output element (r, c) is hovered. */
  inputBoxes(r: number, c: number, rows: number, cols: number): Box[];
}

export interface Operand {
  name: string;
  place: 'left' | 'top';
  shape(rows: number, cols: number): [number, number];
  /** Draw a line every this many columns (left) or rows (top): the K steps staged at a time. */
  stepEvery?: number;
}

/** A rectangle of input cells: what the workgroup stages ('staged') or what the thread reads ('read'). */
export interface Box {
  operand: number;
  r0: number;
  c0: number;
  rows: number;
  cols: number;
  kind: 'staged' | 'read';
}

/** Run `f` with the trace on and return the dispatch of the kernel named `name`. */
function traced(name: string, f: () => void): E.TracedDispatch {
  const rt = E.runtime();
  const trace: E.TracedDispatch[] = [];
  rt.trace = trace;
  try {
    E.scope(f);
  } finally {
    rt.trace = null;
  }
  const d = trace.find((t) => t.kernel.name === name);
  if (!d) throw new Error(`no '${name}' dispatch recorded (got ${trace.map((t) => t.kernel.name).join(', ')})`);
  return d;
}

/** The x and y of a kernel's @workgroup_size. */
export function workgroupSize(wgsl: string): [number, number] {
  const m = /@workgroup_size\(\s*(\d+)\s*(?:,\s*(\d+))?/.exec(wgsl);
  if (!m) throw new Error('no @workgroup_size in the kernel');
  return [Number(m[1]), Number(m[2] ?? 1)];
}

const VARIANT = { transA: false, transB: false, bias: false };
/** Depth of one step of the tiled kernel's K loop, read from its WGSL. */
const K_STEP = stepDepth(matmulTiledWGSL(VARIANT));
/** K of the matmul picture: two steps of the tiled kernel's slices. */
const K_DRAWN = 2 * K_STEP;

export const MAPPINGS: Mapping[] = [
  {
    id: 'matmul-tiled',
    title: 'matmul, workgroup-tiled kernel: C[M, N] = A[M, K] @ B[K, N]',
    text: `Each workgroup owns a ${TILE}×${TILE} tile of C; each of its ${WG_SIDE}×${WG_SIDE} threads owns 16 elements, strided by ${WG_SIDE} in both directions (so neighbouring threads touch neighbouring words). Per step of K the workgroup stages a ${TILE}×${K_STEP} slice of A (its tile's rows) and a ${K_STEP}×${TILE} slice of B (its tile's columns) in workgroup memory. Drawn with K = ${K_DRAWN}: A [M, K] to the left, B [K, N] above, lines every ${K_STEP} k (one staging step). Hover an element of C: its workgroup\'s tile is outlined and the 16 elements of its thread are filled; in A and B the bands the workgroup stages are shaded and the row and column the thread reads are filled.`,
    size: { rows: 80, cols: 96 },
    wgsl: () => matmulTiledWGSL(VARIANT),
    record: (M, N) => {
      const K = K_DRAWN;
      const a = E.zeros([M, K]);
      const b = E.zeros([K, N]);
      const out = E.empty([M, N]);
      try {
        return traced('matmul', () => void E.gemm({ a, b, out, M, N, K, kernel: 'tiled' }));
      } finally {
        a.dispose();
        b.dispose();
        out.dispose();
      }
    },
    owner: (r, c) => ({ wg: [Math.floor(c / TILE), Math.floor(r / TILE)], thread: [(c % TILE) % WG_SIDE, (r % TILE) % WG_SIDE] }),
    expectedGrid: (M, N) => [Math.ceil(N / TILE), Math.ceil(M / TILE)],
    reads: (r, c) => {
      const r0 = Math.floor(r / TILE) * TILE;
      const c0 = Math.floor(c / TILE) * TILE;
      return `reads row ${r} of A and column ${c} of B, all of K, from workgroup memory; the workgroup stages rows ${r0}–${r0 + TILE - 1} of A and columns ${c0}–${c0 + TILE - 1} of B, ${K_STEP} k at a time`;
    },
    operands: [
      { name: 'A', place: 'left', shape: (M) => [M, K_DRAWN], stepEvery: K_STEP },
      { name: 'B', place: 'top', shape: (_M, N) => [K_DRAWN, N], stepEvery: K_STEP },
    ],
    inputBoxes: (r, c, M, N) => {
      const r0 = Math.floor(r / TILE) * TILE;
      const c0 = Math.floor(c / TILE) * TILE;
      return [
        { operand: 0, r0, c0: 0, rows: Math.min(TILE, M - r0), cols: K_DRAWN, kind: 'staged' },
        { operand: 1, r0: 0, c0, rows: K_DRAWN, cols: Math.min(TILE, N - c0), kind: 'staged' },
        { operand: 0, r0: r, c0: 0, rows: 1, cols: K_DRAWN, kind: 'read' },
        { operand: 1, r0: 0, c0: c, rows: K_DRAWN, cols: 1, kind: 'read' },
      ];
    },
  },
  {
    id: 'unary',
    title: 'elementwise, relu forward: y[i] = max(x[i], 0) over a [rows, cols] tensor',
    text: 'x (left) and y (right) are flat arrays of rows·cols elements; one thread per element, 256 threads per workgroup, workgroups along x (folded into y past 65535). Workgroup boundaries ignore the rows: a workgroup is 256 consecutive elements. Hover an element of y: its workgroup is outlined, its thread filled, and the one element of x it reads filled.',
    size: { rows: 24, cols: 40 },
    wgsl: () => unaryForwardWGSL('relu'),
    record: (rows, cols) => {
      const x = E.zeros([rows, cols]);
      try {
        return traced('relu_fwd', () => void E.relu(x));
      } finally {
        x.dispose();
      }
    },
    owner: (r, c, cols) => {
      const i = r * cols + c;
      return { wg: [Math.floor(i / 256), 0], thread: [i % 256, 0] };
    },
    expectedGrid: (rows, cols) => E.grid1d(rows * cols),
    reads: (r, c, cols) => `reads x[${r * cols + c}] only`,
    operands: [{ name: 'x', place: 'left', shape: (rows, cols) => [rows, cols] }],
    inputBoxes: (r, c) => [{ operand: 0, r0: r, c0: c, rows: 1, cols: 1, kind: 'read' }],
  },
  {
    id: 'reduce-row',
    title: 'reduction, row layout: y[r] = Σ_c x[r, c] (sum along dim 1)',
    text: 'Rows long enough (at least 33 elements) get a whole workgroup each: workgroup r reduces row r, its 256 threads striding over the row (thread t adds x[r, t], x[r, t + 256], …), then the 256 partial sums are added in a tree in workgroup memory and thread 0 writes y[r]. The grid drawn is the input x, coloured by the workgroup that reads each element; y is to the left. Hover an element: its workgroup\'s row is outlined, the elements its thread adds are filled, and the y[r] the workgroup writes is marked.',
    size: { rows: 12, cols: 80 },
    gridName: 'x (input)',
    wgsl: () => reduceWGSL('sum', 'row', false),
    record: (rows, cols) => {
      const x = E.zeros([rows, cols]);
      try {
        return traced('reduce_sum_row', () => void E.sum(x, 1));
      } finally {
        x.dispose();
      }
    },
    owner: (r, c) => ({ wg: [r, 0], thread: [c % 256, 0] }),
    expectedGrid: (rows) => E.grid1d(rows, 1),
    reads: (r, c) => `adds x[${r}, ${c % 256}], x[${r}, ${(c % 256) + 256}], … into its partial sum; the workgroup's tree then writes y[${r}]`,
    operands: [{ name: 'y', place: 'left', shape: (rows) => [rows, 1] }],
    inputBoxes: (r) => [{ operand: 0, r0: r, c0: 0, rows: 1, cols: 1, kind: 'read' }],
  },
  {
    id: 'conv-direct',
    title: 'conv2d, naive direct kernel: y[0, 0] = Σ_c x[0, c] ⋆ w[0, c] (3×3, padding 1, 2 input channels)',
    text: 'One thread per output element over [N, CO, OH, OW] (here one image, one output channel), 256 per workgroup, workgroups along x: a workgroup is 256 consecutive output pixels, across row boundaries. Each thread reads its 3×3 window in every input channel straight from global memory (no workgroup memory: neighbouring threads re-read the same inputs, which the implicit-GEMM kernel stages once per tile instead). Hover an output pixel: its workgroup is outlined, its thread filled, and the window it reads in x (channel 0 drawn; channel 1 is read at the same place) is filled.',
    size: { rows: 20, cols: 28 },
    wgsl: () => conv2dDirectWGSL(false),
    record: (rows, cols) => {
      const x = E.zeros([1, 2, rows, cols]);
      const w = E.zeros([1, 2, 3, 3]);
      try {
        return traced('conv2d_direct', () => void E.conv2dDirect(x, w, null, { padding: 1 }));
      } finally {
        x.dispose();
        w.dispose();
      }
    },
    owner: (r, c, cols) => {
      const i = r * cols + c;
      return { wg: [Math.floor(i / 256), 0], thread: [i % 256, 0] };
    },
    expectedGrid: (rows, cols) => E.grid1d(rows * cols),
    reads: (r, c) => `reads x[0, c, ${r - 1}..${r + 1}, ${c - 1}..${c + 1}] (zeros outside) for c = 0, 1 and the 18 weights`,
    operands: [{ name: 'x channel 0', place: 'left', shape: (rows, cols) => [rows, cols] }],
    inputBoxes: (r, c, rows, cols) => {
      const r0 = Math.max(0, r - 1);
      const c0 = Math.max(0, c - 1);
      return [{ operand: 0, r0, c0, rows: Math.min(rows - 1, r + 1) - r0 + 1, cols: Math.min(cols - 1, c + 1) - c0 + 1, kind: 'read' }];
    },
  },
];

const PALETTE = ['#dbe8fb', '#fde2c8', '#d6f0d6', '#f6d5e5', '#e6e0f7', '#fbf3c4', '#d3eff2', '#eadcd0'];

/** Draw mapping `m` into `el`: size inputs, the recorded geometry, and the hoverable SVG. */
export function renderMapping(m: Mapping, el: HTMLElement): void {
  el.innerHTML = `<h3>${m.title}</h3><p class="small">${m.text}</p>` +
    `<form class="controls compact" onsubmit="return false"><label>rows <input type="number" min="1" max="256" data-rows value="${m.size.rows}"></label>` +
    `<label>cols <input type="number" min="1" max="256" data-cols value="${m.size.cols}"></label><button type="button" data-draw>Draw</button></form>` +
    '<p class="small geometry"></p><div class="svg"></div><p class="small hover muted">Hover an output element.</p>';
  const draw = (): void => {
    try {
      const rows = Number(el.querySelector<HTMLInputElement>('[data-rows]')!.value);
      const cols = Number(el.querySelector<HTMLInputElement>('[data-cols]')!.value);
      if (!(Number.isInteger(rows) && Number.isInteger(cols) && rows >= 1 && cols >= 1 && rows <= 256 && cols <= 256)) throw new Error('rows and cols must be integers in 1..256');
      const d = m.record(rows, cols);
      const [wx, wy] = workgroupSize(m.wgsl());
      const want = m.expectedGrid(rows, cols);
      const grid = d.workgroups;
      const agrees = grid[0] === want[0] && grid[1] === want[1];
      el.querySelector('.geometry')!.innerHTML = `Recorded dispatch <code>${d.kernel.name}</code>: ${grid.join(' × ')} workgroups of ${wx} × ${wy} threads ` +
        `(${grid[0] * grid[1] * grid[2] * wx * wy} threads for ${rows * cols} elements). ` +
        (agrees ? '<span class="ok">The ownership rule below needs exactly this grid.</span>' : `<span class="bad">The rule drawn expects ${want.join(' × ')}: the kernel changed and this picture is out of date.</span>`);
      el.dataset.workgroups = grid.join('x');
      el.dataset.workgroupSize = `${wx}x${wy}`;
      el.dataset.agrees = String(agrees);
      drawSVG(m, el, rows, cols);
      el.dataset.state = 'done';
    } catch (e) {
      el.querySelector('.geometry')!.textContent = e instanceof Error ? e.message : String(e);
      el.dataset.state = 'error';
    }
  };
  el.querySelector('[data-draw]')!.addEventListener('click', draw);
  draw();
}

function drawSVG(m: Mapping, el: HTMLElement, rows: number, cols: number): void {
  // Layout as in C = A @ B: an input placed 'left' shares C's rows, one placed 'top' its columns.
  const shapes = m.operands.map((o) => o.shape(rows, cols));
  const leftW = Math.max(0, ...m.operands.map((o, i) => (o.place === 'left' ? shapes[i]![1] : 0)));
  const topH = Math.max(0, ...m.operands.map((o, i) => (o.place === 'top' ? shapes[i]![0] : 0)));
  const cell = Math.max(3, Math.min(12, Math.floor(720 / (Math.max(rows + topH, cols + leftW) + 4))));
  const gap = 2 * cell + 10;
  const ox = leftW ? leftW * cell + gap : 0;
  const oy = topH ? topH * cell + gap : 0;
  const origin = (i: number): [number, number] => (m.operands[i]!.place === 'left' ? [0, oy] : [ox, 0]);
  const wgIndex = (o: Owner) => o.wg[0] + 1000 * o.wg[1];
  const parts: string[] = [];
  m.operands.forEach((o, i) => {
    const [x0, y0] = origin(i);
    const [r, c] = shapes[i]!;
    parts.push(`<rect x="${x0}" y="${y0}" width="${c * cell}" height="${r * cell}" fill="#eef1f5" stroke="#9aa3ae" stroke-width="0.5"/>`);
    if (o.stepEvery) {
      const along = o.place === 'left' ? c : r;
      for (let k = o.stepEvery; k < along; k += o.stepEvery) {
        parts.push(o.place === 'left'
          ? `<line x1="${x0 + k * cell}" y1="${y0}" x2="${x0 + k * cell}" y2="${y0 + r * cell}" stroke="#5a6270" stroke-dasharray="3 2"/>`
          : `<line x1="${x0}" y1="${y0 + k * cell}" x2="${x0 + c * cell}" y2="${y0 + k * cell}" stroke="#5a6270" stroke-dasharray="3 2"/>`);
      }
    }
    parts.push(`<text x="${x0 + 2}" y="${y0 - 3}" font-size="11" fill="#5a6270">${o.name} [${r}, ${c}]</text>`);
  });
  parts.push(`<text x="${ox + 2}" y="${oy - 3}" font-size="11" fill="#5a6270">${m.gridName ?? 'output'} [${rows}, ${cols}]</text>`);
  const rects: string[] = [];
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const o = m.owner(r, c, cols);
      const color = PALETTE[(o.wg[0] + 3 * o.wg[1]) % PALETTE.length];
      rects.push(`<rect x="${ox + c * cell}" y="${oy + r * cell}" width="${cell}" height="${cell}" fill="${color}" data-r="${r}" data-c="${c}" data-wg="${wgIndex(o)}" data-t="${o.thread[0]},${o.thread[1]}"/>`);
    }
  }
  const w = ox + cols * cell;
  const h = oy + rows * cell;
  // 14 px above for the labels.
  el.querySelector('.svg')!.innerHTML = `<svg class="map" width="${w + 2}" height="${h + 16}" viewBox="-1 -15 ${w + 2} ${h + 16}">${parts.join('')}` +
    `<g class="cells" stroke="#fff" stroke-width="${cell > 5 ? 0.5 : 0}">${rects.join('')}</g><g class="hl" pointer-events="none"></g></svg>`;
  const svg = el.querySelector('svg')!;
  const hl = svg.querySelector('g.hl')!;
  const info = el.querySelector('.hover')!;
  svg.addEventListener('mouseover', (ev) => {
    const t = ev.target as SVGRectElement;
    if (!t.dataset?.r) return;
    const r = Number(t.dataset.r);
    const c = Number(t.dataset.c);
    const o = m.owner(r, c, cols);
    const marks: string[] = [];
    // The workgroup's elements outlined, its thread's filled (the highlight layer ignores the pointer).
    for (const x of Array.from(svg.querySelectorAll<SVGRectElement>(`g.cells rect[data-wg="${t.dataset.wg}"]`))) {
      const same = x.dataset.t === t.dataset.t;
      marks.push(same
        ? `<rect class="thread" x="${x.getAttribute('x')}" y="${x.getAttribute('y')}" width="${cell}" height="${cell}" fill="#1f5fbf" opacity="0.85"/>`
        : `<rect x="${x.getAttribute('x')}" y="${x.getAttribute('y')}" width="${cell}" height="${cell}" fill="none" stroke="#1f5fbf" stroke-width="0.6" opacity="0.5"/>`);
    }
    for (const b of m.inputBoxes(r, c, rows, cols)) {
      const [x0, y0] = origin(b.operand);
      const style = b.kind === 'staged' ? 'fill="#f0a13a" opacity="0.35"' : 'fill="#1f5fbf" opacity="0.8"';
      marks.push(`<rect class="${b.kind}" x="${x0 + b.c0 * cell}" y="${y0 + b.r0 * cell}" width="${b.cols * cell}" height="${b.rows * cell}" ${style}/>`);
    }
    hl.innerHTML = marks.join('');
    info.textContent = `output [${r}, ${c}] (element ${r * cols + c}): workgroup (${o.wg[0]}, ${o.wg[1]}), thread (${o.thread[0]}, ${o.thread[1]}); it ${m.reads(r, c, cols)}.`;
    el.dataset.hover = `${o.wg[0]},${o.wg[1]}|${o.thread[0]},${o.thread[1]}`;
  });
}
