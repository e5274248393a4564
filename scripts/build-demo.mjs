// Builds the browser demo (web/index.html, the continual-learning demo, web/shaders.html, the
// shader reader, and web/lab.html, the shader lab) with vite into web/dist/ (ignored by git): the pages' TypeScript and the library
// sources they import from src/ are bundled for the browser. The MNIST files are not copied; the
// demo server (scripts/serve-demo.mjs) serves them under /data/. web/teach.html (the "Teach it" page)
// imports `engram/browser`, which resolves to dist/engram.browser.js, the file users get: it is
// rebuilt first (scripts/build.mjs) when missing or older than a file of src/. web/public/ (the
// teach page's backbone weights and digits) is copied as is.
//
// Usage: node scripts/build-demo.mjs [--out DIR]     (or import { buildDemo } from it)

import { build } from 'vite';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, rmdirSync, statSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(fileURLToPath(new URL('..', import.meta.url)));
export const DEMO_SRC = resolve(root, 'web');
export const DEMO_OUT = resolve(root, 'web', 'dist');
const BROWSER_BUILD = resolve(root, 'dist', 'engram.browser.js');

/** Newest modification time of the files under `dir`. */
function newestMtime(dir) {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return t;
}

const isFresh = () => existsSync(BROWSER_BUILD) && statSync(BROWSER_BUILD).mtimeMs >= newestMtime(resolve(root, 'src'));

/**
 * dist/engram.browser.js, rebuilt by scripts/build.mjs when missing or older than src/. A lock folder
 * keeps two demo builds started together (two test files) from rebuilding dist/ under each other.
 */
export async function ensureBrowserBuild(quiet = false) {
  if (isFresh()) return BROWSER_BUILD;
  const lock = resolve(root, 'node_modules', '.engram-browser-build.lock');
  for (let waited = 0; ; waited += 250) {
    try {
      mkdirSync(lock);
      break;
    } catch (e) {
      if (e.code !== 'EEXIST') throw e;
      // A lock left by a killed build: older than 5 minutes.
      if (Date.now() - statSync(lock).mtimeMs > 300_000) rmSync(lock, { recursive: true, force: true });
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  try {
    if (!isFresh()) {
      if (!quiet) console.log('demo: building dist/engram.browser.js (npm run build) for the teach page...');
      const r = spawnSync(process.execPath, [resolve(root, 'scripts', 'build.mjs')], { cwd: root, stdio: quiet ? 'ignore' : 'inherit' });
      if (r.status !== 0 || !existsSync(BROWSER_BUILD)) throw new Error('build-demo: scripts/build.mjs failed; run `npm run build` to see why');
    }
  } finally {
    rmdirSync(lock);
  }
  return BROWSER_BUILD;
}

/**
 * Build the demo pages into `outDir`; resolves to outDir. The build goes to a private folder that
 * then replaces `outDir` by two renames, so a server already serving `outDir` (another test file's,
 * another terminal's) never sees it half-emptied by vite's emptyOutDir, and two builds running at
 * once do not write into each other.
 */
export async function buildDemo({ outDir = DEMO_OUT, quiet = false } = {}) {
  const tag = `${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const staging = `${outDir}.build-${tag}`;
  try {
    await buildInto(staging, quiet);
    swapInto(staging, outDir, `${outDir}.old-${tag}`);
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
  return outDir;
}

/** Move `staging` to `outDir`, moving any existing `outDir` aside first (retrying if a concurrent build swaps in between). */
function swapInto(staging, outDir, aside) {
  const asides = [];
  for (let attempt = 0; ; attempt++) {
    try {
      const to = `${aside}-${attempt}`;
      if (existsSync(outDir)) {
        renameSync(outDir, to);
        asides.push(to);
      }
    } catch (e) {
      if (e.code !== 'ENOENT') throw e; // another build moved it away first
    }
    try {
      renameSync(staging, outDir);
      break;
    } catch (e) {
      if (!['ENOTEMPTY', 'EEXIST'].includes(e.code) || attempt >= 5) throw e; // another build's folder landed first
    }
  }
  for (const a of asides) rmSync(a, { recursive: true, force: true });
}

async function buildInto(outDir, quiet) {
  const engramBrowser = await ensureBrowserBuild(quiet);
  await build({
    root: DEMO_SRC,
    base: './',
    configFile: false,
    logLevel: quiet ? 'error' : 'warn',
    mode: 'production',
    // Keep vite's dependency cache out of the source tree's web/ folder.
    cacheDir: resolve(root, 'node_modules', '.vite-demo'),
    resolve: { alias: { 'engram/browser': engramBrowser } },
    build: {
      outDir,
      emptyOutDir: true,
      target: 'es2022',
      reportCompressedSize: false,
      // The pages are small; the library is one chunk of a few hundred KiB, which is fine locally.
      chunkSizeWarningLimit: 2000,
      rolldownOptions: {
        input: { index: resolve(DEMO_SRC, 'index.html'), shaders: resolve(DEMO_SRC, 'shaders.html'), lab: resolve(DEMO_SRC, 'lab.html'), teach: resolve(DEMO_SRC, 'teach.html') },
      },
    },
  });
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const i = process.argv.indexOf('--out');
  const out = await buildDemo({ outDir: i > 0 ? resolve(process.argv[i + 1] ?? '') : DEMO_OUT });
  console.log(`demo built into ${out}`);
}
