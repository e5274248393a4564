// Where a training step's time goes. For one workload (default "ref"):
//  1. the step's phases, median of `--runs` steps: CPU recording, submit (Dawn encodes the command
//     buffer), and the wait until the device reports the work done;
//  2. time per kernel. With 'timestamp-query' (GPUs; lavapipe has it too) one step is recorded with a
//     GpuTimer: every dispatch in its own timestamped pass, so the times are the GPU's own, and the
//     span from first start to last end less their sum is the time between dispatches. Without it,
//     each dispatch is replayed alone (several times, synchronized), which adds the submit latency.
//  3. dispatches per step (the optimizer's kernels counted apart);
//  4. training workloads: the CPU time to record the step captured with E.compile (replayed)
//     relative to eager, in alternating blocks of steps recorded back to back (--ratio-batch 2,
//     --blocks 8).
// Usage: node build/bench/profile.js [workload substring, default "ref"] [--runs 10] [--repeats 3]
//        [--conv-batch 16] [--replay] [--direct | --tiled] [--ratio-batch 2] [--blocks 8]

import * as E from '../src/index.js';
import { createEngramPeer } from './engram-peer.js';
import { allWorkloads, type Workload } from './workloads.js';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
const flag = (name: string) => process.argv.includes(`--${name}`);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

interface KernelRow { ms: number; count: number }

function printKernels(rows: Map<string, KernelRow>, sum: number): void {
  console.log('| kernel | dispatches | ms | share |\n|---|---:|---:|---:|');
  for (const [name, e] of [...rows].sort((a, b) => b[1].ms - a[1].ms)) {
    console.log(`| ${name} | ${e.count} | ${e.ms.toFixed(3)} | ${((100 * e.ms) / sum).toFixed(1)}% |`);
  }
}

function add(rows: Map<string, KernelRow>, name: string, ms: number): void {
  const e = rows.get(name) ?? { ms: 0, count: 0 };
  e.ms += ms;
  e.count++;
  rows.set(name, e);
}

const OPTIMIZER_KERNELS = /^(sgd|adam|rmsprop)/;

type Run = { run(): Promise<{ recordMs: number; submitMs?: number } | void> };

/** Dispatches per step, the optimizer's kernels counted apart. */
async function dispatchCounts(rt: E.Runtime, run: Run): Promise<void> {
  const trace: E.TracedDispatch[] = [];
  rt.trace = trace;
  await run.run();
  rt.trace = null;
  const opt = trace.filter((d) => OPTIMIZER_KERNELS.test(d.kernel.name)).length;
  console.log(`\ndispatches per step: ${trace.length} (${trace.length - opt} forward and backward, ${opt} optimizer)`);
}

/**
 * CPU time to record a step captured with E.compile (a second model, replayed) against the eager step,
 * at batch `batch` (recording cost does not depend on it; a small batch keeps the device's share short):
 * `blocks` alternating blocks of 20 steps recorded back to back, each submitted without waiting for the
 * device (as a training loop without readbacks runs), the device drained between blocks. Quantiles over
 * all steps: the low ones are the least disturbed by other processes on a shared machine.
 */
async function capturedRatio(peer: { prepare(w: Workload): Promise<unknown> }, w: Workload, batch: number, blocks: number): Promise<void> {
  if (w.kind !== 'train') return;
  const run = (await peer.prepare({ ...w, batch })) as { recordOnly?(compiled: boolean): number; dispose(): unknown };
  if (!run.recordOnly) return;
  for (let i = 0; i < 4; i++) (run.recordOnly(false), run.recordOnly(true)); // traces until two calls match
  await E.sync();
  const eager: number[] = [];
  const captured: number[] = [];
  for (let b = 0; b < blocks; b++) {
    for (const [compiled, into] of [[false, eager], [true, captured]] as const) {
      for (let i = 0; i < 20; i++) into.push(run.recordOnly(compiled));
      await E.sync();
    }
  }
  const q = (xs: number[], f: number) => [...xs].sort((a, b) => a - b)[Math.floor(f * (xs.length - 1))]!;
  console.log(`\nE.compile, batch ${batch}: CPU time to record a step, eager vs captured (replayed), ${eager.length} steps each:`);
  for (const f of [0.1, 0.25, 0.5]) {
    console.log(`  quantile ${f}: eager ${q(eager, f).toFixed(3)} ms, captured ${q(captured, f).toFixed(3)} ms, captured / eager ${(q(captured, f) / q(eager, f)).toFixed(3)}`);
  }
  await run.dispose();
}

