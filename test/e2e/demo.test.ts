// End to end: `scripts/serve-demo.mjs` builds and serves the browser demo on a free 127.0.0.1
// port; headless Chromium (Debian's, driven by Playwright, WebGPU on SwiftShader without a GPU)
// opens it, runs two tasks of the five-task split with replay in uint8, and checks what the page
// shows; then it writes a screenshot to docs/demo.png and reads the shader reader.
import { describe, it, expect } from 'vitest';
import { readdirSync, mkdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { dirname, join, resolve } from 'node:path';
import type { Page } from 'playwright';
import { useDemoBrowser } from '../helpers/browser.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
// docs/demo.png is refreshed only on request (ENGRAM_UPDATE_SCREENSHOT=1), so ordinary test runs
// leave the working tree clean; otherwise the screenshot goes to the temp folder and is still checked.
const SCREENSHOT = process.env.ENGRAM_UPDATE_SCREENSHOT === '1'
  ? join(ROOT, 'docs', 'demo.png')
  : join(tmpdir(), `engram-demo-${process.pid}.png`);

const e2e = useDemoBrowser();

async function openPage(path: string): Promise<{ page: Page; errors: string[] }> {
  const page = await e2e.browser!.newPage({ viewport: { width: 1200, height: 900 } });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  await page.goto(e2e.base + path);
  return { page, errors };
}

describe('browser demo', () => {
  it('trains two tasks with replay and shows the accuracy curves, the matrix and the memory', async () => {
    const { page, errors } = await openPage('');
    // Idle: the adapter is named, Start enabled, nothing measured yet.
    await page.waitForFunction(() => !(document.getElementById('start') as HTMLButtonElement).disabled || document.body.dataset.state === 'error', null, { timeout: 60_000 });
    expect(await page.getAttribute('body', 'data-state')).toBe('idle');
    expect((await page.textContent('#adapter'))!.length).toBeGreaterThan(0);
    expect(await page.textContent('#acc-0')).toBe('–');
    expect(await page.locator('[id^="R-"]').count()).toBe(0);

    await page.selectOption('#strategy', 'replay');
    await page.selectOption('#format', 'uint8');
    await page.fill('#budget', '150');
    await page.selectOption('#scenario', 'five');
    await page.fill('#tasks', '2');
    await page.fill('#steps', '60');
    const t0 = performance.now();
    await page.click('#start');
    await page.waitForFunction(() => ['done', 'error', 'stopped'].includes(document.body.dataset.state ?? ''), null, { timeout: 180_000 });
    const seconds = (performance.now() - t0) / 1000;
    expect(await page.textContent('#status'), 'status line').toMatch(/^Done: 2 tasks/);
    expect(await page.getAttribute('body', 'data-tasks-done')).toBe('2');
    console.log(`demo: two tasks on ${await page.textContent('#adapter')} in ${seconds.toFixed(1)} s`);

    // The matrix: rows after task 0 and task 1, each with the tasks seen so far.
    const R = await page.$$eval('[id^="R-"]', (els) => Object.fromEntries(els.map((e) => [e.id, Number((e as HTMLElement).dataset.value)])));
    expect(Object.keys(R).sort()).toEqual(['R-0-0', 'R-1-0', 'R-1-1']);
    for (const [id, v] of Object.entries(R)) expect(v >= 0 && v <= 1, `${id} = ${v}`).toBe(true);
    expect(R['R-0-0']).toBeGreaterThan(0.8); // digits 0/1 after training on them (chance: 0.1 over 10 outputs)
    expect(R['R-1-1']).toBeGreaterThan(0.6);
    // The "now" table shows the last evaluation (the matrix's last row) instead of the initial dashes.
    for (const j of [0, 1]) {
      const v = Number(await page.getAttribute(`#acc-${j}`, 'data-value'));
      expect(v).toBeCloseTo(R[`R-1-${j}`]!, 6);
      expect(await page.textContent(`#acc-${j}`)).toMatch(/^\d+\.\d%$/);
    }
    expect(await page.textContent('#avg-acc')).toMatch(/^\d+\.\d%$/);
    expect(await page.textContent('#forgetting')).toMatch(/^-?\d+\.\d%$/);
    // The heatmap draws task 1 after task 0 as not learned yet: grey, no value (the reports' convention).
    expect(await page.locator('#heatmap-svg rect.untrained').count()).toBe(1);
    // One curve per task, several evaluations each, a marker on every point, the axes labelled.
    expect(await page.locator('#curves-svg polyline').count()).toBe(2);
    expect(await page.locator('#curves-svg .marker').count()).toBeGreaterThanOrEqual(Number(await page.getAttribute('body', 'data-evals')));
    expect(await page.textContent('#curves-svg .x-label')).toMatch(/training steps/);
    expect(await page.textContent('#curves-svg .y-label')).toBe('test accuracy (%)');
    expect(Number(await page.getAttribute('body', 'data-evals'))).toBeGreaterThanOrEqual(12);
    // The memory: 150 KiB holds 4x more uint8 images than float32, and replay filled its budget.
    const cap = async (f: string): Promise<number> => Number(await page.textContent(`#cap-${f}`));
    expect([await cap('float32'), await cap('fp16'), await cap('uint8')]).toEqual([48, 97, 195]);
    const used = /^(\d+) \(/.exec((await page.textContent('#use-uint8')) ?? '');
    expect(used, 'exemplars in memory').not.toBeNull();
    expect(Number(used![1])).toBe(195);

    mkdirSync(dirname(SCREENSHOT), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    expect(statSync(SCREENSHOT).size).toBeLessThan(300 * 1024);
    expect(errors).toEqual([]);
    await page.close();
  }, 240_000);

  it('the shader reader lists every kernel file with its notes and WGSL', async () => {
    const { page, errors } = await openPage('shaders.html');
    await page.waitForFunction(() => document.body.dataset.state === 'done', null, { timeout: 30_000 });
    const files = readdirSync(join(ROOT, 'src', 'shaders')).filter((f) => f.endsWith('.ts')).map((f) => f.replace(/\.ts$/, ''));
    const sections = await page.$$eval('section.family', (els) => els.map((e) => e.id));
    expect(sections.sort()).toEqual(files.sort());
    for (const family of ['matmul', 'conv2d']) {
      const about = await page.textContent(`#${family} .about`);
      expect(about, `${family} notes`).toMatch(/workgroup/i);
      const wgsl = await page.$$eval(`#${family} pre.wgsl`, (els) => els.map((e) => e.textContent ?? ''));
      expect(wgsl.length).toBeGreaterThan(1);
      for (const w of wgsl) expect(w).toMatch(/@compute[\s\S]*@workgroup_size/);
    }
    expect(await page.locator('[data-kernel^="matmulTiledWGSL("]').count()).toBeGreaterThan(0);
    expect(await page.locator('[data-missing]').count(), 'generators without an instance in web/shaders.ts').toBe(0);
    expect(Number(await page.getAttribute('body', 'data-kernels'))).toBeGreaterThan(30);
    expect(errors).toEqual([]);
    await page.close();
  }, 60_000);
});
