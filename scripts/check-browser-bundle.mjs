// Proves the browser entry point bundles for the browser: builds src/index.ts (the package root)
// with vite (library mode, ES module, browser resolution) into a temporary folder and fails when
// the bundle reaches a Node-only module:
//  - any Node built-in (`node:fs`, `fs`, `path`, ...): vite swaps those for an empty
//    "__vite-browser-external" stub in browser builds, which would only break at run time, so a
//    resolver hook records every import of one, with the chain of importers that led to it;
//  - the npm package 'webgpu' (Dawn for Node): src/engine/device.ts loads it only through a
//    variable specifier, so bundlers must never see it; its code in the bundle means someone
//    imported it statically.
// Prints each entry's bundle size. Exit 0 when clean, 1 when not (with the import chains).
//
// Usage: node scripts/check-browser-bundle.mjs [--keep] [--entry=NAME:PATH ...]
//   --keep leaves the bundle folder behind; --entry checks other entry points instead (the test
//   uses it to prove that a leaking fixture is caught).

import { build } from 'vite';
import { builtinModules } from 'node:module';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(fileURLToPath(new URL('..', import.meta.url)));
const entryArgs = process.argv.filter((a) => a.startsWith('--entry=')).map((a) => a.slice('--entry='.length).split(':'));
const ENTRIES = entryArgs.length
  ? Object.fromEntries(entryArgs.map(([name, path]) => [name, path]))
  : { index: 'src/index.ts' };
const keep = process.argv.includes('--keep');

const builtins = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));
const isBuiltin = (id) => id.startsWith('node:') || builtins.has(id) || builtins.has(id.split('/')[0]);
// Markers that only the 'webgpu' package's own code contains.
const WEBGPU_MARKERS = ['dawn.node', 'webgpu.deviceDestroyUnmapsBuffers', 'node_modules/webgpu/'];

/** Records who imports whom, so an offending module can be traced back to an entry point. */
function importGraphPlugin(importersOf, offenders) {
  return {
    name: 'engram-import-graph',
    enforce: 'pre',
    async resolveId(source, importer, options) {
      if (!importer) return null;
      if (isBuiltin(source)) {
        offenders.push({ what: `Node built-in '${source}'`, importer });
        return null;
      }
      const resolved = await this.resolve(source, importer, { ...options, skipSelf: true });
      if (resolved && !resolved.external) {
        const id = resolved.id.split('?')[0];
        if (!importersOf.has(id)) importersOf.set(id, importer);
        if (/[\\/]node_modules[\\/]webgpu[\\/]/.test(id) || source === 'webgpu') {
          offenders.push({ what: "the npm package 'webgpu'", importer });
        }
      }
      return resolved;
    },
  };
}

function chainOf(importer, importersOf) {
  const chain = [];
  const seen = new Set();
  for (let id = importer; id && !seen.has(id); id = importersOf.get(id)) {
    seen.add(id);
    chain.unshift(relative(root, id));
  }
  return chain.join(' -> ');
}

function filesUnder(dir) {
  return readdirSync(dir, { recursive: true })
    .map((f) => join(dir, String(f)))
    .filter((f) => statSync(f).isFile());
}

async function checkEntry(name, entry, outDir) {
  const importersOf = new Map();
  const offenders = [];
  await build({
    root,
    configFile: false,
    logLevel: 'error',
    mode: 'production',
    resolve: { conditions: ['browser', 'import', 'module', 'default'] },
    plugins: [importGraphPlugin(importersOf, offenders)],
    build: {
      outDir,
      emptyOutDir: true,
      write: true,
      minify: false,
      sourcemap: false,
      reportCompressedSize: false,
      target: 'es2022',
      lib: { entry: resolve(root, entry), formats: ['es'], fileName: name },
      rolldownOptions: { platform: 'browser' },
    },
  });

  const files = filesUnder(outDir).filter((f) => /\.(m?js)$/.test(f));
  let bytes = 0;
  const problems = offenders.map((o) => `${o.what} imported via ${chainOf(o.importer, importersOf)}`);
  for (const f of files) {
    const code = readFileSync(f, 'utf8');
    bytes += Buffer.byteLength(code);
    // Static or dynamic imports of Node built-ins that survived into the output.
    for (const m of code.matchAll(/(?:from\s*|import\s*\(?\s*|require\s*\(\s*)["'](node:[\w/]+)["']/g)) {
      problems.push(`${relative(outDir, f)} imports '${m[1]}'`);
    }
    if (code.includes('__vite-browser-external')) problems.push(`${relative(outDir, f)} contains vite's stub for a Node built-in`);
    for (const marker of WEBGPU_MARKERS) {
      if (code.includes(marker)) problems.push(`${relative(outDir, f)} contains code of the npm package 'webgpu' ('${marker}')`);
    }
  }
  return { name, entry, files: files.length, bytes, problems: [...new Set(problems)] };
}

const outBase = mkdtempSync(join(tmpdir(), 'engram-browser-bundle-'));
let failed = false;
try {
  for (const [name, entry] of Object.entries(ENTRIES)) {
    const r = await checkEntry(name, entry, join(outBase, name));
    const kb = (r.bytes / 1024).toFixed(1);
    if (r.problems.length) {
      failed = true;
      console.error(`FAIL ${r.entry}: the browser bundle reaches Node-only code:`);
      for (const p of r.problems) console.error(`  - ${p}`);
    } else {
      console.log(`ok   ${r.entry}: browser ES bundle ${kb} KiB in ${r.files} file(s), no Node built-ins, no 'webgpu' package`);
    }
  }
} finally {
  if (keep) console.log(`bundles kept in ${outBase}`);
  else rmSync(outBase, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
