// Where a training step's time goes: records one step of a workload with dispatch tracing on,
// then replays each dispatch alone (several times, synchronized) and prints time per kernel name,
// sorted. Also reports the step's CPU recording time vs its end-to-end time.
// Usage: node build/bench/profile.js [workload substring, default "ref"] [--repeats 3] [--conv-batch 16]

import * as E from '../src/index.js';
import { createEngramPeer } from './engram-peer.js';
import { allWorkloads } from './workloads.js';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

async function main(): Promise<void> {
  const pick = process.argv[2] && !process.argv[2].startsWith('--') ? process.argv[2] : 'ref';
  const repeats = Number(arg('repeats') ?? 3);
  const w = allWorkloads(Number(arg('conv-batch') ?? 16)).find((x) => x.name.includes(pick));
  if (!w) throw new Error(`no workload matches '${pick}'`);
  const peer = await createEngramPeer();
  const run = await peer.prepare(w);
  if ('unsupported' in run) throw new Error(run.unsupported);
  await run.run(); // warm-up: compile pipelines, fill the buffer pool
  const t0 = performance.now();
  const r = await run.run();
  const total = performance.now() - t0;

  const rt = E.runtime();
  rt.trace = [];
  await run.run();
  const trace = rt.trace;
  rt.trace = null;

  const byKernel = new Map<string, { ms: number; count: number }>();
  let sum = 0;
  for (const d of trace) {
    rt.dispatch(d.kernel, d.buffers, d.params, d.workgroups);
    await rt.sync();
    const s0 = performance.now();
    for (let i = 0; i < repeats; i++) rt.dispatch(d.kernel, d.buffers, d.params, d.workgroups);
    await rt.sync();
    const ms = (performance.now() - s0) / repeats;
    sum += ms;
    const e = byKernel.get(d.kernel.name) ?? { ms: 0, count: 0 };
    e.ms += ms;
    e.count++;
    byKernel.set(d.kernel.name, e);
  }
  console.log(`${w.name}: ${total.toFixed(1)} ms end to end, ${r ? r.recordMs.toFixed(2) : '?'} ms CPU recording; ${trace.length} dispatches, ${sum.toFixed(1)} ms when replayed one by one\n`);
  console.log('| kernel | dispatches | ms | share |\n|---|---:|---:|---:|');
  for (const [name, e] of [...byKernel].sort((a, b) => b[1].ms - a[1].ms)) {
    console.log(`| ${name} | ${e.count} | ${e.ms.toFixed(1)} | ${((100 * e.ms) / sum).toFixed(1)}% |`);
  }
  await run.dispose();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
