// Under each op panel, after a run: every dispatch the run recorded (runtime().trace), with its
// kernel (linked to the shader reader), workgroup grid and @workgroup_size, and whether the kernel's
// mapping rule (lab-rules.ts) predicts exactly that grid; and a picture of one dispatch, drawn from
// its recorded geometry and its rule: the elements (or rows, tiles, workgroups) coloured by the
// workgroup that owns them. Hovering a cell names its workgroup and thread and what that thread does.

import type { RunDispatch } from './lab-ops.js';
import { ruleFor, checkRule, type Rule } from './lab-rules.js';

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const PALETTE = ['#dbe8fb', '#fde2c8', '#d6f0d6', '#f6d5e5', '#e6e0f7', '#fbf3c4', '#d3eff2', '#eadcd0'];
/** At most this many cells are drawn (the rest is summarized). */
const MAX_CELLS = 2048;

interface Cell {
  /** Label of the cell (element i, output j, C[r, c], workgroup (x, y)). */
  label: string;
  /** Its workgroup, as drawn (x, y, z). */
  wg: [number, number, number];
  /** Its thread within the workgroup, or null where the rule names no single thread. */
  thread: number | null;
  row: number;
  col: number;
}

/** The cells of dispatch `d` under `rule`, laid out as a grid of `cols` columns (for flat and rows). */
function cells(d: RunDispatch, rule: Rule, outShape: number[]): { cells: Cell[]; what: string; total: number } {
  const threads = d.workgroupSize[0] * d.workgroupSize[1] * d.workgroupSize[2];
  const gx = d.workgroups[0];
  const wg1 = (j: number): [number, number, number] => [j % gx, Math.floor(j / gx), 0];
  const out: Cell[] = [];
  if (rule.kind === 'flat') {
    const n = rule.count(d.params, d.name);
    const last = outShape.at(-1) ?? 1;
    const cols = n === outShape.reduce((a, b) => a * b, 1) && last > 1 ? Math.min(last, 64) : Math.min(n, 32);
    for (let i = 0; i < Math.min(n, MAX_CELLS); i++) out.push({ label: `element ${i}`, wg: wg1(Math.floor(i / threads)), thread: i % threads, row: Math.floor(i / cols), col: i % cols });
    return { cells: out, what: `${n} elements (thread i → element i)`, total: n };
  }
  if (rule.kind === 'rows') {
    // One line per workgroup (its unit), one cell per thread of it: the threads share the unit's work.
    const n = rule.count(d.params, d.name);
    const unit = rule.unit ?? 'output';
    const lanes = Math.min(threads, 64);
    for (let j = 0; j < Math.min(n, 64); j++) {
      for (let t = 0; t < lanes; t++) out.push({ label: `${unit} ${j}`, wg: wg1(j), thread: t, row: j, col: t });
    }
    return { cells: out, what: `${n} ${unit}s, one per workgroup (a line each), and ${lanes === threads ? `its ${threads} threads` : `the first ${lanes} of its ${threads} threads`} (a cell each)`, total: n * threads };
  }
  if (rule.kind === 'tiles') {
    const M = rule.M(d.params, d.name);
    const N = rule.N(d.params, d.name);
    const [tx, ty] = [d.workgroupSize[0], d.workgroupSize[1]];
    for (let r = 0; r < Math.min(M, 128); r++) {
      for (let c = 0; c < Math.min(N, 128); c++) {
        // The thread within the tile, where the tile's threads own a regular pattern: one element
        // each (tile = workgroup), strided (tiled: 64 = 4 × 16), or 4 × 4 blocks (vec4: 32 = 8 × 4).
        const lr = r % rule.tileM;
        const lc = c % rule.tileN;
        const thread = rule.tileM === ty && rule.tileN === tx ? lr * tx + lc
          : rule.tileM === 64 && ty === 16 ? (lr % 16) * tx + (lc % 16)
            : rule.tileM === 32 && ty === 8 ? Math.floor(lr / 4) * tx + Math.floor(lc / 4)
              : rule.tileM === 1 ? lc : null;
        out.push({ label: `[${r}, ${c}]`, wg: [Math.floor(c / rule.tileN), Math.floor(r / rule.tileM), 0], thread, row: r, col: c });
      }
    }
    return { cells: out, what: `a ${M} × ${N} output in ${rule.tileM} × ${rule.tileN} tiles`, total: M * N };
  }
  const [x, y, z] = d.workgroups;
  for (let k = 0; k < z && out.length < MAX_CELLS; k++) {
    for (let j = 0; j < y; j++) for (let i = 0; i < x; i++) out.push({ label: `workgroup (${i}, ${j}, ${k})`, wg: [i, j, k], thread: null, row: k * (y + 1) + j, col: i });
  }
  return { cells: out, what: `the ${x} × ${y} × ${z} workgroups`, total: x * y * z };
}

