// The package as a user installs it. `npm pack` on a copy of the repository (npm's `prepare` builds
// dist/ from nothing) and `npm install <tarball>` into an empty project; then, against that install:
//  - the tarball's contents and package.json fields;
//  - Node ESM: import 'engram' and 'engram/node', train a small model, checkpoint round trip;
//  - a strict TypeScript consumer compiles with no extra configuration (no skipLibCheck, no types);
//  - 'engram/browser' (dist/engram.browser.js) imported by a plain page with no bundler or import
//    map, training in headless Chromium;
//  - every ts/js/html/python block of README.md, in order, in that project, as written.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { readFileSync, writeFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { ROOT, TSC, run, packAndInstall, addData, type Consumer } from './consumer.js';
import { PageRunner } from './browser.js';
import { readmeBlocks, printsLike } from './readme-blocks.js';

let consumer: Consumer;
let pages: PageRunner | null = null;

beforeAll(async () => {
  consumer = await packAndInstall();
  addData(consumer.dir);
  pages = new PageRunner(consumer.dir);
  await pages.start();
}, 300_000);

afterAll(async () => {
  await pages?.stop();
});

describe('npm package', () => {
  it('the tarball holds dist/ (JS, .d.ts, source maps, the browser build), README and LICENSE, and no tests or sources', async () => {
    const { code, out } = await run('tar', ['tzf', consumer.tarball], ROOT);
    expect(code, out).toBe(0);
    const files = out.trim().split('\n').map((f) => f.replace(/^package\//, ''));
    for (const f of ['package.json', 'README.md', 'LICENSE', 'dist/index.js', 'dist/index.d.ts', 'dist/index.js.map', 'dist/node.js', 'dist/node.d.ts', 'dist/engram.browser.js', 'dist/engram.browser.js.map', 'dist/engine/ops/conv.js']) {
      expect(files, f).toContain(f);
    }
    const stray = files.filter((f) => !(f.startsWith('dist/') || ['package.json', 'README.md', 'LICENSE'].includes(f)));
    expect(stray).toEqual([]);
    expect(files.filter((f) => /\.test\.|fixtures|\.ts$/.test(f) && !f.endsWith('.d.ts'))).toEqual([]);
    const pkg = JSON.parse(readFileSync(join(consumer.dir, 'node_modules', 'engram', 'package.json'), 'utf8'));
    expect(pkg.license).toBe('MIT');
    expect(pkg.sideEffects).toBe(false);
    expect(pkg.engines.node).toBeDefined();
    expect(pkg.keywords).toContain('webgpu');
    expect(Object.keys(pkg.exports).sort()).toEqual(['.', './browser', './node', './package.json']);
    const mb = statSync(consumer.tarball).size / 1e6;
    const unpackedMb = files.reduce((sum, f) => sum + statSync(join(consumer.dir, 'node_modules', 'engram', f)).size, 0) / 1e6;
    console.log(`packed tarball: ${mb.toFixed(2)} MB, ${unpackedMb.toFixed(2)} MB unpacked, ${files.length} files`);
    // The README states the sizes to a tenth of a MB ("about"); keep them honest (within 10%).
    const stated = /about ([\d.]+) MB packed, ([\d.]+) MB unpacked/.exec(readFileSync(join(ROOT, 'README.md'), 'utf8'));
    expect(stated, 'README states the sizes as "about N MB packed, M MB unpacked"').not.toBeNull();
    expect(Math.abs(Number(stated![1]) - mb) / mb, `README says ${stated![1]} MB packed; it is ${mb.toFixed(2)} MB`).toBeLessThan(0.1);
    expect(Math.abs(Number(stated![2]) - unpackedMb) / unpackedMb, `README says ${stated![2]} MB unpacked; it is ${unpackedMb.toFixed(2)} MB`).toBeLessThan(0.1);
  });

  it('Node ESM: imports engram and engram/node, trains (the loss falls) and round-trips a checkpoint', async () => {
    const script = `
import * as E from 'engram';
import { saveCheckpoint, loadCheckpoint } from 'engram/node';
await E.init();
E.manualSeed(0);
// Two Gaussian blobs, linearly separable: a few SGD steps must lower the loss.
const x = E.tensor(Float32Array.from({ length: 64 * 4 }, (_, i) => (Math.floor(i / 4) % 2 ? 1 : -1) + Math.sin(i) * 0.3), [64, 4]).keep();
const y = E.tensor(Int32Array.from({ length: 64 }, (_, i) => i % 2), [64], { dtype: 'int32' }).keep();
const model = new E.Sequential(new E.Linear(4, 8), new E.ReLU(), new E.Linear(8, 2));
const opt = new E.SGD(model.parameters(), { lr: 0.2 });
const losses = [];
for (let s = 0; s < 20; s++) {
  const loss = E.scope(() => { const l = E.crossEntropy(model.forward(x), y); opt.zeroGrad(); l.backward(); opt.step(); return l; });
  losses.push(await loss.item()); loss.dispose();
}
await saveCheckpoint(model, 'tiny.safetensors');
const copy = new E.Sequential(new E.Linear(4, 8), new E.ReLU(), new E.Linear(8, 2));
await loadCheckpoint(copy, 'tiny.safetensors');
const a = await E.scope(() => model.forward(x)).toArray();
const b = await E.scope(() => copy.forward(x)).toArray();
// One rule for the entry points: 'engram/node' holds only what needs a file system, none of the root's names.
const nodeEntry = await import('engram/node');
const overlap = Object.keys(nodeEntry).filter((k) => k in E);
console.log(JSON.stringify({ first: losses[0], last: losses.at(-1), same: a.every((v, i) => v === b[i]), overlap, nodeNames: Object.keys(nodeEntry).sort() }));
`;
    writeFileSync(join(consumer.dir, 'smoke.mjs'), script);
    const { code, out } = await run(process.execPath, ['smoke.mjs'], consumer.dir);
    expect(code, out).toBe(0);
    const r = JSON.parse(out.trim().split('\n').filter((l) => l.startsWith('{')).at(-1)!);
    expect(r.last).toBeLessThan(r.first * 0.5);
    expect(r.same).toBe(true);
    expect(r.overlap, "names 'engram/node' repeats from 'engram'").toEqual([]);
    expect(r.nodeNames).toEqual(['DEBIAN_FASHION_MNIST_DIR', 'fileLineSink', 'loadCIFAR10', 'loadCIFAR100', 'loadCheckpoint', 'loadFashionMNIST', 'loadMNIST', 'loadSVHN', 'saveCheckpoint']);
  });

  it('a strict TypeScript consumer compiles against the declarations with no extra configuration', async () => {
    writeFileSync(join(consumer.dir, 'typed.ts'), `
import * as E from 'engram';
import { loadMNIST, saveCheckpoint } from 'engram/node';
export async function main(): Promise<number> {
  await E.init();
  const t: E.Tensor = E.zeros([2, 3]);
  const buffer: GPUBuffer = t.buffer;
  const model: E.Module = new E.Sequential(new E.Linear(3, 2));
  const loader: typeof E.DataLoader = E.DataLoader;
  void loader; void loadMNIST; void saveCheckpoint; void model;
  return buffer.size;
}
`);
    writeFileSync(join(consumer.dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: { strict: true, module: 'nodenext', noEmit: true }, files: ['typed.ts'] }));
    const { code, out } = await run(process.execPath, [TSC, '-p', 'tsconfig.json'], consumer.dir);
    expect(out).toBe('');
    expect(code).toBe(0);
  });

  it("'engram/browser' is one self-contained ES module: a plain page imports it with no bundler or import map and trains", async () => {
    writeFileSync(join(consumer.dir, 'plain.html'), `<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><script type="module">
import * as E from './node_modules/engram/dist/engram.browser.js';
await E.init();
const x = E.tensor(Float32Array.from({ length: 32 * 2 }, (_, i) => (Math.floor(i / 2) % 2 ? 1 : -1) + 0.1 * Math.cos(i)), [32, 2]);
const y = E.tensor(Int32Array.from({ length: 32 }, (_, i) => i % 2), [32], { dtype: 'int32' });
const model = new E.Linear(2, 2);
const opt = new E.SGD(model.parameters(), { lr: 0.5 });
const losses = [];
for (let s = 0; s < 10; s++) {
  const loss = E.scope(() => { const l = E.crossEntropy(model.forward(x), y); opt.zeroGrad(); l.backward(); opt.step(); return l; });
  losses.push(await loss.item()); loss.dispose();
}
console.log('result ' + JSON.stringify({ source: E.adapterInfo().source, first: losses[0], last: losses.at(-1) }));
</script>`);
    const r = await pages!.open('plain.html', (logs) => logs.some((l) => l.startsWith('result ')));
    expect(r.errors).toEqual([]);
    const result = JSON.parse(r.logs.find((l) => l.startsWith('result '))!.slice('result '.length));
    expect(result.source).toBe('browser');
    expect(result.last).toBeLessThan(result.first * 0.5);
  });
});

describe('README.md code blocks, run as written against the installed package', () => {
  const blocks = readmeBlocks(join(ROOT, 'README.md'));
  const runnable = blocks.filter((b) => b.lang === 'ts' || b.lang === 'js' || b.lang === 'html' || b.lang === 'python');

  it('the README has runnable blocks, and every fenced block says its language', () => {
    expect(runnable.length).toBeGreaterThan(4);
    // 'other' blocks are plain text (e.g. the layout listing): anything code-like must be tagged.
    for (const b of blocks.filter((x) => x.lang === 'other')) expect(b.code, `block at README line ${b.line}`).not.toMatch(/\bimport\b|await |<script/);
  });

  it('the TypeScript blocks type-check (strict) against the installed declarations', async () => {
    const names: string[] = [];
    for (const b of runnable.filter((x) => x.lang === 'ts')) {
      const name = `readme-${b.index}.ts`;
      writeFileSync(join(consumer.dir, name), b.code);
      names.push(name);
    }
    writeFileSync(join(consumer.dir, 'tsconfig.readme.json'), JSON.stringify({ compilerOptions: { strict: true, module: 'nodenext', target: 'es2022', noEmit: true }, files: names }));
    const { code, out } = await run(process.execPath, [TSC, '-p', 'tsconfig.readme.json'], consumer.dir);
    expect(out).toBe('');
    expect(code).toBe(0);
  });

  for (const b of runnable) {
    const label = `block ${b.index} (${b.lang}, README line ${b.line}, under "${b.heading}") runs`;
    it(label, async () => {
      if (b.lang === 'html') {
        const name = `readme-${b.index}.html`;
        writeFileSync(join(consumer.dir, name), `<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,">\n${b.code}`);
        // A page block ends by logging its result; it passes when it logs and raises nothing.
        const r = await pages!.open(name, (logs) => logs.length > 0);
        expect(r.errors).toEqual([]);
        console.log(`README block ${b.index}: ${r.logs.join(' | ')}`);
        return;
      }
      let cmd: string;
      let file: string;
      if (b.lang === 'python') {
        file = b.file ?? `readme-${b.index}.py`;
        writeFileSync(join(consumer.dir, file), b.code);
        cmd = '/usr/bin/python3';
      } else {
        file = b.file ? b.file.replace(/\.ts$/, '.mjs') : `readme-${b.index}.mjs`;
        const js = b.lang === 'ts' ? ts.transpileModule(b.code, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText : b.code;
        writeFileSync(join(consumer.dir, file), js);
        cmd = process.execPath;
      }
      const { code, out } = await run(cmd, [file], consumer.dir, 600_000);
      console.log(`README block ${b.index} (${b.lang}):\n${out.trim()}`);
      expect(code, out).toBe(0);
      if (b.prints) expect(printsLike(out, b.prints), `README says it prints "${b.prints}"; it printed:\n${out}`).toBe(true);
    }, 600_000);
  }
});
