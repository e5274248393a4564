// The "Teach it" page (web/teach.html): wires the drawing pad (teach-canvas.ts), the learner
// (teach-model.ts) and the saved state (teach-state.ts) to the page.
// For automated checks: <body data-state> is loading, ready, busy or error; #pad data-version counts
// drawing changes and #prediction data-version says which one the shown prediction is for, with
// data-name, data-unknown and data-ood; #digit-acc data-value; #memory rows carry data-class,
// data-count and data-bytes.

import * as E from 'engram/browser';
import { DrawPad, paintImage, rasterize } from './teach-canvas.js';
import { DIGITS, Learner, loadBackbone, parseDigits, type Prediction } from './teach-model.js';
import { clearLocal, exportState, importState, loadLocal, saveLocal, type HistoryEntry, type PageState } from './teach-state.js';

const SHIPPED = 'backbone.safetensors';
const $ = <T extends HTMLElement = HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`teach: no element #${id}`);
  return el as T;
};
const pct = (v: number): string => `${(100 * v).toFixed(1)}%`;
const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

let learner: Learner;
let shippedBytes: Uint8Array;
const page: PageState = { history: [], mode: 'gaussian', steps: 5 };
const undoStack: Uint8Array[] = [];
let pending: Uint8Array[] = [];
let version = 0;

function setState(s: string): void {
  document.body.dataset.state = s;
  for (const id of ['teach', 'add-drawing', 'export', 'import-button', 'reset']) $<HTMLButtonElement>(id).disabled = s !== 'ready';
  $<HTMLButtonElement>('undo').disabled = s !== 'ready' || undoStack.length === 0;
}

function status(text: string, error = false, id = 'status'): void {
  const el = $(id);
  el.textContent = text;
  el.classList.toggle('error', error);
}

const mode = (): 'gaussian' | 'replay' => ($<HTMLInputElement>('steps').closest('.row')!.querySelector<HTMLInputElement>('input[name=mode]:checked')!.value as 'gaussian' | 'replay');

// ------------------------------------------------------------------ live prediction

const pad = new DrawPad($<HTMLCanvasElement>('pad'), () => {
  version++;
  $('pad').dataset.version = String(version);
  schedulePredict();
});
let predicting = false;
let again = false;

function schedulePredict(): void {
  if (predicting) {
    again = true;
    return;
  }
  void predictNow();
}

async function predictNow(): Promise<void> {
  predicting = true;
  try {
    do {
      again = false;
      const v = version;
      const img = rasterize(pad.strokes);
      if (!img || !learner) {
        showPrediction(null, v);
        continue;
      }
      paintImage($<HTMLCanvasElement>('preview'), img);
      showPrediction(await learner.predict(img), v);
    } while (again);
  } catch (e) {
    status(`prediction failed: ${(e as Error).message}`, true);
  } finally {
    predicting = false;
  }
}

function showPrediction(p: Prediction | null, v: number): void {
  const box = $('prediction');
  box.dataset.version = String(v);
  if (!p) {
    $('verdict').textContent = 'draw a digit, or anything';
    $('verdict').classList.remove('unknown');
    $('probs').innerHTML = '';
    $('ood-line').textContent = '';
    delete box.dataset.name;
    return;
  }
  const best = p.ranked[0]!;
  box.dataset.name = best.name;
  box.dataset.unknown = String(p.unknown);
  box.dataset.ood = p.ood.toFixed(2);
  $('verdict').textContent = p.unknown ? `I don't know this (closest: ${best.name})` : `${best.name}`;
  $('verdict').classList.toggle('unknown', p.unknown);
  $('probs').innerHTML = p.ranked.slice(0, 4).map((r) => `<div class="bar"><span>${esc(r.name)}</span><span><span class="fill" style="width:${(100 * r.p).toFixed(1)}%"></span></span><span>${pct(r.p)}</span></div>`).join('');
  $('ood-line').textContent = `OOD score ${p.ood.toFixed(0)} (squared Mahalanobis distance to the closest class; unknown above ${learner.threshold.toFixed(0)})`;
}

// ------------------------------------------------------------------ panels

function renderPending(): void {
  const el = $('pending');
  el.innerHTML = pending.length ? '' : 'no drawings yet';
  for (const d of pending) {
    const c = document.createElement('canvas');
    c.width = 28;
    c.height = 28;
    paintImage(c, d);
    el.appendChild(c);
  }
  if (pending.length) el.append(` ${pending.length} drawing${pending.length > 1 ? 's' : ''}`);
}

