// The shader lab page: runs kernels on the reader's GPU against the float64 references
// (lab-ops.ts), times the kernel ladders (lab-ladders.ts), lists a training step's dispatches
// (lab-step.ts) and draws workgroup mappings (lab-mapping.ts).
// For automated checks (test/e2e/lab.test.ts) the page exposes its state as data-* attributes:
// <body data-state> (loading, ready, error); each op panel data-state (idle, running, done, error),
// data-max-abs, data-max-rel, data-grad-max-rel; each ladder rung data-state, data-gflops, data-ms,
// data-method; the step section data-state, data-dispatches, data-forward, data-backward, data-optimizer.

import * as E from '../src/index.js';
import { runCase, FORWARD_TOL, GRAD_TOL, type OpCase, type OpResult } from './lab-ops.js';
import { OP_CASES } from './lab-cases-more.js';
import { renderDispatches, type ReadsView } from './lab-dispatch-map.js';
import { readRule } from './lab-reads.js';
import { gradReadRule } from './lab-backreads.js';
import { LADDERS, timeRung, type Ladder, type Rung } from './lab-ladders.js';
import { traceStep, readerLink } from './lab-step.js';
import { MAPPINGS, renderMapping } from './lab-mapping.js';


const $ = <T extends HTMLElement = HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`lab: no element #${id}`);
  return el as T;
};
const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const fmt = (v: number): string => (Number.isFinite(v) ? (Math.abs(v) >= 1e4 || (v !== 0 && Math.abs(v) < 1e-3) ? v.toExponential(3) : v.toFixed(5)) : String(v));
const sci = (v: number): string => v.toExponential(2);

/** At most this many elements are listed per tensor (the differences cover all of them). */
const SHOWN = 12;

// ------------------------------------------------------------------ 1. run a kernel

function paramInputs(c: OpCase): string {
  const ps = Object.entries(c.params).map(([k, v]) =>
    `<label>${esc(k)} <input type="number" step="1" min="${k === 'padding' || k === 'dim' ? 0 : 1}" data-param="${esc(k)}" value="${v}"></label>`);
  const variant = c.variants ? `<label>op <select data-variant>${c.variants.map((v) => `<option>${esc(v)}</option>`).join('')}</select></label>` : '';
  return `${variant}${ps.join('')}<label>seed <input type="number" step="1" data-seed value="1"></label>`;
}

function opPanel(c: OpCase): string {
  return `<div class="panel op" id="op-${c.id}" data-state="idle">` +
    `<h3>${esc(c.title)} <a class="muted small" href="./shaders.html#${c.family}">kernels: ${c.family} →</a></h3>` +
    `<p class="muted small">Kernels: ${c.kernels.map((k) => `<code>${esc(k)}</code>`).join(', ')}</p>` +
    `<p class="muted small">${esc(c.about)}</p>` +
    `<form class="controls compact" onsubmit="return false">${paramInputs(c)}<button type="button" data-run>Run</button></form>` +
    '<div class="result"></div><div class="dispatch-map"></div></div>';
}

function valuesRow(label: string, xs: ArrayLike<number>): string {
  const shown = Array.from(xs).slice(0, SHOWN).map((v) => `<td>${fmt(v)}</td>`).join('');
  return `<tr><th>${esc(label)}</th>${shown}${xs.length > SHOWN ? `<td class="muted">… ${xs.length - SHOWN} more</td>` : ''}</tr>`;
}

function verdict(d: { maxAbs: number; maxRel: number }, tol: number): string {
  const ok = d.maxRel <= tol;
  return `<span class="${ok ? 'ok' : 'bad'}">max abs ${sci(d.maxAbs)}, max rel ${sci(d.maxRel)} ${ok ? '≤' : '>'} ${sci(tol)}</span>`;
}

function showResult(el: HTMLElement, r: OpResult, tol: number, view: ReadsView | null): void {
  const ins = r.inputs.map((i) => `${esc(i.name)} [${i.value.shape.join(', ')}]`).join(', ');
  let html = `<p class="small">Inputs ${ins} → output [${r.outShape.join(', ')}]. Forward: ${verdict(r.forward, tol)}</p>` +
    `<table class="values">${valuesRow('GPU (f32)', r.gpu)}${valuesRow('reference (f64)', r.ref)}</table>`;
  for (const g of r.grads) {
    html += `<p class="small">∂/∂${esc(g.name)} (backward kernels vs central differences on the reference): ${verdict(g.diff, GRAD_TOL)}</p>` +
      `<table class="values">${valuesRow('GPU backward', g.gpu)}${valuesRow('central diff.', g.numeric)}</table>`;
  }
  el.querySelector('.result')!.innerHTML = html;
  const gradRel = Math.max(0, ...r.grads.map((g) => g.diff.maxRel));
  el.dataset.maxAbs = String(r.forward.maxAbs);
  el.dataset.maxRel = String(r.forward.maxRel);
  el.dataset.gradMaxRel = String(gradRel);
  el.dataset.grads = String(r.grads.length);
  el.dataset.tolerance = String(tol);
  el.dataset.kernels = [...new Set(r.dispatches.filter((d) => d.phase !== 'harness' && d.ref).map((d) => d.ref!.name))].join(' ');
  renderDispatches(el.querySelector<HTMLElement>('.dispatch-map')!, r.dispatches, r.outShape, view);
}

