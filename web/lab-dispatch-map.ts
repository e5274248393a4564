// Under each op panel, after a run: every dispatch the run recorded (runtime().trace), with its
// kernel (linked to the shader reader), workgroup grid and @workgroup_size, and whether the kernel's
// mapping rule (lab-rules.ts) predicts exactly that grid; and a picture of one dispatch, drawn from
// its recorded geometry: every element it writes, coloured by the workgroup that owns it
// (lab-owners.ts: element -> workgroup, thread). For the dispatch that writes the op's output, the
// op's inputs are drawn beside it: hovering an element highlights its workgroup, its thread's other
// elements, the inputs it reads (lab-reads.ts) and everything its workgroup reads — for a tiled
// kernel, what passes through its workgroup memory, whose per-step slice the text names. For the
// backward dispatch that finishes an input's gradient, the op's inputs and G (the upstream gradient)
// are drawn the same way, highlighted by the gradient's read rule (lab-backreads.ts). Under a tiled
// GEMM dispatch, a stepper walks one workgroup through its K steps (lab-staging-view.ts).

import type { RunDispatch } from './lab-ops.js';
import { ruleFor, checkRule } from './lab-rules.js';
import { ownersOf, type Owners } from './lab-owners.js';
import type { ReadRule } from './lab-reads.js';
import { stagingOf } from './lab-staging.js';
import { renderStaging, type StagingControl } from './lab-staging-view.js';

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const PALETTE = ['#dbe8fb', '#fde2c8', '#d6f0d6', '#f6d5e5', '#e6e0f7', '#fbf3c4', '#d3eff2', '#eadcd0'];
/** At most this many cells are drawn (the rest is summarized). */
const MAX_CELLS = 8192;
/** At most this many cells of an input are drawn. */
const MAX_INPUT_CELLS = 4096;

interface Cell {
  /** Label of the cell (element i, y[n, c, h, w], output j). */
  label: string;
  /** The element's index in the output the owner function describes. */
  i: number;
  /** Its workgroup (z null: every z slice adds a partial sum) and thread (null: all of them). */
  wg: [number, number, number | null];
  thread: number | null;
  row: number;
  col: number;
}

/** What each tiled kernel stages in workgroup memory per step of its K loop. */
function staging(kernel: string, d: RunDispatch): string | null {
  const n = (d.name.match(/\d+/g) ?? []).map(Number);
  const st = stagingOf(kernel, d);
  if (kernel === 'matmulTiledWGSL' && st) return `per step, a ${st.BM} × ${st.BK} slice of A (the tile's ${st.BM} rows, ${st.BK} of K) and a ${st.BK} × ${st.BN} slice of B (${st.BK} of K, the tile's ${st.BN} columns); ⌈K / ${st.BK}⌉ = ${Math.ceil(st.K / st.BK)} steps`;
  if (kernel.startsWith('conv2d') && /WGSL$/.test(kernel) && ['conv2dForwardWGSL', 'conv2dGradInputWGSL', 'conv2dGradWeightWGSL'].includes(kernel)) {
    const [, BM, BN, BK] = n as [number, number, number, number];
    const steps = Math.ceil(Math.min(d.params[17]!, d.params[19]!) / BK);
    const a = kernel === 'conv2dForwardWGSL' ? `${BK} taps (c, kh, kw) of the tile's ${BM} output pixels, gathered from x (zeros in the padding)`
      : kernel === 'conv2dGradInputWGSL' ? `${BK} (co, kh, kw) taps of the tile's ${BM} input pixels, gathered from g` : `${BK} output pixels of the tile's ${BM} taps (c, kh, kw), gathered from x`;
    return `per step, a ${BK}-deep slice of A (${a}) and of B (${BK} × ${BN}: ${kernel === 'conv2dGradWeightWGSL' ? 'the same pixels of g, for the tile\'s channels' : 'the weight, for the tile\'s channels'}); ${steps} steps${d.workgroups[2] > 1 ? ` per split-K slice (z), ${d.workgroups[2]} slices` : ''}`;
  }
  if (kernel === 'attentionForwardWGSL' || kernel === 'attentionBackwardQWGSL') return 'per step, 16 key rows and 16 value rows of batch b, loaded by the 64 threads together; ⌈S / 16⌉ steps, each thread folding them into its query row';
  if (kernel === 'attentionBackwardKVWGSL') return 'per step, 16 query rows, their upstream-gradient rows and statistics, loaded by the 64 threads together; ⌈L / 16⌉ steps';
  return null;
}