function renderPanels(): void {
  $('backbone').textContent = `${learner.backboneName}${learner.fineTuned ? ' (fine-tuned here)' : ''}`;
  $('threshold').textContent = learner.threshold.toFixed(0);
  const last = page.history[page.history.length - 1];
  if (last) {
    $('digit-acc').textContent = pct(last.accuracy);
    $('digit-acc').dataset.value = String(last.accuracy);
    $('digit-unknown').textContent = pct(last.unknownRate);
  }
  $('history').innerHTML = '<tr><th>after</th><th class="num">classes</th><th class="num">digit accuracy</th><th class="num">digits unknown</th></tr>' +
    page.history.map((h) => `<tr><td>${esc(h.event)}</td><td class="num">${h.classes}</td><td class="num">${pct(h.accuracy)}</td><td class="num">${pct(h.unknownRate)}</td></tr>`).join('');
  const per = learner.memory.bytesPerExemplar;
  const rows = learner.classes.map((c) => {
    const n = learner.indicesOf(c.id).length;
    const forget = c.id >= DIGITS ? `<button type="button" data-forget="${c.id}">forget</button>` : '';
    return `<tr data-class="${esc(c.name)}" data-count="${n}" data-bytes="${n * per}"><td>${esc(c.name)}</td><td class="num">${n}</td><td class="num">${(n * per).toLocaleString('en')} B</td><td>${forget}</td></tr>`;
  });
  $('memory').innerHTML = `<tr><th>class</th><th class="num">exemplars</th><th class="num">packed (uint8)</th><th></th></tr>${rows.join('')}` +
    `<tr data-class="total" data-count="${learner.memory.size}" data-bytes="${learner.memory.bytes}"><th>all</th><th class="num">${learner.memory.size}</th><th class="num">${learner.memory.bytes.toLocaleString('en')} B</th><th></th></tr>`;
  for (const b of Array.from($('memory').querySelectorAll<HTMLButtonElement>('button[data-forget]'))) {
    const id = Number(b.dataset.forget);
    b.disabled = document.body.dataset.state !== 'ready';
    b.onclick = () => void change(`forgot '${learner.taught.find((c) => c.id === id)?.name}'`, () => learner.forget(id));
  }
}

async function log(event: string): Promise<void> {
  const s = await learner.scoreDigits();
  const entry: HistoryEntry = { event, classes: learner.classes.length, accuracy: s.accuracy, unknownRate: s.unknownRate, mode: page.mode };
  page.history.push(entry);
}

async function persist(): Promise<void> {
  try {
    await saveLocal(await learner.run(() => exportState(learner, page, SHIPPED)));
    status(`saved in this browser (IndexedDB) at ${new Date().toLocaleTimeString()}`, false, 'keep-status');
  } catch (e) {
    status(`could not save in IndexedDB: ${(e as Error).message}`, true, 'keep-status');
  }
}

/** Run a change: snapshot for undo, apply, log the digits' accuracy, save, redraw. */
async function change(event: string, fn: () => Promise<unknown>): Promise<void> {
  setState('busy');
  status(`${event}…`);
  try {
    const before = await learner.run(() => exportState(learner, page, SHIPPED));
    const t0 = performance.now();
    await fn();
    undoStack.push(before);
    await log(event);
    await persist();
    status(`${event}: done in ${((performance.now() - t0) / 1000).toFixed(2)} s`);
  } catch (e) {
    status((e as Error).message, true);
  }
  setState('ready');
  renderPanels();
  schedulePredict();
}

/** Put a saved state in place (restore, undo, import). */
async function restore(bytes: Uint8Array, name: string): Promise<void> {
  const { saved, page: p } = importState(bytes, name);
  await learner.restore(saved, () => loadBackbone(shippedBytes, SHIPPED));
  page.history = p.history;
  page.mode = p.mode;
  page.steps = p.steps;
  $<HTMLInputElement>('steps').value = String(p.steps);
  for (const r of Array.from(document.querySelectorAll<HTMLInputElement>('input[name=mode]'))) r.checked = r.value === p.mode;
  if (page.history.length === 0) await log('start');
}

// ------------------------------------------------------------------ controls

