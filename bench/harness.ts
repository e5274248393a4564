// Timing helpers: median of N runs after warm-up, each run synchronized on GPU completion.

import * as E from '../src/index.js';

export interface Timing {
  name: string;
  medianMs: number;
  minMs: number;
  runs: number;
  /** Work per run, for throughput columns (e.g. FLOPs). */
  flops?: number;
  /** The same work done by a peer in the same process, for the ratio column. */
  peer?: { name: string; ms: number };
}

/** Time `fn` (which records GPU work); each sample ends when the GPU has finished. */
export async function timeIt(name: string, fn: () => void, opts: { warmup?: number; runs?: number; flops?: number; maxSeconds?: number } = {}): Promise<Timing> {
  const warmup = opts.warmup ?? 2;
  const runs = opts.runs ?? 10;
  const budget = (opts.maxSeconds ?? 60) * 1000;
  for (let i = 0; i < warmup; i++) E.scope(fn);
  await E.sync();
  const samples: number[] = [];
  const start = performance.now();
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    E.scope(fn);
    await E.sync();
    samples.push(performance.now() - t0);
    if (performance.now() - start > budget && samples.length >= 3) break;
  }
  samples.sort((a, b) => a - b);
  return { name, medianMs: samples[Math.floor(samples.length / 2)]!, minMs: samples[0]!, runs: samples.length, flops: opts.flops };
}

export function timingTable(ts: Timing[]): string {
  const header = ['benchmark', 'median ms', 'min ms', 'runs', 'GFLOP/s', 'peer', 'peer ms', 'speed-up vs peer'];
  const rows = ts.map((t) => [
    t.name,
    t.medianMs.toFixed(2),
    t.minMs.toFixed(2),
    String(t.runs),
    t.flops ? (t.flops / (t.medianMs * 1e6)).toFixed(2) : '',
    t.peer?.name ?? '',
    t.peer ? t.peer.ms.toFixed(1) : '',
    t.peer ? `${(t.peer.ms / t.medianMs).toFixed(2)}x` : '',
  ]);
  const w = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (c: string[]) => `| ${c.map((x, i) => (i === 0 ? x.padEnd(w[i]!) : x.padStart(w[i]!))).join(' | ')} |`;
  return [line(header), `|${w.map((x, i) => (i === 0 ? '-'.repeat(x + 2) : '-'.repeat(x + 1) + ':')).join('|')}|`, ...rows.map(line)].join('\n');
}