function draw(el: HTMLElement, d: RunDispatch, outShape: number[]): void {
  const rule = ruleFor(d.ref?.name ?? '');
  const box = el.querySelector<HTMLElement>('.map-picture')!;
  if (!rule) {
    box.innerHTML = '<p class="small muted">No mapping rule for this kernel.</p>';
    return;
  }
  const { cells: cs, what, total } = cells(d, rule, outShape);
  const rows = Math.max(1, ...cs.map((c) => c.row + 1));
  const cols = Math.max(1, ...cs.map((c) => c.col + 1));
  const cell = Math.max(4, Math.min(16, Math.floor(640 / Math.max(rows, cols))));
  const wgKey = (c: Cell) => c.wg.join(',');
  const rects = cs.map((c, i) =>
    `<rect x="${c.col * cell}" y="${c.row * cell}" width="${cell}" height="${cell}" fill="${PALETTE[(c.wg[0] + 3 * c.wg[1] + 5 * c.wg[2]) % PALETTE.length]}" data-i="${i}" data-wg="${wgKey(c)}"/>`).join('');
  box.innerHTML = `<p class="small">Drawn: ${what}${total > cs.length ? ` (the first ${cs.length} of ${total})` : ''}, coloured by workgroup. The rule: ${esc(rule.owns)}.</p>` +
    `<svg class="map" width="${cols * cell + 2}" height="${rows * cell + 2}" viewBox="-1 -1 ${cols * cell + 2} ${rows * cell + 2}"><g class="cells" stroke="#fff" stroke-width="${cell > 5 ? 0.5 : 0}">${rects}</g><g class="hl" pointer-events="none"></g></svg>` +
    '<p class="small hover muted">Hover a cell.</p>';
  const svg = box.querySelector('svg')!;
  svg.addEventListener('mouseover', (ev) => {
    const t = ev.target as SVGRectElement;
    if (t.dataset?.i === undefined) return;
    const c = cs[Number(t.dataset.i)]!;
    const marks: string[] = [];
    for (const o of cs) {
      if (wgKey(o) !== wgKey(c)) continue;
      const mine = c.thread !== null && o.thread === c.thread;
      marks.push(`<rect class="${mine ? 'thread' : 'wg'}" x="${o.col * cell}" y="${o.row * cell}" width="${cell}" height="${cell}" ` +
        (mine || o === c ? 'fill="#1f5fbf" opacity="0.85"/>' : 'fill="none" stroke="#1f5fbf" stroke-width="0.8"/>'));
    }
    svg.querySelector('g.hl')!.innerHTML = marks.join('');
    const wx = d.workgroupSize[0];
    const thread = c.thread === null ? '' : d.workgroupSize[1] > 1 ? `, thread (${c.thread % wx}, ${Math.floor(c.thread / wx)})` : `, thread ${c.thread}`;
    box.querySelector('.hover')!.textContent = `${c.label}: workgroup (${c.wg.join(', ')})${thread}. The rule: ${rule.owns}.`;
    el.dataset.hover = `${c.wg.join(',')}|${c.thread ?? ''}`;
  });
  el.dataset.drawn = d.ref?.name ?? d.name;
  el.dataset.cells = String(cs.length);
}

/** List `dispatches` in `el` and draw the first forward one (a select draws any other). */
export function renderDispatches(el: HTMLElement, dispatches: RunDispatch[], outShape: number[]): void {
  const shown = dispatches.filter((d) => d.phase !== 'harness');
  let agree = 0;
  const rows = shown.map((d, i) => {
    const rule = ruleFor(d.ref?.name ?? '');
    const bad = rule ? checkRule(rule, d) : 'no rule';
    if (!bad) agree++;
    const ref = d.ref ? `<a href="./shaders.html?kernel=${encodeURIComponent(`${d.ref.name}(`)}#${d.ref.family}"><code>${esc(d.ref.name)}</code></a>` : '–';
    return `<tr><td>${i}</td><td>${d.phase}</td><td><code>${esc(d.name)}</code></td><td>${ref}</td><td>${d.workgroups.join(' × ')}</td>` +
      `<td>${d.workgroupSize.slice(0, 2).join(' × ')}</td><td class="${bad ? 'bad' : 'ok'}">${bad ? esc(bad) : '✓'}</td></tr>`;
  }).join('');
  const options = shown.map((d, i) => `<option value="${i}">${i}: ${esc(d.ref?.name ?? d.name)} (${d.phase})</option>`).join('');
  el.innerHTML = `<details class="dispatches-of-op"><summary class="small">${shown.length} dispatch${shown.length === 1 ? '' : 'es'} (the lab's own sum(G · y) left out); ` +
    `${agree} of ${shown.length} match their mapping rule's grid</summary>` +
    `<table class="dispatches small"><tr><th>#</th><th>phase</th><th>kernel</th><th>src/shaders export</th><th>workgroups</th><th>workgroup size</th><th>rule</th></tr>${rows}</table></details>` +
    `<p class="small">Mapping of dispatch <select data-dispatch>${options}</select></p><div class="map-picture"></div>`;
  el.dataset.dispatches = String(shown.length);
  el.dataset.rulesAgree = String(agree);
  const select = el.querySelector<HTMLSelectElement>('[data-dispatch]')!;
  select.addEventListener('change', () => draw(el, shown[Number(select.value)]!, outShape));
  if (shown.length) draw(el, shown[0]!, outShape);
}
