// Side-by-side benchmark: engram against TensorFlow.js (WebGPU backend) and jax-js (WebGPU, jit)
// on the same adapter in this process, and PyTorch (CPU, or CUDA where it has a GPU) in a separate process.
//
// Usage (after `npx tsc -p tsconfig.scripts.json`; `npm run bench:compare` does both and installs
// the peers into bench/peers/node_modules on first use):
//   node build/bench/compare.js [--peers engram,engram-f16,tfjs,jax,torch] [--only <substring>[,<substring>]]
//                               [--runs 5] [--warmup 1] [--max-seconds 60] [--conv-batch 16] [--json out.json]
//                               [--matmul-sizes 256,512,1024] [--peak-gflops N] [--python /usr/bin/python3]
//                               [--suite models|layers] [--quick] [--cpu-time]
// `--suite layers` (`npm run bench:layers`) runs the layer benchmark of bench/layer-workloads.ts
// instead of the matmul/conv/training-step workloads (default peers engram,tfjs,torch; jax-js has no
// layer rows); `--quick` shrinks its shapes to a smoke test. Under the table it lists how a peer
// implements a row where that needs saying, and the kernels one engram run of each row dispatches.
// `--cpu-time` adds "vs X (CPU)" columns: X's CPU time per run / engram's (medians of the process's
// user + system time, all threads). On a software adapter (lavapipe runs the kernels on this process's
// threads) that ratio moves much less than wall time when other work loads the machine between rows;
// on a real GPU it means nothing (the GPU's time is not CPU time).
// Every implementation gets `warmup` untimed runs (compiles shaders / traces), then up to `runs`
// timed runs, stopping early once `max-seconds` have passed (at least one timed run). A run ends
// when the device has finished the work. Prints medians and speed-ups (peer ms / engram ms).
// Peers: `engram` (the adapter's default kernels), `engram-f16` (setFloat32MatmulPrecision('medium'):
// float16 GEMM operands), `engram-direct` / `engram-tiled` (that kernel family forced, see
// Runtime.kernelFamily), `engram-compiled` (training steps through E.compile: traced once, then
// replayed; other rows unsupported), `tfjs`, `jax`, `torch` (PyTorch on the CPU, all cores) and `torch-cuda`
// (PyTorch on CUDA, float32 with TF32 off). `--peak-gflops` adds engram's share of that peak rate.
// `--python` is the interpreter that has torch.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir, cpus, loadavg } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createEngramPeer } from './engram-peer.js';
import type { CreatePeer, Peer, PeerRun } from './peer-types.js';
import { allWorkloads, type Workload } from './workloads.js';
import { layerWorkloads } from './layer-workloads.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
const suite = arg('suite') ?? 'models';
if (suite !== 'models' && suite !== 'layers') throw new Error(`--suite: expected models or layers, got ${suite}`);
const quick = process.argv.includes('--quick');
const cpuTime = process.argv.includes('--cpu-time');
const peerNames = (arg('peers') ?? (suite === 'layers' ? 'engram,tfjs,torch' : 'engram,tfjs,jax,torch')).split(',');
const only = arg('only')?.split(',');
const runs = Number(arg('runs') ?? 5);
const warmup = Number(arg('warmup') ?? 1);
const maxSeconds = Number(arg('max-seconds') ?? 60);
const convBatch = Number(arg('conv-batch') ?? 16);
const jsonOut = arg('json');
const matmulSizes = (arg('matmul-sizes') ?? '256,512,1024').split(',').map(Number);
const peakGflops = arg('peak-gflops') ? Number(arg('peak-gflops')) : undefined;
const python = arg('python') ?? '/usr/bin/python3';
const peersDir = join(repoRoot, 'bench', 'peers');
if (matmulSizes.some((n) => !Number.isInteger(n) || n <= 0)) throw new Error(`--matmul-sizes: expected positive integers, got ${arg('matmul-sizes')}`);
if (peakGflops !== undefined && !(peakGflops > 0)) throw new Error(`--peak-gflops: expected a positive number (the card's fp32 GFLOP/s), got ${arg('peak-gflops')}`);

