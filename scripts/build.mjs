// `npm run build` (also npm's `prepare`, so `npm pack`, `npm publish` and installs from git build):
//  1. dist/ from scratch with tsc: ES modules, .d.ts and source maps (sources inlined, since the
//     package ships dist/ only);
//  2. dist/engram.browser.js: the same library as one self-contained ES module with its dependencies
//     (fflate) inlined, so a plain page can `import * as E from '.../engram.browser.js'` with no
//     bundler and no import map. It is bundled from dist/index.js, i.e. from exactly the code Node
//     users import.
// Prints what it wrote; exits non-zero on a type error or when the browser file reaches Node code.

import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(fileURLToPath(new URL('..', import.meta.url)));
const dist = join(root, 'dist');
const BROWSER_FILE = 'engram.browser.js';
const started = performance.now();

rmSync(dist, { recursive: true, force: true });
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const r = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.json')], { cwd: root, stdio: 'inherit' });
if (r.status !== 0) {
  console.error('build: tsc failed (see the errors above)');
  process.exit(r.status ?? 1);
}

const { build } = await import('vite');
await build({
  root,
  configFile: false,
  logLevel: 'error',
  mode: 'production',
  resolve: { conditions: ['browser', 'import', 'module', 'default'] },
  build: {
    outDir: dist,
    emptyOutDir: false,
    write: true,
    minify: false, // readable: people read this library's code
    sourcemap: true,
    reportCompressedSize: false,
    target: 'es2022',
    lib: { entry: join(dist, 'index.js'), formats: ['es'], fileName: () => BROWSER_FILE },
    rolldownOptions: { platform: 'browser' },
  },
});

const code = readFileSync(join(dist, BROWSER_FILE), 'utf8');
const problems = [];
for (const m of code.matchAll(/(?:from\s*|import\s*\(?\s*)["']([^"'./][^"']*)["']/g)) {
  // The only bare specifier allowed is the variable-specifier import of 'webgpu' in Node, which
  // is not a literal and so never matches here.
  problems.push(`imports '${m[1]}'`);
}
if (code.includes('__vite-browser-external')) problems.push("contains vite's stub for a Node built-in");
if (problems.length) {
  console.error(`build: dist/${BROWSER_FILE} is not self-contained: ${[...new Set(problems)].join('; ')}`);
  process.exit(1);
}
const kib = (statSync(join(dist, BROWSER_FILE)).size / 1024).toFixed(0);
console.log(`build: dist/ (tsc) and dist/${BROWSER_FILE} (${kib} KiB, self-contained) in ${((performance.now() - started) / 1000).toFixed(1)} s`);
