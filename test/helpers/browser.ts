// The end-to-end tests' browser and server (test/e2e): headless Chromium (Debian's, driven by
// Playwright, WebGPU on SwiftShader without a GPU) and `scripts/serve-demo.mjs --port 0`.
import { beforeAll, afterAll } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirname, resolve } from 'node:path';
import { chromium, type Browser } from 'playwright';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const CHROMIUM = process.env.ENGRAM_CHROMIUM ?? '/usr/bin/chromium';

/**
 * Start the demo server on port 0. `child` is there at once (so that an afterAll can kill it even
 * if it never starts); `url` resolves with the URL it prints, or rejects if it exits first.
 */
function startDemoServer(): { child: ChildProcess; url: Promise<string> } {
  const child = spawn(process.execPath, ['scripts/serve-demo.mjs', '--port', '0'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const url = new Promise<string>((resolveUrl, reject) => {
    let out = '';
    const onData = (d: Buffer): void => {
      out += String(d);
      const m = /engram demo: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(out);
      if (m) resolveUrl(m[1]!);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.on('exit', (code) => reject(new Error(`serve-demo exited with ${code} before printing its URL:\n${out}`)));
  });
  return { child, url };
}

/** Launch headless Chromium with WebGPU enabled. */
function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    // Playwright gives every launch a fresh temporary profile; the flags keep Chromium off the network.
    args: ['--enable-unsafe-webgpu', '--no-sandbox', '--headless=new', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}

/** What useDemoBrowser() fills in before a file's tests run: the browser, and the served demo's URL. */
export interface DemoBrowser {
  /** Headless Chromium with WebGPU. */
  browser: Browser | null;
  /** The demo server's URL, ending in '/'. */
  base: string;
}

/**
 * Call at the top of an end-to-end test file: before its tests it starts the demo server and
 * Chromium, filling in the returned object; after them it closes both.
 */
export function useDemoBrowser(): DemoBrowser {
  const e2e: DemoBrowser = { browser: null, base: '' };
  let server: ChildProcess | null = null;
  beforeAll(async () => {
    const demo = startDemoServer();
    server = demo.child;
    e2e.base = await demo.url;
    e2e.browser = await launchChromium();
  }, 120_000);
  afterAll(async () => {
    await e2e.browser?.close();
    server?.kill('SIGTERM');
  });
  return e2e;
}
