// End to end: the shader lab (web/lab.html) in headless Chromium (Debian's, driven by Playwright,
// WebGPU on SwiftShader without a GPU), served by `scripts/serve-demo.mjs --port 0` like the demo.
// It runs one op panel of every kernel family (test/lab-coverage.test.ts runs every panel and variant
// in Node) and checks the differences the page shows against the float64 references are within
// tolerance and the dispatches it lists match their mapping rules, times matmul and conv2d ladder rungs, records the training step's dispatches,
// checks mapping pictures against their recorded dispatches and the inputs a hovered element reads (three families), and takes a screenshot (docs/lab.png only
// with ENGRAM_UPDATE_SCREENSHOT=1, else the temp folder). Shapes are tiny: SwiftShader is slow.
import { describe, it, expect } from 'vitest';
import { mkdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { dirname, join, resolve } from 'node:path';
import type { Page } from 'playwright';
import { useDemoBrowser } from '../helpers/browser.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const SCREENSHOT = process.env.ENGRAM_UPDATE_SCREENSHOT === '1'
  ? join(ROOT, 'docs', 'lab.png')
  : join(tmpdir(), `engram-lab-${process.pid}.png`);
// The page's own tolerances (web/lab.ts FORWARD_TOL, GRAD_TOL): float32 GPU against float64 CPU.
const FORWARD_TOL = 1e-4;
const GRAD_TOL = 1e-3;
/** One panel per kernel family (the first of its family on the page). */
const OPS = ['matmul', 'gemm-rows', 'conv2d', 'convGrouped', 'unary', 'fused', 'reduce', 'softmax', 'logsumexp', 'sort', 'maxPool2d', 'batchNorm', 'layerNorm', 'transpose',
  'embedding', 'pad', 'oneHot', 'dropout', 'random', 'attention', 'optimizer', 'codecs', 'transforms', 'augment', 'rotate', 'upsample'];
/** Panels with no differentiable input (forward kernels, updates, draws, codecs): no gradient check. */
const FORWARD_ONLY = new Set(['gemm', 'gemm-rows', 'conv2dDirect', 'oneHot', 'random', 'optimizer', 'codecs', 'transforms', 'augment', 'rotate', 'upsample']);

const e2e = useDemoBrowser();

const data = async (page: Page, sel: string, key: string): Promise<string | null> => page.getAttribute(sel, `data-${key}`);
const waitState = (page: Page, sel: string, states: string[], timeout = 30_000) =>
  page.waitForFunction(([s, st]) => (st as string[]).includes((document.querySelector(s as string) as HTMLElement | null)?.dataset.state ?? ''), [sel, states], { timeout });

describe('shader lab', () => {
  it('runs every op against its reference, times the ladders, lists the step and draws a mapping', async () => {
    const page = await e2e.browser!.newPage({ viewport: { width: 1200, height: 900 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    await page.goto(e2e.base + 'lab.html');
    await waitState(page, 'body', ['ready', 'error'], 30_000);
    expect(await data(page, 'body', 'state'), `adapter: ${await page.textContent('#adapter')}`).toBe('ready');
    const adapter = await page.textContent('#adapter');

    // 1. One panel per family: forward within the panel's tolerance of float64, every gradient within
    // GRAD_TOL of central differences, every listed dispatch on its mapping rule's grid, a picture drawn.
    const panels = await page.$$eval('.panel.op', (els) => els.map((e) => [e.id.slice(3), e.querySelector('a')!.getAttribute('href')!.split('#')[1]!]));
    expect(panels.length).toBeGreaterThanOrEqual(41);
    const firstOfFamily = [...new Map(panels.map(([id, fam]) => [fam!, id!] as const).reverse()).values()].reverse();
    expect([...firstOfFamily].sort()).toEqual([...OPS].sort());
    for (const op of OPS) {
      const sel = `#op-${op}`;
      await page.click(`${sel} [data-run]`);
      await waitState(page, sel, ['done', 'error'], 60_000);
      expect(await data(page, sel, 'state'), `${op}: ${await page.textContent(`${sel} .result`)}`).toBe('done');
      const rel = Number(await data(page, sel, 'max-rel'));
      const gradRel = Number(await data(page, sel, 'grad-max-rel'));
      expect(rel, `${op} forward`).toBeLessThanOrEqual(Number(await data(page, sel, 'tolerance')));
      expect(Number(await data(page, sel, 'grads')) > 0, `${op} gradients checked`).toBe(!FORWARD_ONLY.has(op));
      expect(gradRel, `${op} gradient`).toBeLessThanOrEqual(GRAD_TOL);
      // The verdict the reader sees agrees with the numbers.
      expect(await page.$$eval(`${sel} .bad`, (es) => es.map((e) => e.textContent)), `${op} shows a failure`).toEqual([]);
      const map = `${sel} .dispatch-map`;
      const n = Number(await data(page, map, 'dispatches'));
      expect(n, `${op} dispatches listed`).toBeGreaterThan(0);
      expect(Number(await data(page, map, 'rules-agree')), `${op} dispatches on their rule's grid`).toBe(n);
      expect(Number(await data(page, map, 'cells')), `${op} mapping picture`).toBeGreaterThan(0);
    }
    // Hovering an element of relu's forward picture names its workgroup and thread: element 5 of 12 -> workgroup 0, thread 5.
    await page.hover('#op-unary .dispatch-map rect[data-i="5"]');
    expect(await data(page, '#op-unary .dispatch-map', 'hover')).toBe('0,0,0|5');
    // The inputs beside the output, highlighted from the panel's read rule (web/lab-reads.ts): y[5] reads x[5].
    expect(await data(page, '#op-unary .dispatch-map', 'reads')).toBe('0:5');
    expect(await page.locator('#op-unary .dispatch-map svg.input g.hl rect.read').count()).toBe(1);
    // A second family: maxPool2d 6x6, k 3, stride 2 -> y [1, 2, 2, 2]; y[0, 0, 1, 1] (element 3) reads
    // the 3x3 window at rows 2-4, columns 2-4 of x's first plane.
    await page.hover('#op-maxPool2d .dispatch-map svg.map:not(.input) rect[data-i="3"]');
    expect(await data(page, '#op-maxPool2d .dispatch-map', 'hover')).toBe('0,0,0|3');
    expect(await data(page, '#op-maxPool2d .dispatch-map', 'reads')).toBe('0:14 0:15 0:16 0:20 0:21 0:22 0:26 0:27 0:28');
    expect(await page.$$eval('#op-maxPool2d svg.input g.hl rect.read', (rs) => rs.map((r) => Number(r.getAttribute('data-idx'))))).toEqual([14, 15, 16, 20, 21, 22, 26, 27, 28]);
    // And conv2d (4x4, padding 1, 2 -> 8 channels): y[0, 0, 1, 1] (element 5) reads 2 x 3 x 3 of x,
    // the 18 weights of filter 0 and b[0]; the workgroup that writes it reads more (light cells).
    await page.hover('#op-conv2d .dispatch-map svg.map:not(.input) rect[data-i="5"]');
    expect(await page.locator('#op-conv2d svg.input g.hl rect.read').count()).toBe(37);
    expect(await page.locator('#op-conv2d svg.input g.hl rect.staged').count()).toBeGreaterThan(37);
    expect(await page.locator('#op-unary .dispatch-map g.hl rect.thread').count()).toBe(1);
    // A backward dispatch: conv2d's grad-input kernel (implicit GEMM). Hovering dx[0, 0, 1, 1] highlights
    // what it is computed from: G and w at the 8 channels × 9 taps that land on it, and no x; the staging
    // stepper under it walks the workgroup's K loop (K = 8 channels × 9 taps, 8 a step).
    await page.selectOption('#op-conv2d [data-variant]', 'implicit GEMM');
    await page.click('#op-conv2d [data-run]');
    await waitState(page, '#op-conv2d', ['done', 'error'], 60_000);
    expect(await data(page, '#op-conv2d', 'state')).toBe('done');
    const gradInput = await page.$$eval('#op-conv2d [data-dispatch] option', (os) => os.find((o) => o.textContent!.includes('conv2dGradInputWGSL'))?.getAttribute('value'));
    expect(gradInput, 'conv2d grad-input dispatch listed').toBeTruthy();
    await page.selectOption('#op-conv2d [data-dispatch]', gradInput!);
    expect(await data(page, '#op-conv2d .dispatch-map', 'inputs-drawn')).toBe('4'); // x, w, b and G
    await page.hover('#op-conv2d .dispatch-map svg.map:not(.input):not(.staging) rect[data-i="5"]');
    expect(await data(page, '#op-conv2d .dispatch-map', 'hover')).toMatch(/^0,0,0\|\d+$/);
    const bwdReads = (await data(page, '#op-conv2d .dispatch-map', 'reads'))!.split(' ');
    expect(bwdReads.filter((r) => r.startsWith('3:')).length, 'G elements read').toBe(72);
    expect(bwdReads.filter((r) => r.startsWith('1:')).length, 'w elements read').toBe(72);
    expect(bwdReads.filter((r) => r.startsWith('0:')), 'dx reads no x').toEqual([]);
    expect(await page.locator('#op-conv2d svg.input g.hl rect.read').count()).toBe(144);
    const stage = '#op-conv2d .dispatch-map .staging';
    expect([await data(page, stage, 'steps'), await data(page, stage, 'step'), await data(page, stage, 'staged-a')]).toEqual(['9', '0', '0:16,0:8']);
    await page.click(`${stage} [data-step-next]`);
    expect([await data(page, stage, 'step'), await data(page, stage, 'staged-a'), await data(page, stage, 'staged-b')]).toEqual(['1', '0:16,8:16', '8:16,0:2']);
    expect(await page.locator(`${stage} svg rect.stage-a`).count()).toBe(1);
    // A shape edit reaches the op: matmul at 2x7x6 shows a 2x6 output.
    await page.fill('#op-matmul [data-param="M"]', '2');
    await page.fill('#op-matmul [data-param="K"]', '7');
    await page.fill('#op-matmul [data-param="N"]', '6');
    await page.click('#op-matmul [data-run]');
    await page.waitForFunction(() => /output \[2, 6\]/.test(document.querySelector('#op-matmul .result')?.textContent ?? ''), null, { timeout: 10_000 });
    await waitState(page, '#op-matmul', ['done', 'error']);
    expect(Number(await data(page, '#op-matmul', 'max-rel'))).toBeLessThanOrEqual(FORWARD_TOL);

    // 2. Ladders: two matmul rungs and the implicit-GEMM conv rung at tiny sizes.
    for (const [k, v] of [['M', '32'], ['N', '32'], ['K', '32']]) await page.fill(`#ladder-matmul [data-size="${k}"]`, v!);
    await page.fill('#ladder-matmul [data-reps]', '2');
    const timings: string[] = [];
    for (const rung of ['naive', 'tiled']) {
      const sel = `#rung-matmul-${rung}`;
      await page.click(`${sel} [data-time]`);
      await waitState(page, sel, ['done', 'error']);
      expect(await data(page, sel, 'state'), await page.textContent(`${sel} .timing`) ?? '').toBe('done');
      expect(Number(await data(page, sel, 'gflops'))).toBeGreaterThan(0);
      expect(['gpu-timestamps', 'wall-clock']).toContain(await data(page, sel, 'method'));
      timings.push(`matmul ${rung} 32^3: ${await page.textContent(`${sel} .timing`)}`);
    }
    for (const [k, v] of [['N', '1'], ['C', '4'], ['H', '8'], ['W', '8'], ['CO', '8']]) await page.fill(`#ladder-conv2d [data-size="${k}"]`, v!);
    await page.fill('#ladder-conv2d [data-reps]', '2');
    await page.click('#rung-conv2d-gemm [data-time]');
    await waitState(page, '#rung-conv2d-gemm', ['done', 'error']);
    expect(await data(page, '#rung-conv2d-gemm', 'state')).toBe('done');
    expect(Number(await data(page, '#rung-conv2d-gemm', 'gflops'))).toBeGreaterThan(0);
    timings.push(`conv2d implicit GEMM 1x4x8x8 -> 8: ${await page.textContent('#rung-conv2d-gemm .timing')}`);

    // 3. The training step at batch 1: forward, backward and optimizer dispatches, linked to the reader.
    await page.fill('#step-batch', '1');
    await page.click('#step-run');
    await waitState(page, '#step', ['done', 'error'], 40_000);
    expect(await data(page, '#step', 'state'), await page.textContent('#step-summary') ?? '').toBe('done');
    const n = Number(await data(page, '#step', 'dispatches'));
    const [fwd, bwd, opt] = await Promise.all(['forward', 'backward', 'optimizer'].map(async (k) => Number(await data(page, '#step', k))));
    expect(fwd! + bwd! + opt!).toBe(n);
    expect(fwd).toBeGreaterThanOrEqual(10); // 2 convs, 2 BNs (stats + normalize), 2 pools, linear, loss
    expect(bwd).toBeGreaterThan(fwd!);
    expect(opt).toBeGreaterThan(0);
    expect(await page.locator('#step-table tr').count()).toBe(n + 1);
    // Every dispatch is traced to its src/shaders export and linked to the lab panel that runs that kernel.
    expect(await page.locator('#step-table a.panel-link').count()).toBe(n);
    const panelIds = new Set(await page.$$eval('.panel.op', (els) => els.map((e) => `#${e.id}`)));
    for (const href of await page.$$eval('#step-table a.panel-link', (as) => as.map((a) => a.getAttribute('href')!))) expect(panelIds.has(href), href).toBe(true);
    // Each dispatch links to its file's section in the shader reader, and where the kernel's name
    // says which WGSL it runs, to that kernel (?kernel=): every such link must name a kernel the reader lists.
    const links = (await page.$$eval('#step-table tr', (rs) => rs.slice(1).map((r) => [r.querySelector('code')!.textContent!, r.querySelector('a')!.getAttribute('href')!])))
      .map(([kernel, href]) => ({ kernel: kernel!, url: new URL(href!, e2e.base) }));
    const families = links.map((l) => l.url.hash.slice(1));
    // SGD's step: the multi-tensor kernels (optim-multi.ts), Optimizer.foreach's default.
    for (const f of ['conv2d', 'batchnorm', 'pool', 'softmax', 'optim-multi']) expect(families).toContain(f);
    // The linear layer's products: matmul.ts, or on CPU-backed adapters (SwiftShader here) with a
    // 10-class head, the row-dot / nvec4 kernels of matmul-rowdot.ts.
    expect(families.filter((f) => f === 'matmul' || f === 'matmul-rowdot').length, 'the linear layer\'s products').toBeGreaterThanOrEqual(3);
    expect(links.filter((l) => l.url.hash === '').map((l) => l.kernel), 'dispatches with no file in the reader').toEqual([]);
    // Kernels whose names do not say their file: the bias gradient's sumTo (elementwise.ts), BN's step counter addInt (fill.ts).
    expect(links.find((l) => l.kernel === 'sumTo')?.url.hash).toBe('#elementwise');
    expect(links.find((l) => l.kernel === 'addInt')?.url.hash).toBe('#fill');
    const named = [...new Set(links.map((l) => l.url.searchParams.get('kernel')).filter((k): k is string => !!k))];
    expect(named.length, 'dispatches linked to their kernel').toBeGreaterThanOrEqual(10);
    const reader = await e2e.browser!.newPage();
    await reader.goto(e2e.base + 'shaders.html?kernel=' + encodeURIComponent('bnStatsWGSL('));
    await reader.waitForFunction(() => document.body.dataset.state === 'done', null, { timeout: 30_000 });
    const listed = await reader.$$eval('details.kernel', (ds) => ds.map((d) => (d as HTMLElement).dataset.kernel ?? ''));
    for (const k of named) expect(listed.some((l) => l.startsWith(k)), `${k} in the shader reader`).toBe(true);
    // The deep link opened the kernel it names.
    expect(await reader.$$eval('details.kernel[open]', (ds) => ds.map((d) => (d as HTMLElement).dataset.kernel))).toContain('bnStatsWGSL(true)');
    await reader.close();

    // 4. The tiled matmul mapping: 80x96 output -> 2x2 workgroups of 16x16; hovering C[10, 20] names workgroup (0, 0), thread (4, 10), which owns 16 elements; C[70, 20] is in workgroup (0, 1).
    await waitState(page, '#map-matmul-tiled', ['done', 'error']);
    expect(await data(page, '#map-matmul-tiled', 'agrees'), await page.textContent('#map-matmul-tiled .geometry') ?? '').toBe('true');
    expect(await data(page, '#map-matmul-tiled', 'workgroups')).toBe('2x2x1');
    expect(await data(page, '#map-matmul-tiled', 'workgroup-size')).toBe('16x16');
    await page.hover('#map-matmul-tiled rect[data-r="10"][data-c="20"]');
    expect(await data(page, '#map-matmul-tiled', 'hover')).toBe('0,0|4,10');
    expect(await page.locator('#map-matmul-tiled g.hl rect.thread').count(), 'elements of the hovered thread').toBe(16);
    // In A and B: the bands the workgroup stages and the row and column the thread reads.
    expect(await page.locator('#map-matmul-tiled g.hl rect.staged').count()).toBe(2);
    expect(await page.locator('#map-matmul-tiled g.hl rect.read').count()).toBe(2);
    await page.hover('#map-matmul-tiled rect[data-r="70"][data-c="20"]');
    expect(await data(page, '#map-matmul-tiled', 'hover')).toBe('0,1|4,6');
    // The last row tile is partial (rows 64-79): the thread owns rows 70 only (86, 102, 118 do not exist), 4 columns.
    expect(await page.locator('#map-matmul-tiled g.hl rect.thread').count()).toBe(4);
    expect(await data(page, '#map-unary', 'agrees')).toBe('true');
    expect(await data(page, '#map-unary', 'workgroups')).toBe('4x1x1');
    // The row reduction: x [12, 80] -> one workgroup per row; x[3, 70] is added by thread 70 of workgroup 3, which writes y[3].
    expect(await data(page, '#map-reduce-row', 'agrees'), await page.textContent('#map-reduce-row .geometry') ?? '').toBe('true');
    expect(await data(page, '#map-reduce-row', 'workgroups')).toBe('12x1x1');
    await page.hover('#map-reduce-row rect[data-r="3"][data-c="70"]');
    expect(await data(page, '#map-reduce-row', 'hover')).toBe('3,0|70,0');
    expect(await page.locator('#map-reduce-row g.hl rect.thread').count()).toBe(1);
    expect(await page.locator('#map-reduce-row g.hl rect.read').count()).toBe(1);
    // The naive conv: 20 x 28 = 560 outputs -> 3 workgroups of 256; output [10, 5] is element 285: workgroup 1, thread 29, reading a 3x3 window.
    expect(await data(page, '#map-conv-direct', 'agrees'), await page.textContent('#map-conv-direct .geometry') ?? '').toBe('true');
    expect(await data(page, '#map-conv-direct', 'workgroups')).toBe('3x1x1');
    await page.hover('#map-conv-direct rect[data-r="10"][data-c="5"]');
    expect(await data(page, '#map-conv-direct', 'hover')).toBe('1,0|29,0');
    expect(await page.locator('#map-conv-direct g.hl rect.read').count()).toBe(1);

    console.log(`lab on ${adapter}:\n  ${timings.join('\n  ')}\n  step: ${await page.textContent('#step-summary')}`);
    mkdirSync(dirname(SCREENSHOT), { recursive: true });
    // The screenshot: the gemm panel with the tiled kernel forced at 80 x 16 x 96, its dispatch drawn
    // (2 x 2 workgroups of 64 x 64) and C[10, 20] hovered: workgroup (0, 0), thread 10 * 16 + 4, whose
    // 16 elements (strided by 16) are filled.
    await page.selectOption('#op-gemm [data-variant]', 'tiled');
    for (const [k, v] of [['M', '80'], ['K', '16'], ['N', '96']]) await page.fill(`#op-gemm [data-param="${k}"]`, v!);
    await page.click('#op-gemm [data-run]');
    await waitState(page, '#op-gemm', ['done', 'error']);
    expect(await data(page, '#op-gemm', 'state'), await page.textContent('#op-gemm .result') ?? '').toBe('done');
    expect(Number(await data(page, '#op-gemm', 'max-rel'))).toBeLessThanOrEqual(FORWARD_TOL);
    expect(await data(page, '#op-gemm .dispatch-map', 'drawn')).toBe('matmulTiledWGSL');
    await page.setViewportSize({ width: 1200, height: 1300 });
    await page.locator('#op-gemm .dispatch-map').scrollIntoViewIfNeeded();
    await page.hover(`#op-gemm .dispatch-map rect[data-i="${10 * 96 + 20}"]`);
    expect(await data(page, '#op-gemm .dispatch-map', 'hover')).toBe('0,0,0|164');
    expect(await page.locator('#op-gemm .dispatch-map g.hl rect.thread').count()).toBe(16);
    // A and B beside it: the thread's row of A and column of B (dark), the workgroup's 64-row band of A
    // and 64-column band of B that pass through its workgroup memory (light).
    expect(await page.locator('#op-gemm svg.input g.hl rect.read').count()).toBe(2 * 16);
    expect(await page.locator('#op-gemm svg.input g.hl rect.staged').count()).toBe(2 * 64 * 16);
    // Clipped from the page as it is (a locator screenshot would scroll, moving the cell under the mouse).
    const clip = (await page.locator('#op-gemm .dispatch-map').boundingBox())!;
    await page.screenshot({ path: SCREENSHOT, clip });
    expect(statSync(SCREENSHOT).size).toBeGreaterThan(10_000);
    expect(statSync(SCREENSHOT).size).toBeLessThan(400 * 1024);
    expect(errors).toEqual([]);
    await page.close();
  }, 120_000);
});