/** The inputs of the op beside the output, and the read rule the hover highlights them with. */
export interface ReadsView {
  rule: ReadRule;
  inputs: { name: string; shape: number[] }[];
  /** The shape of the tensor whose elements the rule maps (default: the op's output). */
  shape?: number[];
  /** Per differentiable input k: the view of its gradient, whose inputs are the op's inputs and then G. */
  grads?: Record<number, ReadsView>;
}

/** The cells of dispatch `d`, one per element its owner function describes, `cols` to a line. */
function cells(d: RunDispatch, owners: Owners, outShape: number[]): { cells: Cell[]; total: number } {
  const numel = outShape.reduce((a, b) => a * b, 1);
  const last = outShape.at(-1) ?? 1;
  const cols = owners.size === numel && last > 1 && last <= 128 ? last : Math.min(owners.size, owners.size === numel ? 64 : 32);
  const out: Cell[] = [];
  for (let i = 0; i < Math.min(owners.size, MAX_CELLS); i++) {
    const o = owners.of(i);
    out.push({ label: owners.size === numel && outShape.length > 1 ? `[${unravelShape(i, outShape).join(', ')}]` : `${i}`, i, wg: o.wg, thread: o.thread, row: Math.floor(i / cols), col: i % cols });
  }
  void d;
  return { cells: out, total: owners.size };
}

function unravelShape(i: number, shape: number[]): number[] {
  const c: number[] = [];
  for (let d = shape.length - 1; d >= 0; d--) {
    c.unshift(i % shape[d]!);
    i = Math.floor(i / shape[d]!);
  }
  return c;
}

/** An input drawn as a grid (its last dimension across). */
function inputGrid(name: string, shape: number[], k: number, cell: number): { svg: string; place(index: number): [number, number]; cols: number } {
  const n = shape.reduce((a, b) => a * b, 1);
  const cols = Math.max(1, Math.min(shape.at(-1) ?? 1, 128));
  const shown = Math.min(n, MAX_INPUT_CELLS);
  const rows = Math.ceil(shown / cols);
  cell = Math.max(3, Math.min(cell, Math.floor(240 / rows)));
  const rects: string[] = [];
  for (let i = 0; i < shown; i++) rects.push(`<rect x="${(i % cols) * cell}" y="${Math.floor(i / cols) * cell}" width="${cell}" height="${cell}" fill="#eef0f3"/>`);
  return {
    cols,
    place: (index) => [(index % cols) * cell, Math.floor(index / cols) * cell],
    svg: `<figure class="input-grid"><figcaption class="small">${esc(name)} [${shape.join(', ')}]${n > shown ? ` (first ${shown})` : ''}</figcaption>` +
      `<svg class="map input" data-input="${k}" width="${cols * cell + 2}" height="${rows * cell + 2}" viewBox="-1 -1 ${cols * cell + 2} ${rows * cell + 2}"><g stroke="#fff" stroke-width="${cell > 5 ? 0.5 : 0}">${rects.join('')}</g><g class="hl" pointer-events="none"></g></svg></figure>`,
  };
}

