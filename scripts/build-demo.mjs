// Builds the browser demo (web/index.html, the continual-learning demo, web/shaders.html, the
// shader reader, and web/lab.html, the shader lab) with vite into web/dist/ (ignored by git): the pages' TypeScript and the library
// sources they import from src/ are bundled for the browser. The MNIST files are not copied; the
// demo server (scripts/serve-demo.mjs) serves them under /data/.
//
// Usage: node scripts/build-demo.mjs [--out DIR]     (or import { buildDemo } from it)

import { build } from 'vite';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(fileURLToPath(new URL('..', import.meta.url)));
export const DEMO_SRC = resolve(root, 'web');
export const DEMO_OUT = resolve(root, 'web', 'dist');

/** Build the demo pages into `outDir`; resolves to outDir. */
export async function buildDemo({ outDir = DEMO_OUT, quiet = false } = {}) {
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
  return outDir;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const i = process.argv.indexOf('--out');
  const out = await buildDemo({ outDir: i > 0 ? resolve(process.argv[i + 1] ?? '') : DEMO_OUT });
  console.log(`demo built into ${out}`);
}
