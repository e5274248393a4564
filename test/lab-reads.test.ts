// The shader lab's input-read rules (web/lab-reads.ts), checked against the float64 references
// rather than trusted: for every panel and variant, every input element is perturbed (by +4, by −4,
// and to 0) and the outputs whose reference value changes must be exactly the outputs whose read rule
// names that element (a 'superset' rule, where a random draw the rule does not replay picks what is
// read, must only contain them). Integer index inputs are not perturbed (a changed index is out of
// range or a different op); their reads are checked to be in range. CPU only: no GPU needed.
import { describe, it, expect } from 'vitest';
import { OP_CASES } from '../web/lab-cases-more.js';
import { rng } from '../web/lab-ops.js';
import { readRule } from '../web/lab-reads.js';
import type { Arr } from './reference/arr.js';

describe('shader lab read rules', () => {
  it('every panel has a read rule, and it names exactly the inputs each output depends on', () => {
    const problems: string[] = [];
    let checked = 0;
    for (const c of OP_CASES) {
      for (const variant of c.variants ?? ['']) {
        const what = `${c.id}${variant ? ` [${variant}]` : ''}`;
        const p = { ...c.params };
        const inputs = c.inputs(p, rng(1), variant);
        const xs: Arr[] = inputs.map((i) => i.value);
        const base = c.ref(xs, p, variant);
        const rule = readRule(c.id, { p, variant, inputs: xs, out: base.shape });
        if (!rule) {
          problems.push(`${what}: no read rule`);
          continue;
        }
        // The rule, inverted: input element -> the outputs that read it.
        const readers = inputs.map((i) => Array.from(i.value.data, () => new Set<number>()));
        for (let o = 0; o < base.data.length; o++) {
          for (const r of rule.reads(o)) {
            if (!(r.input >= 0 && r.input < inputs.length && r.index >= 0 && r.index < inputs[r.input]!.value.data.length && Number.isInteger(r.index))) {
              problems.push(`${what}: output ${o} reads input ${r.input}[${r.index}], out of range`);
            } else readers[r.input]![r.index]!.add(o);
          }
        }
        const scale = Math.max(1e-300, ...Array.from(base.data, Math.abs));
        for (let k = 0; k < inputs.length; k++) {
          if (inputs[k]!.int) continue;
          const x = xs[k]!;
          for (let j = 0; j < x.data.length; j++) {
            const v = x.data[j]!;
            const changed = new Set<number>();
            for (const u of v === 0 ? [v + 4, v - 4] : [v + 4, v - 4, 0]) {
              x.data[j] = u;
              const y = c.ref(xs, p, variant);
              for (let o = 0; o < y.data.length; o++) if (!(Math.abs(y.data[o]! - base.data[o]!) <= 1e-12 * scale)) changed.add(o);
            }
            x.data[j] = v;
            const said = readers[k]![j]!;
            const unnamed = [...changed].filter((o) => !said.has(o));
            const unread = rule.exact ? [...said].filter((o) => !changed.has(o)) : [];
            if (unnamed.length || unread.length) {
              problems.push(`${what}: ${inputs[k]!.name}[${j}] changes outputs ${[...changed].slice(0, 8).join(',')}; the rule says ${[...said].slice(0, 8).join(',')}`);
            }
            checked++;
          }
        }
      }
    }
    console.log(`lab read rules: ${checked} input elements perturbed over ${OP_CASES.length} panels`);
    expect(problems.slice(0, 30)).toEqual([]);
  }, 120_000);
});