interface Result { medianMs?: number; minMs?: number; runs?: number; error?: string; recordMs?: number; note?: string; cpuMs?: number }
type Row = { workload: Workload; results: Map<string, Result> };

async function timeRun(run: PeerRun): Promise<Result> {
  for (let i = 0; i < warmup; i++) await run.run();
  const samples: number[] = [];
  const records: number[] = [];
  const cpu: number[] = [];
  const start = performance.now();
  for (let i = 0; i < runs; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const r = await run.run();
    samples.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
    if (r) records.push(r.recordMs);
    if (performance.now() - start > maxSeconds * 1000) break;
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  return { medianMs: median(samples), minMs: Math.min(...samples), runs: samples.length, recordMs: records.length ? median(records) : undefined, cpuMs: median(cpu) };
}

async function loadJsPeer(name: string, gpu: GPU): Promise<Peer> {
  if (!existsSync(join(peersDir, 'node_modules'))) {
    throw new Error(`peer libraries are not installed in ${peersDir}: run \`npm ci --prefix bench/peers\` (or \`npm run bench:compare\`, which does it)`);
  }
  const mod = (await import(pathToFileURL(join(peersDir, `${name}.mjs`)).href)) as { createPeer: CreatePeer };
  return mod.createPeer({ gpu });
}

function runTorch(workloads: Workload[], device: 'cpu' | 'cuda'): { peer: string; results: Map<string, Result> } {
  const dir = mkdtempSync(join(tmpdir(), 'engram-bench-'));
  const file = join(dir, 'workloads.json');
  writeFileSync(file, JSON.stringify(workloads));
  const script = join(peersDir, 'torch_peer.py');
  const p = spawnSync(python, [script, file, '--device', device, '--runs', String(runs), '--warmup', String(warmup), '--max-seconds', String(maxSeconds)],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 24 });
  if (p.status !== 0) throw new Error(`${python} torch_peer.py --device ${device} exited with ${p.status}: ${p.error?.message ?? ''}`);
  const results = new Map<string, Result>();
  let peer = `pytorch ${device}`;
  for (const line of p.stdout.split('\n').filter((l) => l.trim())) {
    const o = JSON.parse(line) as { peer?: string; threads?: number; device?: string; name?: string } & Result;
    if (o.peer) peer = device === 'cpu' ? `${o.peer}, ${o.threads} threads (${o.device})` : `${o.peer} (${o.device})`;
    else if (o.name) results.set(o.name, o);
  }
  return { peer, results };
}

const fmt = (r: Result | undefined) => (r?.medianMs !== undefined ? r.medianMs.toFixed(r.medianMs < 10 ? 2 : 1) : r?.error ? 'n/a' : '');