async function runOp(c: OpCase): Promise<void> {
  const el = $(`op-${c.id}`);
  el.dataset.state = 'running';
  try {
    const p: Record<string, number> = {};
    for (const input of Array.from(el.querySelectorAll<HTMLInputElement>('[data-param]'))) {
      const v = Number(input.value);
      if (!Number.isInteger(v) || v < Number(input.min)) throw new Error(`${input.dataset.param} must be an integer ≥ ${input.min}, got ${input.value}`);
      p[input.dataset.param!] = v;
    }
    const seed = Math.trunc(Number(el.querySelector<HTMLInputElement>('[data-seed]')!.value));
    const variant = el.querySelector<HTMLSelectElement>('[data-variant]')?.value ?? '';
    const r = await runCase(c, p, seed, variant);
    const ctx = { p, variant, inputs: r.inputs.map((i) => i.value), out: r.outShape };
    const rule = readRule(c.id, ctx);
    const inputs = r.inputs.map((i) => ({ name: i.name, shape: i.value.shape }));
    // Each gradient's rule reads the op's inputs (the saved forward tensors) and then G.
    const grads: Record<number, ReadsView> = {};
    r.inputs.forEach((input, k) => {
      const g = input.grad ? gradReadRule(c.id, ctx, k) : null;
      if (g) grads[k] = { rule: g, inputs: [...inputs, { name: 'G = ∂loss/∂y', shape: r.outShape }], shape: input.value.shape };
    });
    showResult(el, r, c.tolerance ?? FORWARD_TOL, rule ? { rule, inputs, grads } : null);
    el.dataset.state = 'done';
  } catch (e) {
    el.querySelector('.result')!.innerHTML = `<p class="error">${esc(e instanceof Error ? e.message : String(e))}</p>`;
    el.dataset.state = 'error';
  }
}

// ------------------------------------------------------------------ 2. ladders

function sizeInputs(l: Ladder): string {
  return Object.entries(l.size).map(([k, v]) =>
    `<label>${esc(k)} <input type="number" min="1" step="1" data-size="${esc(k)}" value="${v}"></label>`).join('') +
    '<label>runs <input type="number" min="1" step="1" data-reps value="5"></label>' +
    Object.keys(l.presets).map((name) => `<button type="button" class="preset" data-preset="${esc(name)}">${esc(name)}</button>`).join('');
}

function ladderSection(l: Ladder): string {
  const rungs = l.rungs.map((r) =>
    `<div class="rung" id="rung-${l.id}-${r.id}" data-state="idle"><h3>${esc(r.title)} ` +
    `<a class="muted small" href="./shaders.html?kernel=${encodeURIComponent(r.kernel)}#${l.id}">${esc(r.kernel)}…) →</a></h3>` +
    `<p class="small">${esc(r.text)}</p><button type="button" data-time>Time it</button> <span class="timing"></span></div>`).join('');
  return `<div class="panel ladder" id="ladder-${l.id}"><h3>${esc(l.title)}</h3><p class="muted small">${esc(l.intro)}</p>` +
    `<form class="controls compact" onsubmit="return false">${sizeInputs(l)}<button type="button" data-time-all>Time all</button></form>${rungs}</div>`;
}

async function runRung(l: Ladder, r: Rung): Promise<void> {
  const box = $(`ladder-${l.id}`);
  const el = $(`rung-${l.id}-${r.id}`);
  const out = el.querySelector('.timing')!;
  el.dataset.state = 'running';
  out.textContent = 'timing…';
  try {
    const size: Record<string, number> = {};
    for (const input of Array.from(box.querySelectorAll<HTMLInputElement>('[data-size]'))) {
      const v = Number(input.value);
      if (!Number.isInteger(v) || v < 1) throw new Error(`${input.dataset.size} must be a positive integer`);
      size[input.dataset.size!] = v;
    }
    const reps = Math.max(1, Math.trunc(Number(box.querySelector<HTMLInputElement>('[data-reps]')!.value)));
    const why = r.unavailable(size);
    if (why) {
      out.textContent = `not available: ${why}`;
      el.dataset.state = 'unavailable';
      return;
    }
    const t = await timeRung(l, r, size, reps);
    out.innerHTML = `<b>${t.gflops.toFixed(2)} GFLOP/s</b> (${t.ms.toFixed(3)} ms per run, ${t.dispatches} dispatch${t.dispatches === 1 ? '' : 'es'}, ` +
      `${t.method === 'gpu-timestamps' ? `GPU timestamps, ${t.runs} runs` : `wall clock over ${t.runs} runs incl. submit`})`;
    Object.assign(el.dataset, { gflops: String(t.gflops), ms: String(t.ms), method: t.method, state: 'done' });
  } catch (e) {
    out.textContent = e instanceof Error ? e.message : String(e);
    el.dataset.state = 'error';
  }
}

