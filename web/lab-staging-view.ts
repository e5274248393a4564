// The staging stepper under a tiled-GEMM dispatch's mapping picture: the GEMM C[M, N] = A[M, K] ·
// B[K, N] drawn to scale (A left, B above, C below B), one workgroup chosen, and a slider with
// previous/next buttons over its K steps. At step s the A block and the B block it holds in
// workgroup memory are filled, the steps already done are shaded, and its C tile (the outputs these
// partial products add to) is outlined. The geometry is lab-staging.ts's; this file only draws it.
// For the e2e test the element carries data-wg, data-step, data-steps, data-staged-a and data-staged-b
// ("r0:r1,c0:c1", half-open).

import { stagedAt, stepCount, type Block, type Staging, type Step } from './lab-staging.js';

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
/** At most this many workgroups are offered in the chooser (hovering a cell of the picture picks any). */
const MAX_LISTED = 256;
const span = (b: Block): string => `${b.r0}:${b.r1},${b.c0}:${b.c1}`;

/** What the stepper exposes to the mapping picture: choose the workgroup a hover points at. */
export interface StagingControl {
  select(wg: [number, number, number]): void;
}

/** Draw the stepper for `s` into `el`; starts at the first workgroup that owns a tile, step 0. */
export function renderStaging(el: HTMLElement, s: Staging): StagingControl {
  const [gx, gy, gz] = s.workgroups;
  const listed: [number, number, number][] = [];
  for (let z = 0; z < gz && listed.length < MAX_LISTED; z++) for (let y = 0; y < gy && listed.length < MAX_LISTED; y++) for (let x = 0; x < gx && listed.length < MAX_LISTED; x++) if (s.tile([x, y, z])) listed.push([x, y, z]);
  const total = gx * gy * gz;
  el.innerHTML = `<p class="small"><b>Workgroup memory, step by step.</b> The GEMM this kernel computes: ${esc(s.names.c)} [${s.M}, ${s.N}] = ${esc(s.names.a)} [${s.M}, ${s.K}] · ${esc(s.names.b)} [${s.K}, ${s.N}] ` +
    `(rows: ${esc(s.names.m)}; columns: ${esc(s.names.n)}; K: ${esc(s.names.k)}). A workgroup owns a ${s.BM} × ${s.BN} tile of C and walks K ${s.BK} at a time.</p>` +
    `<form class="controls compact" onsubmit="return false"><label>workgroup <select data-stage-wg>${listed.map((w) => `<option value="${w.join(',')}">(${w.join(', ')})</option>`).join('')}</select></label>` +
    `${total > listed.length ? `<span class="small muted">(first ${listed.length} of ${total}; hover a cell above for any)</span>` : ''}` +
    '<button type="button" data-step-prev>◀ prev</button><input type="range" min="0" value="0" data-step-range><button type="button" data-step-next>next ▶</button></form>' +
    '<p class="small stage-text"></p><div class="stage-svg"></div>';
  const select = el.querySelector<HTMLSelectElement>('[data-stage-wg]')!;
  const rangeIn = el.querySelector<HTMLInputElement>('[data-step-range]')!;
  let wg = listed[0] ?? [0, 0, 0];
  let step = 0;
  const show = (): void => {
    const n = stepCount(s, wg);
    rangeIn.max = String(Math.max(0, n - 1));
    rangeIn.value = String(step);
    el.dataset.wg = wg.join(',');
    el.dataset.steps = String(n);
    el.dataset.step = String(step);
    if (n === 0) {
      el.querySelector('.stage-text')!.textContent = `Workgroup (${wg.join(', ')}) owns no tile (a padding workgroup of a folded grid): it returns at once.`;
      el.querySelector('.stage-svg')!.innerHTML = '';
      return;
    }
    const st = stagedAt(s, wg, step);
    const first = stagedAt(s, wg, 0);
    el.dataset.stagedA = span(st.a);
    el.dataset.stagedB = span(st.b);
    const outs = (st.c.r1 - st.c.r0) * (st.c.c1 - st.c.c0);
    el.querySelector('.stage-text')!.textContent = `Step ${step + 1} of ${n} for workgroup (${wg.join(', ')}): it holds A rows ${st.a.r0}…${st.a.r1 - 1} × k ${st.a.c0}…${st.a.c1 - 1} ` +
      `and B k ${st.b.r0}…${st.b.r1 - 1} × columns ${st.b.c0}…${st.b.c1 - 1} in workgroup memory; each of the tile's ${outs} outputs (C rows ${st.c.r0}…${st.c.r1 - 1}, columns ${st.c.c0}…${st.c.c1 - 1}) ` +
      `adds the ${st.a.c1 - st.a.c0} products of this slice to its running sum${s.workgroups[2] > 1 && s.kernel !== 'matmulTiledWGSL' ? ` (split-K slice ${wg[2]}: k ${first.a.c0}…${stagedAt(s, wg, n - 1).a.c1 - 1}; the slices' partial sums are added afterwards)` : ''}.`;
    el.querySelector('.stage-svg')!.innerHTML = picture(s, st, first.a.c0);
  };
  select.addEventListener('change', () => {
    wg = select.value.split(',').map(Number) as [number, number, number];
    step = 0;
    show();
  });
  rangeIn.addEventListener('input', () => { step = Number(rangeIn.value); show(); });
  el.querySelector('[data-step-prev]')!.addEventListener('click', () => { step = Math.max(0, step - 1); show(); });
  el.querySelector('[data-step-next]')!.addEventListener('click', () => { step = Math.max(0, Math.min(stepCount(s, wg) - 1, step + 1)); show(); });
  show();
  return {
    select(w) {
      if (w.join() === wg.join()) return;
      wg = w;
      step = 0;
      if (listed.some((l) => l.join() === w.join())) select.value = w.join(',');
      show();
    },
  };
}

/** The three matrices to scale: the current step's blocks of A and B filled, the workgroup's earlier steps shaded, its C tile outlined. */
function picture(s: Staging, st: Step, kBegin: number): string {
  const ux = Math.max(0.2, Math.min(8, 420 / (s.K + s.N)));
  const uy = Math.max(0.2, Math.min(8, 300 / (s.K + s.M)));
  const gap = 16;
  // A [M, K] at the left, under B's height; B [K, N] above C; C [M, N] below B, right of A.
  const A = { x: 0, y: s.K * uy + gap };
  const B = { x: s.K * ux + gap, y: 0 };
  const C = { x: B.x, y: A.y };
  const rect = (x: number, y: number, w: number, h: number, attrs: string): string =>
    `<rect x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${Math.max(1, w).toFixed(1)}" height="${Math.max(1, h).toFixed(1)}" ${attrs}/>`;
  const label = (x: number, y: number, t: string): string => `<text x="${x.toFixed(1)}" y="${(y - 3).toFixed(1)}" font-size="10" fill="#5a6270">${esc(t)}</text>`;
  const { a, b, c } = st;
  const parts = [
    rect(A.x, A.y, s.K * ux, s.M * uy, 'fill="#eef1f5" stroke="#9aa3ae" stroke-width="0.5"'),
    rect(B.x, B.y, s.N * ux, s.K * uy, 'fill="#eef1f5" stroke="#9aa3ae" stroke-width="0.5"'),
    rect(C.x, C.y, s.N * ux, s.M * uy, 'fill="#eef1f5" stroke="#9aa3ae" stroke-width="0.5"'),
    label(A.x, A.y, `A [${s.M}, ${s.K}]`), label(B.x + 2, B.y + 12, `B [${s.K}, ${s.N}]`), label(C.x + 2, C.y + 12, `C [${s.M}, ${s.N}]`),
    // Earlier steps of this workgroup: already folded into its partial sums.
    rect(A.x + kBegin * ux, A.y + a.r0 * uy, (a.c0 - kBegin) * ux, (a.r1 - a.r0) * uy, 'class="stage-done" fill="#9dbbe8" opacity="0.6"'),
    rect(B.x + b.c0 * ux, B.y + kBegin * uy, (b.c1 - b.c0) * ux, (b.r0 - kBegin) * uy, 'class="stage-done" fill="#9dbbe8" opacity="0.6"'),
    // This step's slices, in workgroup memory now.
    rect(A.x + a.c0 * ux, A.y + a.r0 * uy, (a.c1 - a.c0) * ux, (a.r1 - a.r0) * uy, 'class="stage-a" fill="#f0a13a" opacity="0.9"'),
    rect(B.x + b.c0 * ux, B.y + b.r0 * uy, (b.c1 - b.c0) * ux, (b.r1 - b.r0) * uy, 'class="stage-b" fill="#f0a13a" opacity="0.9"'),
    // The outputs they feed.
    rect(C.x + c.c0 * ux, C.y + c.r0 * uy, (c.c1 - c.c0) * ux, (c.r1 - c.r0) * uy, 'class="stage-c" fill="#1f5fbf" fill-opacity="0.25" stroke="#1f5fbf" stroke-width="1.5"'),
  ];
  const w = C.x + s.N * ux;
  const h = C.y + s.M * uy;
  return `<svg class="map staging" width="${(w + 2).toFixed(0)}" height="${(h + 2).toFixed(0)}" viewBox="-1 -1 ${(w + 2).toFixed(1)} ${(h + 2).toFixed(1)}">${parts.join('')}</svg>`;
}
