// End-to-end smoke test of examples/cl-presets.ts on synthetic 1 x 28 x 28 data with tiny models
// (ConvStackCNN width 2, ReducedResNet18 nf 2): every preset runs, (A) reports base and per-new-class
// accuracies as mean ± std over two seeds, (B) uses SCR's pairing, and the reduced settings are named.
import { describe, it, expect } from 'vitest';
import * as E from '../../src/index.js';
import { useGPU } from '../helpers/gpu.js';
import { syntheticImages } from './synthetic.js';
import { runPresets, reductions, SCR_PAIRS } from '../../examples/cl-presets.js';

useGPU();

const classes = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
const o = { side: 28, noise: 30, base: 20, range: 200 };
const base = { train: syntheticImages(classes, 4, 1, o), test: syntheticImages(classes, 2, 2, o) };
const other = { train: syntheticImages(classes, 4, 3, { ...o, protoSeed: 2000 }), test: syntheticImages(classes, 2, 4, { ...o, protoSeed: 2000 }) };
const data = { base, other, baseName: 'synthetic', otherName: 'synthetic-2' };

describe('examples/cl-presets', () => {
  it('(A) faithful and engram presets over two seeds: base accuracy before/after and classes 10 and 11 separately', async () => {
    const s = { protocols: ['appended'] as const, presets: ['faithful', 'engram'] as const, seeds: [0, 1], width: 2, epochs0: 2, epochs1: 1, batchA: 16 };
    expect(reductions(s)).toEqual(['ConvStackCNN width 2 (protocol 64)', '(A) task-0 epochs 2 (protocol 10)', '(A) task-1 epochs 1 (protocol 5)', '(A) batch 16 (protocol 128)']);
    const out = await runPresets(data, s);
    expect(out.map((x) => `${x.preset}/${x.strategy}`)).toEqual(['faithful/naive', 'faithful/replay', 'engram/frozen, no replay', 'engram/frozen + replay 100/class']);
    for (const x of out) {
      expect(x.seeded.seeds).toEqual([0, 1]);
      expect(x.appended!.newClasses.map((c) => c.label)).toEqual([10, 11]);
      for (const st of [x.appended!.baseBefore, x.appended!.baseAfter, ...x.appended!.newClasses.map((c) => c.acc)]) {
        expect(st.n).toBe(2);
        expect(st.mean).toBeGreaterThanOrEqual(0);
        expect(st.mean).toBeLessThanOrEqual(1);
        expect(Number.isFinite(st.std)).toBe(true);
      }
      expect(x.firstTaskEpochSeconds).toHaveLength(2);
    }
  });

  it('(A) trains task 0 once per seed and shares it between the two strategies of a preset: the same numbers as training it again', async () => {
    const s = { protocols: ['appended'] as const, presets: ['faithful', 'engram'] as const, seeds: [0, 1], width: 2, epochs0: 2, epochs1: 1, batchA: 16 };
    const shared = await runPresets(data, s);
    const separate = await runPresets(data, { ...s, shareFirstTask: false });
    for (const [a, b] of shared.map((x, i) => [x, separate[i]!] as const)) {
      expect(a.strategy).toBe(b.strategy);
      expect(a.seeded.perSeed.map((r) => r.accuracyMatrix)).toEqual(b.seeded.perSeed.map((r) => r.accuracyMatrix));
      expect(a.appended!.newClasses).toEqual(b.appended!.newClasses);
    }
    // A loaded task 0 reports the seconds of the run that trained it.
    expect(shared[1]!.firstTaskEpochSeconds).toEqual(shared[0]!.firstTaskEpochSeconds);
    expect(shared[3]!.firstTaskEpochSeconds).toEqual(shared[2]!.firstTaskEpochSeconds);
  });

  it("(B) faithful (SCR pairing, task-balanced end-of-task memory) and engram presets", async () => {
    expect(SCR_PAIRS).toEqual([[0, 5], [1, 6], [2, 7], [3, 8], [4, 9]]);
    const out = await runPresets(data, { protocols: ['split'], presets: ['faithful', 'engram'], seeds: [0], nf: 2, memory: 10 });
    expect(out.map((x) => `${x.preset}/${x.strategy}`)).toEqual(['faithful/er/10', 'faithful/ncm-er/10', 'engram/er/10', 'engram/ncm-er/10']);
    for (const x of out) {
      expect(x.seeded.accuracyMatrix.mean).toHaveLength(5);
      expect(x.seeded.perSeed[0]!.memory!.exemplars).toBe(10);
    }
  });

  it("(B) faithful with --replay-mode concat: one forward pass per step on stream + memory, named as a variant", async () => {
    const s = { protocols: ['split'] as const, presets: ['faithful'] as const, seeds: [0], nf: 2, memory: 10 };
    expect(reductions({ ...s, replayMode: 'concat' })).toEqual(['ReducedResNet18 nf 2 (protocol 20)', 'memory 10 (protocol 1000)', '(B) one forward pass on stream + memory batch (protocol: two)']);
    // Batch norm's statistics kernels count the training forward passes: 'er' runs two per step once the
    // memory holds exemplars (stream, then memory), 'concat' one; evaluation is the same in both.
    const bnPasses = async (replayMode: 'er' | 'concat') => {
      const rt = E.runtime();
      const trace: E.TracedDispatch[] = [];
      rt.trace = trace;
      try {
        await runPresets(data, { ...s, replayMode });
      } finally {
        rt.trace = null;
      }
      return trace.filter((d) => d.kernel.name.startsWith('bn_stats')).length;
    };
    const er = await bnPasses('er');
    const concat = await bnPasses('concat');
    expect(concat).toBeGreaterThan(0);
    expect(concat).toBeLessThan(er);
  });
});
