// The shader lab's backward read rules (web/lab-backreads.ts), checked by brute force on the float64
// reference rather than trusted: for every differentiable panel and variant, and each differentiable
// input k, the gradient dk of sum(G · y) is computed by central differences on the reference; then
// every element of every input and of G is perturbed (by +4, by −4 and to 0) and the gradient
// elements that change are collected. An exact rule must name exactly the elements each gradient
// element depends on (a 'loose' input of it, or a derived rule, at least them). Integer index inputs
// are not perturbed. CPU only: no GPU needed.
import { describe, it, expect } from 'vitest';
import { OP_CASES } from '../web/lab-cases-more.js';
import { rng, randomArr, centralDifference, type OpCase } from '../web/lab-ops.js';
import { gradReadRule, hasExactGradRule } from '../web/lab-backreads.js';
import type { Arr } from './reference/arr.js';

/** Smaller shapes where the defaults make the brute force slow (its cost grows as the square of the sizes). */
const SMALL: Record<string, Record<string, number>> = {
  conv2d: { CO: 3 },
  convGrouped: { H: 4, W: 4 },
  batchNorm: { N: 2 },
  layerNorm: { N: 2, C: 2 },
};
/** Variants left out, each for a reason. */
const SKIPPED: Record<string, string> = {
  'layerNorm, rows of 130': 'the layerNorm rule at 130-wide rows (it picks another kernel); the brute force there takes a minute',
  // The grouped panel's direct variants pick other kernels for the same reference and the same rule
  // (its groups come from the shapes) as 'grouped', which is checked; at their 16 channels the brute
  // force takes minutes.
  'grouped, direct, W % 4 == 0': 'the grouped reference and rule, checked by the grouped variant',
  'grouped, direct, odd W': 'the grouped reference and rule, checked by the grouped variant',
};
/** Variants that run the same reference (they only pick another kernel): the first is checked. */
const SAME_REFERENCE = new Set(['conv2d']);

/** Gradient elements of dk that change when element `j` of input `which` (or of G: which = inputs.length) is perturbed. */
function dependents(c: OpCase, xs: Arr[], g: Arr, k: number, which: number, j: number, p: Record<string, number>, v: string, base: Float64Array, scale: number): Set<number> {
  const t = which === xs.length ? g : xs[which]!;
  const orig = t.data[j]!;
  const changed = new Set<number>();
  for (const u of orig === 0 ? [4, -4] : [orig + 4, orig - 4, 0]) {
    t.data[j] = u;
    // A value outside the op's domain (a division by 0) makes the loss infinite: no derivative to watch.
    if (!c.ref(xs, p, v).data.every(Number.isFinite)) continue;
    const d = centralDifference(c, xs, k, g, p, v);
    for (let q = 0; q < d.length; q++) if (!(Math.abs(d[q]! - base[q]!) <= 1e-6 * scale)) changed.add(q);
  }
  t.data[j] = orig;
  return changed;
}

describe('shader lab backward read rules', () => {
  it('every gradient element reads exactly what it depends on in G and the saved inputs (brute force on the float64 reference)', () => {
    const problems: string[] = [];
    let checked = 0;
    let exactPanels = 0;
    for (const c of OP_CASES) {
      const variants = SAME_REFERENCE.has(c.id) ? [c.variants![0]!] : c.variants ?? [''];
      for (const variant of variants) {
        if (SKIPPED[variant]) continue;
        const t0 = performance.now();
        const p = { ...c.params, ...SMALL[c.id] };
        const r = rng(3);
        const inputs = c.inputs(p, r, variant);
        if (!inputs.some((i) => i.grad)) continue;
        const xs = inputs.map((i) => i.value);
        const y = c.ref(xs, p, variant);
        const g = randomArr(y.shape, r);
        const names = [...inputs.map((i) => i.name), 'G'];
        for (let k = 0; k < inputs.length; k++) {
          if (!inputs[k]!.grad) continue;
          const what = `${c.id}${variant ? ` [${variant}]` : ''} d${inputs[k]!.name}`;
          const rule = gradReadRule(c.id, { p, variant, inputs: xs, out: y.shape }, k);
          if (!rule) {
            problems.push(`${what}: no backward read rule`);
            continue;
          }
          const n = xs[k]!.data.length;
          const said = Array.from({ length: n }, (_, j) => new Set(rule.reads(j).map((q) => `${q.input}:${q.index}`)));
          for (const s of said) for (const key of s) {
            const [i, idx] = key.split(':').map(Number) as [number, number];
            const size = i === xs.length ? g.data.length : xs[i]?.data.length ?? -1;
            if (!(Number.isInteger(idx) && idx >= 0 && idx < size)) problems.push(`${what}: reads ${key}, out of range`);
          }
          const base = centralDifference(c, xs, k, g, p, variant);
          const scale = Math.max(1, ...Array.from(base, Math.abs));
          for (let which = 0; which <= xs.length; which++) {
            if (which < xs.length && inputs[which]!.int) continue;
            const size = which === xs.length ? g.data.length : xs[which]!.data.length;
            const loose = !rule.exact || (rule.loose ?? []).includes(which);
            for (let e = 0; e < size; e++) {
              const changed = dependents(c, xs, g, k, which, e, p, variant, base, scale);
              const key = `${which}:${e}`;
              for (let j = 0; j < n; j++) {
                const named = said[j]!.has(key);
                if (changed.has(j) && !named) problems.push(`${what}[${j}] depends on ${names[which]}[${e}], which the rule does not name`);
                if (!loose && named && !changed.has(j)) problems.push(`${what}[${j}]: the rule names ${names[which]}[${e}], which it does not depend on`);
              }
              checked++;
            }
          }
          if (rule.exact) exactPanels++;
        }
        if (process.env.LAB_TIME) console.log(`${c.id} [${variant}]: ${(performance.now() - t0).toFixed(0)} ms`);
      }
    }
    console.log(`lab backward read rules: ${checked} perturbed elements, ${exactPanels} exact gradient rules`);
    expect(problems.slice(0, 30)).toEqual([]);
    // The kernels the lab singles out have exact rules, not derived supersets.
    for (const id of ['matmul', 'linear', 'conv2d', 'convGrouped', 'conv1d', 'maxPool2d', 'avgPool2d', 'adaptiveAvgPool2d', 'batchNorm', 'unary', 'softmax', 'logSoftmax', 'where']) expect(hasExactGradRule(id), id).toBe(true);
  }, 300_000);
});