function draw(el: HTMLElement, d: RunDispatch, outShape: number[], view: ReadsView | null): void {
  const kernel = d.ref?.name ?? '';
  const rule = ruleFor(kernel);
  const owners = ownersOf(kernel, d);
  const box = el.querySelector<HTMLElement>('.map-picture')!;
  if (!rule || !owners) {
    box.innerHTML = '<p class="small muted">No mapping rule for this kernel.</p>';
    return;
  }
  const numel = outShape.reduce((a, b) => a * b, 1);
  // The op's output is what this dispatch writes, or (backward) an input's gradient: the inputs it is
  // computed from (for a gradient, G and the saved forward tensors) can be drawn and highlighted.
  let reads = view && d.phase === 'forward' && owners.size === numel ? view : null;
  for (const k of d.phase === 'backward' ? d.gradOf ?? [] : []) {
    const g = view?.grads?.[k];
    if (g && !reads && owners.size === (g.shape ?? []).reduce((a, b) => a * b, 1)) reads = g;
  }
  const { cells: cs, total } = cells(d, owners, reads?.shape ?? outShape);
  const rows = Math.max(1, ...cs.map((c) => c.row + 1));
  const cols = Math.max(1, ...cs.map((c) => c.col + 1));
  const cell = Math.max(4, Math.min(16, Math.floor(640 / Math.max(rows, cols))));
  const wgKey = (w: Cell['wg']) => w.map((v) => v ?? '*').join(',');
  const rects = cs.map((c, i) =>
    `<rect x="${c.col * cell}" y="${c.row * cell}" width="${cell}" height="${cell}" fill="${PALETTE[(c.wg[0] + 3 * c.wg[1] + 5 * (c.wg[2] ?? 0)) % PALETTE.length]}" data-i="${i}" data-wg="${wgKey(c.wg)}"/>`).join('');
  const stage = staging(kernel, d);
  const staged = stagingOf(kernel, d);
  const grids = reads ? reads.inputs.map((inp, k) => inputGrid(inp.name, inp.shape, k, Math.max(3, Math.min(12, Math.floor(480 / Math.max(1, Math.min(inp.shape.at(-1) ?? 1, 128))))))) : [];
  box.innerHTML = `<p class="small">Drawn: ${total} × ${esc(owners.what)}${total > cs.length ? ` (the first ${cs.length})` : ''}, coloured by workgroup. The rule: ${esc(rule.owns)}.` +
    `${stage ? ` Workgroup memory: ${esc(stage)}.` : ''}${reads ? ` Reads: ${esc(reads.rule.text)}${reads.rule.exact ? '' : d.phase === 'backward' ? ' (derived by the chain rule from the forward rule: what it may read, at most)' : ' (where a random draw decides, what it may read)'}.` : ''}</p>` +
    `<svg class="map" width="${cols * cell + 2}" height="${rows * cell + 2}" viewBox="-1 -1 ${cols * cell + 2} ${rows * cell + 2}"><g class="cells" stroke="#fff" stroke-width="${cell > 5 ? 0.5 : 0}">${rects}</g><g class="hl" pointer-events="none"></g></svg>` +
    (reads ? `<div class="inputs">${grids.map((g) => g.svg).join('')}</div>` : '') +
    '<p class="small hover muted">Hover a cell.</p>' + (staged ? '<div class="staging"></div>' : '');
  const svg = box.querySelector('svg')!;
  const stepper: StagingControl | null = staged ? renderStaging(box.querySelector<HTMLElement>('.staging')!, staged) : null;
  const byWg = new Map<string, Cell[]>();
  for (const c of cs) byWg.set(wgKey(c.wg), [...(byWg.get(wgKey(c.wg)) ?? []), c]);
  svg.addEventListener('mouseover', (ev) => {
    const t = ev.target as SVGRectElement;
    if (t.dataset?.i === undefined) return;
    const c = cs[Number(t.dataset.i)]!;
    const mates = byWg.get(wgKey(c.wg)) ?? [];
    stepper?.select([c.wg[0], c.wg[1], c.wg[2] ?? 0]);
    const marks: string[] = [];
    for (const o of mates) {
      const mine = c.thread !== null && o.thread === c.thread;
      marks.push(`<rect class="${mine ? 'thread' : 'wg'}" x="${o.col * cell}" y="${o.row * cell}" width="${cell}" height="${cell}" ` +
        (mine || o === c ? 'fill="#1f5fbf" opacity="0.85"/>' : 'fill="none" stroke="#1f5fbf" stroke-width="0.8"/>'));
    }
    svg.querySelector('g.hl')!.innerHTML = marks.join('');
    let readText = '';
    if (reads) {
      // The hovered element's inputs (dark), and everything its workgroup reads (light): for a tiled
      // kernel, what passes through its workgroup memory over the steps.
      const mine = reads.rule.reads(c.i);
      const wgReads = new Set<string>();
      for (const o of mates) for (const r of reads.rule.reads(o.i)) wgReads.add(`${r.input}:${r.index}`);
      box.querySelectorAll<SVGSVGElement>('svg.input').forEach((s) => {
        const k = Number(s.dataset.input);
        const g = grids[k]!;
        const cellIn = Number(s.querySelector('rect')?.getAttribute('width') ?? 8);
        const hl: string[] = [];
        for (const key of wgReads) {
          const [ik, idx] = key.split(':').map(Number) as [number, number];
          if (ik !== k || idx >= MAX_INPUT_CELLS) continue;
          const [x, y] = g.place(idx);
          hl.push(`<rect class="staged" data-idx="${idx}" x="${x}" y="${y}" width="${cellIn}" height="${cellIn}" fill="#9dbbe8" opacity="0.7"/>`);
        }
        for (const r of mine) {
          if (r.input !== k || r.index >= MAX_INPUT_CELLS) continue;
          const [x, y] = g.place(r.index);
          hl.push(`<rect class="read" data-idx="${r.index}" x="${x}" y="${y}" width="${cellIn}" height="${cellIn}" fill="#c0392b" opacity="0.9"/>`);
        }
        s.querySelector('g.hl')!.innerHTML = hl.join('');
      });
      const per = reads.inputs.map((inp, k) => [inp.name, mine.filter((r) => r.input === k).length] as const).filter(([, n]) => n > 0);
      readText = ` It reads ${per.length ? per.map(([nm, n]) => `${n} of ${nm}`).join(', ') : 'no input'} (dark red); its workgroup ${stage ? 'stages' : 'reads'} ${wgReads.size} input elements (light blue).`;
      el.dataset.reads = mine.map((r) => `${r.input}:${r.index}`).join(' ');
    }
    const wx = d.workgroupSize[0];
    const thread = c.thread === null ? ', all its threads' : d.workgroupSize[1] > 1 ? `, thread (${c.thread % wx}, ${Math.floor(c.thread / wx)})` : `, thread ${c.thread}`;
    const wgText = `(${c.wg[0]}, ${c.wg[1]}, ${c.wg[2] ?? `every z slice 0…${d.workgroups[2] - 1}`})`;
    box.querySelector('.hover')!.textContent = `${c.label}: workgroup ${wgText}${thread}.${readText}`;
    el.dataset.hover = `${c.wg.map((v) => v ?? '*').join(',')}|${c.thread ?? ''}`;
  });
  el.dataset.drawn = kernel || d.name;
  el.dataset.cells = String(cs.length);
  el.dataset.inputsDrawn = String(grids.length);
}

/** List `dispatches` in `el` and draw the first forward one (a select draws any other). */
export function renderDispatches(el: HTMLElement, dispatches: RunDispatch[], outShape: number[], view: ReadsView | null = null): void {
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
  select.addEventListener('change', () => draw(el, shown[Number(select.value)]!, outShape, view));
  // First drawn: the forward dispatch that writes the op's output (its inputs drawn beside it).
  const numel = outShape.reduce((a, b) => a * b, 1);
  const writer = shown.map((d, i) => [d, i] as const).filter(([d]) => d.phase === 'forward' && ownersOf(d.ref?.name ?? '', d)?.size === numel).at(-1)?.[1] ?? 0;
  select.value = String(writer);
  if (shown.length) draw(el, shown[writer]!, outShape, view);
}
