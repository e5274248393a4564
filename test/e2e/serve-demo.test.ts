// The demo server under aborted downloads (issue 14, item 7): with .pipe() every download the
// client abandoned left its file open, and under a low descriptor limit the server died with an
// unhandled EMFILE. Here the server runs with `ulimit -n 64`, 100 downloads of the 47 MB MNIST
// training images are abandoned after their first bytes, and the server must still answer, with
// its open descriptors back near where they started.
import { describe, it, expect, afterAll } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { request } from 'node:http';
import { fileURLToPath } from 'node:url';
import { dirname, resolve } from 'node:path';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
let server: ChildProcess | null = null;

function start(): Promise<string> {
  return new Promise((ok, fail) => {
    // --no-build: only /data/ is requested here, which needs no built pages.
    const child = spawn('bash', ['-c', 'ulimit -n 64 && exec node scripts/serve-demo.mjs --port 0 --no-build'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    server = child;
    let out = '';
    const onData = (d: Buffer): void => {
      out += String(d);
      const m = /engram demo: (http:\/\/127\.0\.0\.1:\d+)\//.exec(out);
      if (m) ok(m[1]!);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.on('exit', (code) => fail(new Error(`serve-demo exited with ${code}:\n${out}`)));
  });
}

/** GET `url`, and destroy the connection as soon as the first bytes of the body arrive. */
function abortAfterFirstChunk(url: string): Promise<void> {
  return new Promise((done) => {
    const req = request(url, (res) => {
      res.once('data', () => {
        req.destroy();
        done();
      });
      res.once('end', () => done());
    });
    req.on('error', () => done());
    req.end();
  });
}

function status(url: string, method = 'GET'): Promise<number> {
  return new Promise((done, fail) => {
    const req = request(url, { method }, (res) => {
      res.resume();
      res.on('end', () => done(res.statusCode ?? 0));
    });
    req.on('error', fail);
    req.end();
  });
}

const openFds = (pid: number): number => readdirSync(`/proc/${pid}/fd`).length;

afterAll(() => {
  server?.kill('SIGTERM');
});

describe('demo server', () => {
  it('closes the file of every aborted download and keeps serving under a 64-descriptor limit', async () => {
    const base = await start();
    const pid = server!.pid!;
    const big = `${base}/data/train-images-idx3-ubyte`;
    expect(await status(big, 'HEAD')).toBe(200);
    const before = openFds(pid);
    for (let round = 0; round < 10; round++) {
      await Promise.all(Array.from({ length: 10 }, () => abortAfterFirstChunk(big)));
    }
    await new Promise((r) => setTimeout(r, 300)); // let the server see the closed sockets
    expect(server!.exitCode).toBeNull();
    expect(await status(`${base}/data/t10k-labels-idx1-ubyte`)).toBe(200);
    expect(openFds(pid)).toBeLessThanOrEqual(before + 4);
  });
});