function wire(): void {
  $('clear').onclick = () => pad.clear();
  for (const r of Array.from(document.querySelectorAll<HTMLInputElement>('input[name=mode]'))) r.onchange = () => (page.mode = mode());
  $('add-drawing').onclick = () => {
    const img = rasterize(pad.strokes);
    if (!img) return status('draw something first', true);
    pending.push(img);
    pad.clear();
    renderPending();
    status(`${pending.length} drawing${pending.length > 1 ? 's' : ''} ready; add a few more, name the class and press "Teach it"`);
  };
  $('teach').onclick = () => {
    const name = $<HTMLInputElement>('class-name').value.trim();
    const drawings = pending;
    const m = mode();
    const steps = Math.max(1, Math.min(50, Math.trunc(Number($<HTMLInputElement>('steps').value)) || 5));
    page.steps = steps;
    page.mode = m;
    if (!name) return status('give the class a name', true);
    if (drawings.length === 0) return status('add at least one drawing first', true);
    void change(`taught '${name}' (${drawings.length} drawings, ${m === 'gaussian' ? 'Gaussian head' : `replay, ${steps} steps`})`, async () => {
      await learner.teach(name, drawings, m, steps);
      pending = [];
      renderPending();
      $<HTMLInputElement>('class-name').value = '';
    });
  };
  $('undo').onclick = async () => {
    const prev = undoStack.pop();
    if (!prev) return;
    setState('busy');
    try {
      await restore(prev, 'undo');
      await persist();
      status('undone');
    } catch (e) {
      status((e as Error).message, true);
    }
    setState('ready');
    renderPanels();
    schedulePredict();
  };
  $('export').onclick = async () => {
    const bytes = await learner.run(() => exportState(learner, page, SHIPPED));
    const a = document.createElement('a');
    a.href = URL.createObjectURL(new Blob([bytes as BlobPart], { type: 'application/octet-stream' }));
    a.download = 'engram-teach.safetensors';
    a.click();
    setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
    status(`exported ${bytes.length.toLocaleString('en')} bytes`, false, 'keep-status');
  };
  $('import-button').onclick = () => $<HTMLInputElement>('import').click();
  $<HTMLInputElement>('import').onchange = async (ev) => {
    const file = (ev.target as HTMLInputElement).files?.[0];
    if (!file) return;
    const bytes = new Uint8Array(await file.arrayBuffer());
    const before = await learner.run(() => exportState(learner, page, SHIPPED));
    setState('busy');
    try {
      await restore(bytes, file.name);
      undoStack.push(before);
      await persist();
      status(`imported ${file.name}`, false, 'keep-status');
    } catch (e) {
      status((e as Error).message, true, 'keep-status');
    }
    (ev.target as HTMLInputElement).value = '';
    setState('ready');
    renderPanels();
  };
  $('reset').onclick = () => void change('started over', async () => {
    await learner.restore({ taught: [], nextId: DIGITS, drawings: { images: new Uint8Array(0), labels: new Int32Array(0), n: 0 }, weights: null, fineTuned: false, backboneName: SHIPPED }, () => loadBackbone(shippedBytes, SHIPPED));
  });
  $<HTMLInputElement>('backbone-file').onchange = async (ev) => {
    const file = (ev.target as HTMLInputElement).files?.[0];
    if (!file) return;
    const bytes = new Uint8Array(await file.arrayBuffer());
    await change(`loaded backbone ${file.name}`, async () => {
      await learner.setBackbone(loadBackbone(bytes, file.name), file.name);
    });
    (ev.target as HTMLInputElement).value = '';
  };
}

// ------------------------------------------------------------------ offline

/** Register the service worker that answers from the cache when the network is off, and cache what this page loaded. */
async function goOfflineReady(): Promise<void> {
  if (!('serviceWorker' in navigator) || !('caches' in window)) return;
  await navigator.serviceWorker.register('./teach-sw.js');
  const urls = [location.href.split('#')[0]!, ...performance.getEntriesByType('resource').map((e) => e.name)].filter((u) => new URL(u).origin === location.origin);
  const cache = await caches.open('engram-teach-v1');
  await Promise.all(urls.map((u) => cache.add(u).catch(() => undefined)));
}

async function main(): Promise<void> {
  setState('loading');
  wire();
  const rt = await E.init();
  $('adapter').textContent = `${rt.info.vendor || 'unknown vendor'} / ${rt.info.description || rt.info.architecture || 'WebGPU'}`;
  status('loading the backbone and the digits…');
  const [b, d] = await Promise.all(['./teach/backbone.safetensors', './teach/digits.safetensors'].map(async (u) => {
    const r = await fetch(u);
    if (!r.ok) throw new Error(`cannot load ${u}: HTTP ${r.status}`);
    return new Uint8Array(await r.arrayBuffer());
  }));
  shippedBytes = b!;
  learner = await Learner.create(shippedBytes, SHIPPED, parseDigits(d!));
  const kept = await loadLocal().catch(() => null);
  if (kept) {
    try {
      await restore(kept, 'the state kept in this browser');
      status(`restored what it learned before (${learner.taught.length} taught class${learner.taught.length === 1 ? '' : 'es'})`);
    } catch (e) {
      status(`could not restore the kept state (${(e as Error).message}); starting fresh`, true);
      await clearLocal();
      await log('start');
    }
  } else {
    await log('start');
    status('ready: draw a digit, or teach it something new');
  }
  setState('ready');
  renderPanels();
  renderPending();
  goOfflineReady().catch((e) => console.warn(`offline cache: ${(e as Error).message}`));
}

main().catch((e) => {
  console.error(e);
  status(`${(e as Error).message}`, true);
  document.body.dataset.state = 'error';
});