async function main(): Promise<void> {
  const pick = process.argv[2] && !process.argv[2].startsWith('--') ? process.argv[2] : 'ref';
  const runs = Number(arg('runs') ?? 10);
  const repeats = Number(arg('repeats') ?? 3);
  const w = allWorkloads(Number(arg('conv-batch') ?? 16)).find((x) => x.name.includes(pick));
  if (!w) throw new Error(`no workload matches '${pick}'`);
  const family = flag('direct') ? 'direct' : flag('tiled') ? 'tiled' : undefined;
  // Dawn rounds timestamps to 2^16 ns unless told not to (a browser's defence against timing attacks).
  const peer = await createEngramPeer({ family, init: { dawnFlags: ['disable-dawn-features=timestamp_quantization'] } });
  const rt = E.runtime();
  const run = await peer.prepare(w);
  if ('unsupported' in run) throw new Error(run.unsupported);
  for (let i = 0; i < 3; i++) await run.run(); // warm-up: compile pipelines, settle the buffer pool

  const total: number[] = [];
  const record: number[] = [];
  const submit: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    const r = await run.run();
    total.push(performance.now() - t0);
    if (r) {
      record.push(r.recordMs - (r.submitMs ?? 0));
      submit.push(r.submitMs ?? 0);
    }
  }
  const [tot, rec, sub] = [median(total), median(record), median(submit)];
  console.log(`${w.name} (${rt.info.description}, kernels: ${family ?? rt.kernelFamily}): ${tot.toFixed(2)} ms end to end = ` +
    `${rec.toFixed(2)} ms CPU recording + ${sub.toFixed(2)} ms submit + ${(tot - rec - sub).toFixed(2)} ms until the device reports done (medians of ${runs})`);

  const rows = new Map<string, KernelRow>();
  let sum = 0;
  if (rt.device.features.has('timestamp-query') && !flag('replay')) {
    rt.timer = new E.GpuTimer(rt);
    await run.run();
    const times = await rt.timer.read();
    rt.timer.destroy();
    rt.timer = null;
    for (const t of times) {
      const ms = (t.endNs - t.startNs) / 1e6;
      sum += ms;
      add(rows, t.name, ms);
    }
    const span = (times.at(-1)!.endNs - times[0]!.startNs) / 1e6;
    console.log(`GPU timestamps, one pass per dispatch: ${times.length} dispatches, kernels ${sum.toFixed(3)} ms, first start to last end ${span.toFixed(3)} ms (${(span - sum).toFixed(3)} ms between dispatches)\n`);
  } else {
    // The replay binds the traced buffers again, many submits later, after most of them went back
    // to the pool: keep the pool from destroying free buffers meanwhile.
    rt.setPoolPolicy({ peakFactor: Infinity, maxIdleSubmits: Infinity });
    rt.trace = [];
    await run.run();
    const trace = rt.trace;
    rt.trace = null;
    for (const d of trace) {
      rt.dispatch(d.kernel, d.buffers, d.params, d.workgroups);
      await rt.sync();
      const s0 = performance.now();
      for (let i = 0; i < repeats; i++) rt.dispatch(d.kernel, d.buffers, d.params, d.workgroups);
      await rt.sync();
      const ms = (performance.now() - s0) / repeats;
      sum += ms;
      add(rows, d.kernel.name, ms);
    }
    console.log(`replayed one by one (no timestamp queries): ${trace.length} dispatches, ${sum.toFixed(1)} ms including a submit each\n`);
  }
  printKernels(rows, sum);
  await dispatchCounts(rt, run);
  await capturedRatio(peer, w, Number(arg('ratio-batch') ?? 2), Number(arg('blocks') ?? 8));
  await run.dispose();
}

main().then(() => process.exit(0), (e) => {
  console.error(e);
  process.exit(1);
});
