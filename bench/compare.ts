// Side-by-side benchmark: engram against TensorFlow.js (WebGPU backend) and jax-js (WebGPU, jit)
// on the same adapter in this process, and PyTorch on the CPU in a separate process.
//
// Usage (after `npx tsc -p tsconfig.scripts.json`; `npm run bench:compare` does both and installs
// the peers into bench/peers/node_modules on first use):
//   node build/bench/compare.js [--peers engram,engram-f16,tfjs,jax,torch] [--only <substring>[,<substring>]]
//                               [--runs 5] [--warmup 1] [--max-seconds 60] [--conv-batch 16] [--json out.json]
// Every implementation gets `warmup` untimed runs (compiles shaders / traces), then up to `runs`
// timed runs, stopping early once `max-seconds` have passed (at least one timed run). A run ends
// when the device has finished the work. Prints medians and speed-ups (peer ms / engram ms).
// `engram-f16` is engram with setFloat32MatmulPrecision('medium') (float16 GEMM operands).

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir, cpus } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createEngramPeer } from './engram-peer.js';
import type { CreatePeer, Peer, PeerRun } from './peer-types.js';
import { allWorkloads, type Workload } from './workloads.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const peersDir = join(repoRoot, 'bench', 'peers');

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
const peerNames = (arg('peers') ?? 'engram,tfjs,jax,torch').split(',');
const only = arg('only')?.split(',');
const runs = Number(arg('runs') ?? 5);
const warmup = Number(arg('warmup') ?? 1);
const maxSeconds = Number(arg('max-seconds') ?? 60);
const convBatch = Number(arg('conv-batch') ?? 16);
const jsonOut = arg('json');

interface Result { medianMs?: number; minMs?: number; runs?: number; error?: string; recordMs?: number }
type Row = { workload: Workload; results: Map<string, Result> };

async function timeRun(run: PeerRun): Promise<Result> {
  for (let i = 0; i < warmup; i++) await run.run();
  const samples: number[] = [];
  const records: number[] = [];
  const start = performance.now();
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    const r = await run.run();
    samples.push(performance.now() - t0);
    if (r) records.push(r.recordMs);
    if (performance.now() - start > maxSeconds * 1000) break;
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  return { medianMs: median(samples), minMs: Math.min(...samples), runs: samples.length, recordMs: records.length ? median(records) : undefined };
}

async function loadJsPeer(name: string, gpu: GPU): Promise<Peer> {
  if (!existsSync(join(peersDir, 'node_modules'))) {
    throw new Error(`peer libraries are not installed: run \`npm ci --prefix bench/peers\` (or \`npm run bench:compare\`, which does it)`);
  }
  const mod = (await import(pathToFileURL(join(peersDir, `${name}.mjs`)).href)) as { createPeer: CreatePeer };
  return mod.createPeer({ gpu });
}

function runTorch(workloads: Workload[]): { peer: string; results: Map<string, Result> } {
  const dir = mkdtempSync(join(tmpdir(), 'engram-bench-'));
  const file = join(dir, 'workloads.json');
  writeFileSync(file, JSON.stringify(workloads));
  const p = spawnSync('/usr/bin/python3', [join(peersDir, 'torch_cpu.py'), file, '--runs', String(runs), '--warmup', String(warmup), '--max-seconds', String(maxSeconds)],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 24 });
  if (p.status !== 0) throw new Error(`torch_cpu.py exited with ${p.status}: ${p.error?.message ?? ''}`);
  const results = new Map<string, Result>();
  let peer = 'pytorch cpu';
  for (const line of p.stdout.split('\n').filter((l) => l.trim())) {
    const o = JSON.parse(line) as { peer?: string; threads?: number; device?: string; name?: string } & Result;
    if (o.peer) peer = `${o.peer}, ${o.threads} threads (${o.device})`;
    else if (o.name) results.set(o.name, o);
  }
  return { peer, results };
}

const fmt = (r: Result | undefined) => (r?.medianMs !== undefined ? r.medianMs.toFixed(r.medianMs < 10 ? 2 : 1) : r?.error ? 'n/a' : '');

