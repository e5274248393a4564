// The shader lab's coverage, checked rather than claimed: every compute kernel src/shaders exports
// (web/lab-catalogue.ts reads them from the modules) is named by a lab panel (web/lab-cases*.ts), and
// running that panel's variants here, with the runtime's trace on, really dispatches it (each
// recorded dispatch is mapped back to its export). Every run also checks what the page shows: the
// GPU result within the page's tolerance of the float64 reference, every gradient within GRAD_TOL of
// central differences; and every dispatched kernel has a mapping rule whose expected grid equals the
// recorded one (web/lab-rules.ts). A kernel that needs an adapter feature this adapter lacks
// (subgroups) is reported as unverified, never counted as covered.
import { describe, it, expect } from 'vitest';
import * as E from '../src/index.js';
import { useGPU } from './helpers/gpu.js';
import { readdirSync } from 'node:fs';
import { OP_CASES } from '../web/lab-cases-more.js';
import { shaderKernels, SHADER_MODULES } from '../web/lab-catalogue.js';
import { runCase, FORWARD_TOL, GRAD_TOL, type RunDispatch } from '../web/lab-ops.js';
import { ruleFor, checkRule } from '../web/lab-rules.js';
import { ownersOf, checkOwners } from '../web/lab-owners.js';
import { GRID_PARAMS, SINGLE_WORKGROUP } from '../web/lab-grids.js';
import { familyOf, readerKernelOf } from '../web/lab-step.js';

useGPU();

/** Kernels that only run where the adapter has a feature, with the feature. */
const NEEDS: Record<string, (rt: E.Runtime) => string | null> = {
  conv2dSubgroupWGSL: (rt) => (rt.info.subgroupMinSize > 0 ? null : 'subgroups'),
  conv2dGradWeightSubgroupWGSL: (rt) => (rt.info.subgroupMinSize > 0 ? null : 'subgroups'),
  conv2dGradWeightSubgroupRowsWGSL: (rt) => (rt.info.subgroupMinSize > 0 ? null : 'subgroups'),
};
/** Kernels that need a feature in one panel only (panel id -> kernel -> feature), e.g. the grouped
 * panel reaches the weight re-layout only on the subgroup path, while the conv2d panel always can. */
const PANEL_NEEDS: Record<string, Record<string, (rt: E.Runtime) => string | null>> = {
  convGrouped: { CONV2D_WEIGHT_LAYOUT_WGSL: (rt) => (rt.info.subgroupMinSize > 0 ? null : 'subgroups') },
};

