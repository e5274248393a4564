// Open plain HTML pages of a folder in headless Chromium (Debian's, driven by Playwright, WebGPU
// enabled: SwiftShader where there is no GPU), served by a static server on 127.0.0.1. No bundler,
// no import map: what a user's page gets.
import { createServer, type Server } from 'node:http';
import { createReadStream, existsSync, statSync } from 'node:fs';
import { extname, resolve, sep } from 'node:path';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser } from 'playwright';

const CHROMIUM = process.env.ENGRAM_CHROMIUM ?? '/usr/bin/chromium';
const TYPES: Record<string, string> = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.map': 'application/json' };

export interface PageRun {
  /** console.log lines, in order. */
  logs: string[];
  /** Uncaught errors, rejected promises and console.error lines. */
  errors: string[];
}

export class PageRunner {
  private server: Server | null = null;
  private browser: Browser | null = null;
  private base = '';

  constructor(private readonly dir: string) {}

  async start(): Promise<void> {
    const root = resolve(this.dir);
    this.server = createServer((req, res) => {
      const path = decodeURIComponent(new URL(req.url ?? '/', 'http://127.0.0.1').pathname);
      const file = resolve(root, `.${path}`);
      if (!file.startsWith(root + sep) || !existsSync(file) || !statSync(file).isFile()) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' });
      createReadStream(file).pipe(res);
    });
    await new Promise<void>((ok) => this.server!.listen(0, '127.0.0.1', ok));
    this.base = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/`;
    this.browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--enable-unsafe-webgpu', '--no-sandbox', '--headless=new', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
  }

  /**
   * Load `page` (a path under the folder) and collect its console until `done(logs)` holds, an
   * error appears, or `timeoutMs` passes.
   */
  async open(page: string, done: (logs: string[]) => boolean, timeoutMs = 120_000): Promise<PageRun> {
    const p = await this.browser!.newPage();
    const logs: string[] = [];
    const errors: string[] = [];
    p.on('pageerror', (e) => errors.push(e.message));
    p.on('console', (m) => (m.type() === 'error' ? errors : logs).push(m.text()));
    try {
      await p.goto(this.base + page);
      const until = Date.now() + timeoutMs;
      while (!done(logs) && errors.length === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
      if (!done(logs) && errors.length === 0) errors.push(`timed out after ${timeoutMs} ms; console: ${JSON.stringify(logs)}`);
      return { logs, errors };
    } finally {
      await p.close();
    }
  }

  async stop(): Promise<void> {
    await this.browser?.close();
    await new Promise<void>((ok) => (this.server ? this.server.close(() => ok()) : ok()));
  }
}
