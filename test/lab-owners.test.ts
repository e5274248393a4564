// The lab's element owners (web/lab-owners.ts), checked on the GPU rather than trusted: every panel
// and variant runs at a shape where its dispatches span several workgroups (web/lab-grids.ts), then
// a few workgroups of each dispatch (the first, the second, the last) are re-run alone with the
// kernel's WGSL rewritten to act as that workgroup (web/lab-probe.ts), on the run's own buffers with
// the outputs filled with a sentinel: the elements that workgroup really wrote must be exactly the
// ones its owner function gives it. Split-K slices (z) write partial sums at z · size + i.
import { describe, it, expect } from 'vitest';
import * as E from '../src/index.js';
import { useGPU } from './helpers/gpu.js';
import { OP_CASES } from '../web/lab-cases-more.js';
import { runCase } from '../web/lab-ops.js';
import { ownersOf } from '../web/lab-owners.js';
import { GRID_PARAMS, SINGLE_WORKGROUP } from '../web/lab-grids.js';
import { probeWorkgroup } from '../web/lab-probe.js';

useGPU();

/**
 * Kernels whose written elements depend on the data, not only on the workgroup: a probe on the
 * run's (since reused) buffers cannot tell what they write, so they are not probed.
 */
const DATA_DEPENDENT: Record<string, string> = {
  sortWGSL: 'writes element i at its rank in its row',
  SORT_BACKWARD_WGSL: 'sends gradient i to the source position the sort recorded',
};

/**
 * Kernels whose owner function describes the elements they read, not where they write: a probe
 * would compare different things. Each is named with what its threads write.
 */
const NOT_ELEMENT_OWNERS: Record<string, string> = {
  STRIDED_SCATTER_WGSL: 'thread i writes source element i to its strided place in the destination view',
};

describe('shader lab element owners on the GPU', () => {
  it('each probed workgroup writes exactly the elements its owner function gives it', async () => {
    const needsSubgroups = (k: string) => k.includes('Subgroup') && !(E.runtime().info.subgroupMinSize > 0);
    const problems: string[] = [];
    const probed = new Set<string>();
    let workgroups = 0;
    const done = new Set<string>();
    const single = new Set(SINGLE_WORKGROUP);
    for (const c of OP_CASES) {
      const t0 = performance.now();
      for (const variant of c.variants ?? ['']) {
        const what = `${c.id}${variant ? ` [${variant}]` : ''}`;
        const r = await runCase(c, { ...c.params, ...GRID_PARAMS[c.id] }, 2, variant, { gradients: false });
        for (const d of r.dispatches) {
          const kernel = d.ref?.name;
          if (!kernel || d.phase === 'harness' || !d.traced || DATA_DEPENDENT[kernel] || NOT_ELEMENT_OWNERS[kernel] || needsSubgroups(kernel)) continue;
          // One dispatch per generated kernel (its export and runtime name: the multi-tensor optimizer
          // kernels share 'sgd' / 'adam' with the per-tensor ones), the first that spans several workgroups.
          const total0 = d.workgroups[0] * d.workgroups[1] * d.workgroups[2];
          const key = `${kernel} ${d.name}`;
          if (done.has(key) || (total0 < 2 && !single.has(kernel))) continue;
          done.add(key);
          const owners = ownersOf(kernel, d);
          if (!owners) {
            problems.push(`${what}: ${kernel}: no owners`);
            continue;
          }
          const [gx, gy, gz] = d.workgroups;
          const total = gx * gy * gz;
          const picks = [...new Set([0, 1, total - 1].filter((j) => j >= 0 && j < total))];
          // Who owns what, once: workgroup key -> its elements.
          const owned = new Map<string, number[]>();
          const split = gz > 1 && owners.size > 0 && owners.of(0).wg[2] === null;
          for (let i = 0; i < owners.size; i++) {
            const o = owners.of(i).wg;
            const key = `${o[0]},${o[1]},${o[2] ?? '*'}`;
            if (!owned.has(key)) owned.set(key, []);
            owned.get(key)!.push(i);
          }
          for (const j of picks) {
            const wg: [number, number, number] = [j % gx, Math.floor(j / gx) % gy, Math.floor(j / (gx * gy))];
            const want = (owned.get(`${wg[0]},${wg[1]},${split ? '*' : wg[2]}`) ?? []).map((i) => owners.word?.(i) ?? i);
            const wrote = await probeWorkgroup(d.traced, wg, d.workgroupSize);
            workgroups++;
            // The buffer it writes that the owners describe: the one whose written words match.
            let match = false;
            const seen: string[] = [];
            for (const [b, words] of wrote) {
              const got = split ? words.filter((q) => Math.floor(q / owners.size) === wg[2]).map((q) => q % owners.size) : words;
              if (got.length === want.length && got.every((q, n) => q === want[n])) match = true;
              seen.push(`binding ${b}: ${got.length} words ${got.slice(0, 6).join(',')}${got.length > 6 ? '…' : ''}`);
            }
            if (!match) problems.push(`${what}: ${kernel} (${d.name}) workgroup (${wg.join(', ')}) of ${d.workgroups.join('x')}: owners give ${want.length} elements ${want.slice(0, 6).join(',')}${want.length > 6 ? '…' : ''}; it wrote ${seen.join('; ')}`);
          }
          probed.add(kernel);
        }
      }
      if (process.env.LAB_TIME) console.log(`probe ${c.id}: ${(performance.now() - t0).toFixed(0)} ms`);
    }
    const all = new Set(OP_CASES.flatMap((c) => c.kernels));
    const unprobed = [...all].filter((k) => !probed.has(k) && !DATA_DEPENDENT[k] && !NOT_ELEMENT_OWNERS[k] && !needsSubgroups(k)).sort();
    console.log(`lab owners on the GPU: ${probed.size} kernels, ${workgroups} workgroups probed; not probed: ${Object.keys(DATA_DEPENDENT).join(', ')} (data-dependent writes), ${Object.keys(NOT_ELEMENT_OWNERS).join(', ')} (owners describe the elements read)`);
    expect(problems).toEqual([]);
    expect(unprobed, 'kernels never probed').toEqual([]);
  }, 600_000);
});