describe('shader lab coverage', () => {
  it('catalogues every file of src/shaders', () => {
    const files = readdirSync(new URL('../src/shaders/', import.meta.url)).filter((f) => f.endsWith('.ts')).map((f) => f.slice(0, -3)).sort();
    expect(Object.keys(SHADER_MODULES).sort()).toEqual(files);
  });

  it('names every kernel of src/shaders in a panel', () => {
    const all = shaderKernels().map((k) => k.name);
    const claimed = new Set(OP_CASES.flatMap((c) => c.kernels));
    expect(all.filter((k) => !claimed.has(k)), 'kernels no lab panel names').toEqual([]);
    expect([...claimed].filter((k) => !all.includes(k)), 'panels naming kernels src/shaders does not export').toEqual([]);
    expect(new Set(OP_CASES.map((c) => c.id)).size).toBe(OP_CASES.length);
  });

  it('runs every panel: its kernels are dispatched, its results match the references, its mapping rules match the dispatches', async () => {
    const rt = E.runtime();
    const dispatchedBy = new Map<string, Set<string>>();
    // Runtime kernel name -> the exports ('file:name') whose WGSL it was seen dispatching.
    const sourcesByName = new Map<string, Set<string>>();
    const problems: string[] = [];
    const unverified: string[] = [];
    for (const c of OP_CASES) {
      const seen = new Set<string>();
      for (const variant of c.variants ?? ['']) {
        const what = `${c.id}${variant ? ` [${variant}]` : ''}`;
        let r;
        try {
          r = await runCase(c, { ...c.params }, 1, variant);
        } catch (e) {
          problems.push(`${what}: ${e instanceof Error ? e.message : String(e)}`);
          continue;
        }
        const tol = c.tolerance ?? FORWARD_TOL;
        if (!(r.forward.maxRel <= tol)) problems.push(`${what}: forward max rel ${r.forward.maxRel} > ${tol}`);
        for (const g of r.grads) if (!(g.diff.maxRel <= GRAD_TOL)) problems.push(`${what}: d/d${g.name} max rel ${g.diff.maxRel} > ${GRAD_TOL}`);
        if (r.inputs.some((i) => i.grad) && r.grads.length === 0) problems.push(`${what}: no gradient checked`);
        for (const d of r.dispatches) {
          if (!d.ref) {
            problems.push(`${what}: dispatch ${d.name} not traced to a src/shaders export`);
            continue;
          }
          if (d.phase !== 'harness') seen.add(d.ref.name);
          if (!sourcesByName.has(d.name)) sourcesByName.set(d.name, new Set());
          sourcesByName.get(d.name)!.add(`${d.ref.family}:${d.ref.name}`);
          if (process.env.LAB_DUMP) console.log(`DUMP ${what} ${d.phase} ${d.ref.name} ${d.name} grid=${d.workgroups.join('x')} wg=${d.workgroupSize.join('x')} p=${Array.from(d.params.slice(0, 24)).join(',')}`);
          const rule = ruleFor(d.ref.name);
          if (!rule) problems.push(`${what}: no mapping rule for ${d.ref.name}`);
          else {
            const bad = checkRule(rule, d as RunDispatch);
            if (bad) problems.push(`${what}: ${d.ref.name} (${d.name}): ${bad}`);
          }
          const owners = ownersOf(d.ref.name, d);
          if (!owners) problems.push(`${what}: no element owners for ${d.ref.name}`);
          else {
            const bad = checkOwners(owners, d);
            if (bad) problems.push(`${what}: ${d.ref.name} (${d.name}) owners: ${bad}`);
          }
        }
      }
      for (const k of seen) if (!c.kernels.includes(k)) problems.push(`${c.id}: dispatches ${k} but does not name it`);
      for (const k of seen) {
        if (!dispatchedBy.has(k)) dispatchedBy.set(k, new Set());
        dispatchedBy.get(k)!.add(c.id);
      }
      for (const k of c.kernels) {
        if (seen.has(k)) continue;
        const missing = (PANEL_NEEDS[c.id]?.[k] ?? NEEDS[k])?.(rt);
        if (missing) unverified.push(`${k} (${c.id}: needs ${missing})`);
        else problems.push(`${c.id}: names ${k} but no variant dispatched it (dispatched: ${[...seen].join(', ')})`);
      }
    }
    // The step page's fallback links (used where identify() does not know a WGSL string) must point
    // where identify() would: a rule that knows a runtime name agrees with its one export. Names that
    // several exports share (the multi-tensor optimizers reuse 'sgd' and 'adam') cannot be told
    // apart by name, and the page links them through identify() only.
    for (const [name, sources] of sourcesByName) {
      if (sources.size !== 1) continue;
      const [family, exported] = [...sources][0]!.split(':') as [string, string];
      const fallbackFamily = familyOf(name);
      if (fallbackFamily && fallbackFamily !== family) problems.push(`familyOf('${name}') is '${fallbackFamily}', its source is in ${family}.ts`);
      const entry = readerKernelOf(name);
      const expected = `${exported}${typeof SHADER_MODULES[family]?.[exported] === 'function' ? '(' : ''}`;
      if (entry && entry !== expected) problems.push(`readerKernelOf('${name}') is '${entry}', its source is ${expected}`);
    }
    const all = shaderKernels();
    const covered = all.filter((k) => dispatchedBy.has(k.name));
    const byFamily = new Map<string, [number, number]>();
    for (const k of all) {
      const f = byFamily.get(k.family) ?? [0, 0];
      byFamily.set(k.family, [f[0] + (dispatchedBy.has(k.name) ? 1 : 0), f[1] + 1]);
    }
    console.log(`lab coverage on ${rt.info.description}: ${covered.length}/${all.length} kernels dispatched by their panels and checked against references` +
      `\n  ${[...byFamily].map(([f, [a, b]]) => `${f} ${a}/${b}`).join(', ')}` +
      (unverified.length ? `\n  not verifiable on this adapter: ${unverified.join('; ')}` : ''));
    expect(problems).toEqual([]);
    expect(covered.length + unverified.length).toBe(all.length);
  }, 600_000);

  it('at shapes with more than one workgroup: forward results match, grids and element owners follow the rules (gradients: checked at the default shapes above)', async () => {
    const problems: string[] = [];
    const most = new Map<string, number>();
    for (const c of OP_CASES) {
      const big = GRID_PARAMS[c.id];
      if (!big) {
        problems.push(`${c.id}: no multi-workgroup shape in GRID_PARAMS`);
        continue;
      }
      for (const variant of c.variants ?? ['']) {
        const what = `${c.id}${variant ? ` [${variant}]` : ''} at ${JSON.stringify(big)}`;
        let r;
        try {
          r = await runCase(c, { ...c.params, ...big }, 2, variant, { gradients: false });
        } catch (e) {
          problems.push(`${what}: ${e instanceof Error ? e.message : String(e)}`);
          continue;
        }
        const tol = c.tolerance ?? FORWARD_TOL;
        if (!(r.forward.maxRel <= tol)) problems.push(`${what}: forward max rel ${r.forward.maxRel} > ${tol}`);
        for (const d of r.dispatches) {
          if (!d.ref || d.phase === 'harness') continue;
          const groups = d.workgroups[0] * d.workgroups[1] * d.workgroups[2];
          most.set(d.ref.name, Math.max(most.get(d.ref.name) ?? 0, groups));
          const rule = ruleFor(d.ref.name);
          const bad = rule ? checkRule(rule, d) : 'no rule';
          if (bad) problems.push(`${what}: ${d.ref.name} (${d.name}): ${bad}`);
          const owners = ownersOf(d.ref.name, d);
          const badOwner = owners ? checkOwners(owners, d) : 'no owners';
          if (badOwner) problems.push(`${what}: ${d.ref.name} (${d.name}) owners: ${badOwner}`);
        }
      }
    }
    const unseen = OP_CASES.flatMap((c) => c.kernels).filter((k, i, a) => a.indexOf(k) === i && !most.has(k) && !NEEDS[k]?.(E.runtime())).sort();
    const single = [...most].filter(([, g]) => g < 2).map(([k]) => k).sort();
    console.log(`lab grids: not dispatched at the larger shapes: ${unseen.join(', ') || 'none'}`);
    console.log(`lab grids: ${[...most].filter(([, g]) => g > 1).length} kernels seen with more than one workgroup; single-workgroup only: ${single.join(', ') || 'none'}`);
    expect(problems).toEqual([]);
    expect(single).toEqual(SINGLE_WORKGROUP);
    expect(unseen).toEqual([]);
  }, 600_000);
});
