// The lab's mapping pictures: which workgroup and which thread writes each output element. The
// geometry is not assumed: the op is run on the GPU with `runtime().trace` on, and the picture is
// drawn from the dispatch it recorded (its workgroup grid) and the @workgroup_size of the very WGSL
// the engine generated for it. The ownership rule per kernel is the one its header comment in
// src/shaders states; the page checks that the recorded grid covers the output with it.

import * as E from '../src/index.js';
import { matmulTiledWGSL, TILE, WG_SIDE } from '../src/shaders/matmul.js';
import { unaryForwardWGSL } from '../src/shaders/elementwise.js';

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

export const MAPPINGS: Mapping[] = [
  {
    id: 'matmul-tiled',
    title: 'matmul, workgroup-tiled kernel: C[M, N] = A[M, K] @ B[K, N]',
    text: `Each workgroup owns a ${TILE}×${TILE} tile of C; each of its ${WG_SIDE}×${WG_SIDE} threads owns 16 elements, strided by ${WG_SIDE} in both directions (so neighbouring threads touch neighbouring words). Per step of K the workgroup stages a ${TILE}×16 slice of A (its tile's rows) and a 16×${TILE} slice of B (its tile's columns) in workgroup memory. Hover an element: its workgroup's tile is outlined and the 16 elements of its thread are filled.`,
    size: { rows: 80, cols: 96 },
    wgsl: () => matmulTiledWGSL(VARIANT),
    record: (M, N) => {
      const K = 8;
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
      return `reads row ${r} of A and column ${c} of B, all of K, from workgroup memory; the workgroup stages rows ${r0}–${r0 + TILE - 1} of A and columns ${c0}–${c0 + TILE - 1} of B, 16 k at a time`;
    },
  },
  {
    id: 'unary',
    title: 'elementwise, relu forward: y[i] = max(x[i], 0) over a [rows, cols] tensor',
    text: 'The tensor is a flat array of rows·cols elements; one thread per element, 256 threads per workgroup, workgroups along x (folded into y past 65535). Workgroup boundaries ignore the rows: a workgroup is 256 consecutive elements. Hover an element: its workgroup is outlined and its thread filled.',
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
  const cell = Math.max(3, Math.min(12, Math.floor(640 / Math.max(rows, cols))));
  const wgIndex = (o: Owner) => o.wg[0] + 1000 * o.wg[1];
  const rects: string[] = [];
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const o = m.owner(r, c, cols);
      const color = PALETTE[(o.wg[0] + 3 * o.wg[1]) % PALETTE.length];
      rects.push(`<rect x="${c * cell}" y="${r * cell}" width="${cell}" height="${cell}" fill="${color}" data-r="${r}" data-c="${c}" data-wg="${wgIndex(o)}" data-t="${o.thread[0]},${o.thread[1]}"/>`);
    }
  }
  const w = cols * cell;
  const h = rows * cell;
  el.querySelector('.svg')!.innerHTML = `<svg class="map" width="${w + 2}" height="${h + 2}" viewBox="-1 -1 ${w + 2} ${h + 2}">` +
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
    const mine: string[] = [];
    // The workgroup's outline: the bounding box of its elements (a rectangle for both kernels,
    // except where a flat 256-element workgroup wraps a row: then each row piece is outlined).
    for (const x of Array.from(svg.querySelectorAll<SVGRectElement>(`g.cells rect[data-wg="${t.dataset.wg}"]`))) {
      const same = x.dataset.t === t.dataset.t;
      mine.push(`<rect x="${x.getAttribute('x')}" y="${x.getAttribute('y')}" width="${cell}" height="${cell}" fill="${same ? '#1f5fbf' : 'none'}" stroke="${same ? 'none' : '#1f5fbf'}" stroke-width="${same ? 0 : 0.6}" opacity="${same ? 0.85 : 0.5}"/>`);
    }
    hl.innerHTML = mine.join('');
    info.textContent = `C[${r}, ${c}] (element ${r * cols + c}): workgroup (${o.wg[0]}, ${o.wg[1]}), thread (${o.thread[0]}, ${o.thread[1]}); it ${m.reads(r, c, cols)}.`;
    el.dataset.hover = `${o.wg[0]},${o.wg[1]}|${o.thread[0]},${o.thread[1]}`;
  });
}
