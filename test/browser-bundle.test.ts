// The browser entry point (engram, the package root) must bundle for the browser without reaching
// Node-only code; scripts/check-browser-bundle.mjs builds them with vite and inspects the result.
// The negative cases prove the check is not vacuous: a fixture that imports node:fs and 'webgpu'
// through a helper, and the real Node entry point src/node.ts, must both be rejected.
import { describe, it, expect } from 'vitest';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

function runCheck(args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['scripts/check-browser-bundle.mjs', ...args], { cwd: root, timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, out: `${stdout}${stderr}` });
    });
  });
}

describe('browser bundle', () => {
  it('src/index.ts bundles as browser ESM with no Node built-ins and no webgpu package', async () => {
    const { code, out } = await runCheck([]);
    console.log(out.trim());
    expect(out).toMatch(/ok {3}src\/index\.ts: browser ES bundle [\d.]+ KiB/);
    expect(code, out).toBe(0);
  });

  it('reports Node built-ins and the webgpu package with the import chain that reaches them', async () => {
    const { code, out } = await runCheck(['--entry=leaky:test/fixtures/browser-bundle/leaky.ts']);
    expect(code).toBe(1);
    expect(out).toContain("Node built-in 'node:fs' imported via test/fixtures/browser-bundle/leaky.ts -> test/fixtures/browser-bundle/leaky-helper.ts");
    expect(out).toContain("the npm package 'webgpu' imported via test/fixtures/browser-bundle/leaky.ts -> test/fixtures/browser-bundle/leaky-helper.ts");
    expect(out).toMatch(/contains code of the npm package 'webgpu'/);
  });

  it('rejects the Node entry point src/node.ts', async () => {
    const { code, out } = await runCheck(['--entry=node:src/node.ts']);
    expect(code).toBe(1);
    expect(out).toMatch(/FAIL src\/node\.ts: the browser bundle reaches Node-only code/);
    expect(out).toMatch(/Node built-in '(node:)?\w+' imported via src\/node\.ts/);
  });
});