// ------------------------------------------------------------------ 3. the training step

async function runStep(): Promise<void> {
  const el = $('step');
  el.dataset.state = 'running';
  $('step-summary').textContent = 'recording…';
  try {
    const batch = Number($<HTMLInputElement>('step-batch').value);
    if (!Number.isInteger(batch) || batch < 1) throw new Error('the batch must be a positive integer');
    const { dispatches, timed } = await traceStep(batch);
    const count = (ph: string) => dispatches.filter((d) => d.phase === ph).length;
    const total = dispatches.reduce((s, d) => s + (d.us ?? 0), 0);
    $('step-summary').textContent = `${dispatches.length} dispatches: ${count('forward')} forward, ${count('backward')} backward, ${count('optimizer')} optimizer. ` +
      (timed ? `GPU time (timestamp queries, one pass per dispatch): ${(total / 1e3).toFixed(3)} ms in all.`
        : 'This adapter has no timestamp queries, so no per-dispatch GPU time is shown.');
    const rows = dispatches.map((d) => {
      const panel = d.source ? OP_CASES.find((c) => c.kernels.includes(d.source!)) : undefined;
      return `<tr class="phase-${d.phase}"><td>${d.index}</td><td>${d.phase}</td><td><a href="${readerLink(d.kernel, d.ref)}"><code>${esc(d.kernel)}</code></a></td>` +
        `<td>${panel ? `<a class="panel-link" href="#op-${panel.id}">${esc(d.source!)} → ${esc(panel.title)}</a>` : esc(d.source ?? '–')}</td>` +
        `<td>${d.workgroups.join(' × ')}</td><td>${d.us === null ? '–' : d.us.toFixed(1)}</td></tr>`;
    }).join('');
    $('step-table').innerHTML = `<tr><th>#</th><th>phase</th><th>kernel (→ shader reader)</th><th>src/shaders export (→ its lab panel)</th><th>workgroups</th><th>GPU µs</th></tr>${rows}`;
    Object.assign(el.dataset, { dispatches: String(dispatches.length), forward: String(count('forward')), backward: String(count('backward')), optimizer: String(count('optimizer')), state: 'done' });
  } catch (e) {
    $('step-summary').textContent = e instanceof Error ? e.message : String(e);
    el.dataset.state = 'error';
  }
}

// ------------------------------------------------------------------ wiring

/** One GPU job at a time: the runtime records into one encoder, and timings must not overlap. */
let queue: Promise<void> = Promise.resolve();
const enqueue = (job: () => Promise<void>): Promise<void> => (queue = queue.then(job, job));

async function main(): Promise<void> {
  $('ops').innerHTML = OP_CASES.map(opPanel).join('');
  $('ladders').innerHTML = LADDERS.map(ladderSection).join('');
  $('mappings').innerHTML = MAPPINGS.map((m) => `<div class="panel mapping" id="map-${m.id}"></div>`).join('');
  try {
    await E.init();
    const i = E.adapterInfo();
    const rt = E.runtime();
    $('adapter').textContent = [i.vendor, i.architecture, i.description].filter(Boolean).join(' / ') || 'unnamed adapter';
    $('timing-method').textContent = rt.device.features.has('timestamp-query')
      ? 'This adapter has timestamp queries: times are the GPU\'s own, per dispatch.'
      : 'This adapter has no timestamp queries: ladder times are wall clock over repeated runs after a warm-up (including a submit and the wait), and the step shows no per-dispatch time.';
  } catch (e) {
    $('adapter').textContent = `none (${e instanceof Error ? e.message : String(e)})`;
    document.body.dataset.state = 'error';
    return;
  }
  for (const c of OP_CASES) $(`op-${c.id}`).querySelector('[data-run]')!.addEventListener('click', () => void enqueue(() => runOp(c)));
  $('run-all').addEventListener('click', () => { for (const c of OP_CASES) void enqueue(() => runOp(c)); });
  for (const l of LADDERS) {
    for (const r of l.rungs) $(`rung-${l.id}-${r.id}`).querySelector('[data-time]')!.addEventListener('click', () => void enqueue(() => runRung(l, r)));
    for (const b of Array.from($(`ladder-${l.id}`).querySelectorAll<HTMLButtonElement>('[data-preset]'))) {
      b.addEventListener('click', () => {
        for (const [k, v] of Object.entries(l.presets[b.dataset.preset!]!)) $(`ladder-${l.id}`).querySelector<HTMLInputElement>(`[data-size="${k}"]`)!.value = String(v);
      });
    }
    $(`ladder-${l.id}`).querySelector('[data-time-all]')!.addEventListener('click', () => { for (const r of l.rungs) void enqueue(() => runRung(l, r)); });
  }
  $('step-run').addEventListener('click', () => void enqueue(runStep));
  for (const m of MAPPINGS) renderMapping(m, $(`map-${m.id}`));
  document.body.dataset.state = 'ready';
}

void main();