async function main(): Promise<void> {
  let workloads: Workload[] = suite === 'layers' ? layerWorkloads(quick) : allWorkloads(convBatch, matmulSizes);
  if (only) workloads = workloads.filter((w) => only.some((s) => w.name.includes(s)));
  const rows: Row[] = workloads.map((workload) => ({ workload, results: new Map() }));

  const { create, globals } = (await import('webgpu')) as unknown as { create(o: string[]): GPU; globals: object };
  Object.assign(globalThis, globals);
  const gpu = create([]);
  // The JS peers look for navigator.gpu (jax-js also reads navigator.userAgent).
  Object.defineProperty(globalThis, 'navigator', { value: { gpu, userAgent: `Node.js/${process.version}` }, configurable: true });

  const peers: Peer[] = [];
  const notes: string[] = [];
  const kernels: string[] = [];
  for (const name of peerNames) {
    if (name.startsWith('torch')) continue;
    try {
      if (name === 'engram') peers.push(await createEngramPeer());
      else if (name === 'engram-f16') peers.push(await createEngramPeer({ label: 'engram f16', f16: true }));
      else if (name === 'engram-direct') peers.push(await createEngramPeer({ label: 'engram direct', family: 'direct' }));
      else if (name === 'engram-tiled') peers.push(await createEngramPeer({ label: 'engram tiled', family: 'tiled' }));
      else if (name === 'engram-compiled') peers.push(await createEngramPeer({ label: 'engram compiled', compiled: true }));
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
          if (run.note) notes.push(`${peer.name} / ${row.workload.name}: ${run.note}`);
          if (run.kernels) kernels.push(`${peer.name} / ${row.workload.name}: ${run.kernels.join(', ')}`);
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
  for (const [name, device] of [['torch', 'cpu'], ['torch-cuda', 'cuda']] as const) {
    if (!peerNames.includes(name)) continue;
    console.error(`pytorch ${device} (separate process) ...`);
    try {
      const torch = runTorch(workloads, device);
      columns.push(torch.peer);
      for (const row of rows) {
        const r = torch.results.get(row.workload.name) ?? { error: 'missing' };
        row.results.set(torch.peer, r);
        if (r.note) notes.push(`${torch.peer} / ${row.workload.name}: ${r.note}`);
        else if (r.error) notes.push(`${torch.peer} / ${row.workload.name}: ${r.error}`);
      }
    } catch (e) {
      notes.push(`${name}: ${(e as Error).message}`);
    }
  }

  const engram = columns.find((c) => c === 'engram');
  const others = columns.filter((c) => c !== engram);
  const counted = workloads.some((w) => w.flops > 0); // layer rows count no FLOPs: no GFLOP columns
  const peakCol = peakGflops && counted ? [`engram % of ${peakGflops} GFLOP/s`] : [];
  const flopCols = counted ? ['engram GFLOP/s', ...peakCol] : [];
  const cpuCols = engram && cpuTime ? others.map((c) => `vs ${c} (CPU)`) : [];
  const header = ['workload', ...(counted ? ['GFLOP'] : []), ...columns.map((c) => `${c} ms`), ...(engram ? [...flopCols, 'engram CPU record ms', ...others.map((c) => `vs ${c}`), ...cpuCols] : [])];
  const lines = [`| ${header.join(' | ')} |`, `|${header.map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`];
  for (const row of rows) {
    const e = engram ? row.results.get(engram) : undefined;
    const cells = [row.workload.name, ...(counted ? [(row.workload.flops / 1e9).toFixed(2)] : []), ...columns.map((c) => fmt(row.results.get(c)))];
    if (engram) {
      const gflops = e?.medianMs ? row.workload.flops / (e.medianMs * 1e6) : undefined;
      if (counted) cells.push(gflops !== undefined ? gflops.toFixed(2) : '');
      if (peakCol.length) cells.push(gflops !== undefined ? `${((100 * gflops) / peakGflops!).toFixed(2)}%` : '');
      cells.push(e?.recordMs !== undefined && Number.isFinite(e.recordMs) ? e.recordMs.toFixed(2) : '');
      for (const c of others) {
        const p = row.results.get(c);
        cells.push(e?.medianMs && p?.medianMs ? `${(p.medianMs / e.medianMs).toFixed(2)}x` : p?.error ? 'n/a' : '');
      }
      if (cpuCols.length) {
        for (const c of others) {
          const p = row.results.get(c);
          cells.push(e?.cpuMs && p?.cpuMs ? `${(p.cpuMs / e.cpuMs).toFixed(2)}x` : p?.error ? 'n/a' : '');
        }
      }
    }
    lines.push(`| ${cells.join(' | ')} |`);
  }
  console.log(`date: ${new Date().toISOString().slice(0, 10)}; machine: ${cpus().length} cores (${cpus()[0]?.model ?? '?'}); load average at the end ${loadavg().map((l) => l.toFixed(2)).join(', ')} (1, 5, 15 min)`);
  for (const p of peers) console.log(`- ${p.name}: ${p.adapter}`);
  console.log(`- timing: ${warmup} warm-up run(s), up to ${runs} timed runs or ${maxSeconds} s; median ms. "vs X" = X ms / engram ms (above 1: engram is faster).\n`);
  console.log(lines.join('\n'));
  if (notes.length) console.log(`\nnotes:\n${notes.map((n) => `- ${n}`).join('\n')}`);
  if (kernels.length) console.log(`\nkernels dispatched by one run:\n${kernels.map((n) => `- ${n}`).join('\n')}`);
  if (jsonOut) writeFileSync(jsonOut, JSON.stringify(rows.map((r) => ({ workload: r.workload, results: Object.fromEntries(r.results) })), null, 2));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
