// Builds the browser demo (web/index.html, the continual-learning demo, web/shaders.html, the
// shader reader, and web/lab.html, the shader lab) with vite into web/dist/ (ignored by git): the pages' TypeScript and the library
// sources they import from src/ are bundled for the browser. The MNIST files are not copied; the
// demo server (scripts/serve-demo.mjs) serves them under /data/.
//
// Usage: node scripts/build-demo.mjs [--out DIR]     (or import { buildDemo } from it)

import { build } from 'vite';
import { existsSync, renameSync, rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(fileURLToPath(new URL('..', import.meta.url)));
export const DEMO_SRC = resolve(root, 'web');
export const DEMO_OUT = resolve(root, 'web', 'dist');

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
  await build({
    root: DEMO_SRC,
    base: './',
    configFile: false,
    logLevel: quiet ? 'error' : 'warn',
    mode: 'production',
    // Keep vite's dependency cache out of the source tree's web/ folder.
    cacheDir: resolve(root, 'node_modules', '.vite-demo'),
    build: {
      outDir,
      emptyOutDir: true,
      target: 'es2022',
      reportCompressedSize: false,
      // The pages are small; the library is one chunk of a few hundred KiB, which is fine locally.
      chunkSizeWarningLimit: 2000,
      rolldownOptions: {
        input: { index: resolve(DEMO_SRC, 'index.html'), shaders: resolve(DEMO_SRC, 'shaders.html'), lab: resolve(DEMO_SRC, 'lab.html') },
      },
    },
  });
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const i = process.argv.indexOf('--out');
  const out = await buildDemo({ outDir: i > 0 ? resolve(process.argv[i + 1] ?? '') : DEMO_OUT });
  console.log(`demo built into ${out}`);
}