async function main(): Promise<void> {
  let workloads = allWorkloads(convBatch);
  if (only) workloads = workloads.filter((w) => only.some((s) => w.name.includes(s)));
  const rows: Row[] = workloads.map((workload) => ({ workload, results: new Map() }));

  const { create, globals } = (await import('webgpu')) as unknown as { create(o: string[]): GPU; globals: object };
  Object.assign(globalThis, globals);
  const gpu = create([]);
  // The JS peers look for navigator.gpu (jax-js also reads navigator.userAgent).
  Object.defineProperty(globalThis, 'navigator', { value: { gpu, userAgent: `Node.js/${process.version}` }, configurable: true });

  const peers: Peer[] = [];
  const notes: string[] = [];
  for (const name of peerNames) {
    if (name === 'torch') continue;
    try {
      if (name === 'engram') peers.push(await createEngramPeer());
      else if (name === 'engram-f16') peers.push(await createEngramPeer({ label: 'engram f16', f16: true }));
      else peers.push(await loadJsPeer(name, gpu));
    } catch (e) {
      notes.push(`${name}: could not start: ${(e as Error).message}`);
    }
  }
  for (const p of peers) console.error(`${p.name}: ${p.adapter}`);

  for (const row of rows) {
    for (const peer of peers) {
      process.stderr.write(`${row.workload.name} / ${peer.name} ... `);
      let run: PeerRun | { unsupported: string } | undefined;
      try {
        run = await peer.prepare(row.workload);
        if ('unsupported' in run) {
          row.results.set(peer.name, { error: run.unsupported });
          notes.push(`${peer.name} / ${row.workload.name}: ${run.unsupported}`);
        } else {
          row.results.set(peer.name, await timeRun(run));
        }
      } catch (e) {
        row.results.set(peer.name, { error: (e as Error).message });
        notes.push(`${peer.name} / ${row.workload.name}: ${(e as Error).message.split('\n')[0]}`);
      } finally {
        if (run && !('unsupported' in run)) await run.dispose();
      }
      const r = row.results.get(peer.name)!;
      console.error(r.medianMs !== undefined ? `${r.medianMs.toFixed(1)} ms (${r.runs} runs)` : `n/a`);
    }
  }
  for (const p of peers) await p.dispose();

  const columns = peers.map((p) => p.name);
  if (peerNames.includes('torch')) {
    console.error('pytorch (separate process) ...');
    try {
      const torch = runTorch(workloads);
      columns.push(torch.peer);
      for (const row of rows) row.results.set(torch.peer, torch.results.get(row.workload.name) ?? { error: 'missing' });
    } catch (e) {
      notes.push(`torch: ${(e as Error).message}`);
    }
  }

  const engram = columns.find((c) => c === 'engram');
  const others = columns.filter((c) => c !== engram);
  const header = ['workload', 'GFLOP', ...columns.map((c) => `${c} ms`), ...(engram ? ['engram GFLOP/s', 'engram CPU record ms', ...others.map((c) => `vs ${c}`)] : [])];
  const lines = [`| ${header.join(' | ')} |`, `|${header.map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`];
  for (const row of rows) {
    const e = engram ? row.results.get(engram) : undefined;
    const cells = [row.workload.name, (row.workload.flops / 1e9).toFixed(2), ...columns.map((c) => fmt(row.results.get(c)))];
    if (engram) {
      cells.push(e?.medianMs ? (row.workload.flops / (e.medianMs * 1e6)).toFixed(2) : '');
      cells.push(e?.recordMs !== undefined && Number.isFinite(e.recordMs) ? e.recordMs.toFixed(2) : '');
      for (const c of others) {
        const p = row.results.get(c);
        cells.push(e?.medianMs && p?.medianMs ? `${(p.medianMs / e.medianMs).toFixed(2)}x` : '');
      }
    }
    lines.push(`| ${cells.join(' | ')} |`);
  }
  console.log(`date: ${new Date().toISOString().slice(0, 10)}; machine: ${cpus().length} cores (${cpus()[0]?.model ?? '?'})`);
  for (const p of peers) console.log(`- ${p.name}: ${p.adapter}`);
  console.log(`- timing: ${warmup} warm-up run(s), up to ${runs} timed runs or ${maxSeconds} s; median ms. "vs X" = X ms / engram ms (above 1: engram is faster).\n`);
  console.log(lines.join('\n'));
  if (notes.length) console.log(`\nnotes:\n${notes.map((n) => `- ${n}`).join('\n')}`);
  if (jsonOut) writeFileSync(jsonOut, JSON.stringify(rows.map((r) => ({ workload: r.workload, results: Object.fromEntries(r.results) })), null, 2));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
