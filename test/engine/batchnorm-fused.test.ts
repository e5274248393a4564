// Training-mode batch norm's fused kernels (statistics + normalize, reduce + dx in one workgroup per
// channel; their vec4 form where H * W % 4 == 0) and the unfused pair of kernels per pass, each forced with `batchNormFusion`: both against
// the float64 references on odd shapes (S = 1, N * S not a multiple of the 256 threads of a channel's
// workgroup, 257 channels), with and without affine, running statistics and the fused ReLU, each
// asserting which kernels ran; the two paths against each other and the running statistics against
// the reference; eval mode untouched by fusion; and which path 'auto' picks on this adapter.

import { describe, it, expect } from 'vitest';
import * as E from '../../src/index.js';
import { batchNorm, batchNormFusion, FUSED_MIN_CHANNELS_GPU } from '../../src/engine/ops/batchnorm.js';
import { checkOp, expectClose } from '../helpers/gradcheck.js';
import { useGPU } from '../helpers/gpu.js';
import { traced } from '../helpers/trace.js';
import { arr, type Arr } from '../reference/arr.js';
import { batchNormForward, batchNormGrad, type BNRefOptions } from '../reference/batchnorm.js';

useGPU();

type Mode = 'always' | 'never';

async function withMode<T>(mode: 'auto' | Mode, fn: () => Promise<T>, vec4 = true): Promise<T> {
  const before = { ...batchNormFusion };
  batchNormFusion.mode = mode;
  batchNormFusion.vec4 = vec4;
  try {
    return await fn();
  } finally {
    Object.assign(batchNormFusion, before);
  }
}

const reluArr = (a: Arr): Arr => arr(a.shape, a.data.map((v) => Math.max(v, 0)));
const throughRelu = (g: Arr, pre: Arr): Arr => arr(g.shape, g.data.map((v, i) => (pre.data[i]! > 0 ? v : 0)));

// [N, C] (S = 1), 257 channels, N * S = 407 and 99 (not multiples of 256), S = 15, a 1-D layout;
// then S % 4 == 0 (the fused kernels' vec4 form): S = 24 with 18 vec4s per channel, S = 4 with 257
// channels, S = 64 with 320 vec4s per channel (past one 256-thread sweep, not a multiple of it).
const SHAPES = [[5, 3], [3, 257], [37, 2, 11], [2, 3, 9, 11], [4, 7, 3, 5], [3, 5, 4, 6], [2, 257, 2, 2], [5, 2, 8, 8]];
const CONFIGS = [
  { affine: true, running: true, relu: true },
  { affine: false, running: false, relu: false },
  { affine: true, running: false, relu: false },
  { affine: false, running: true, relu: true },
];
const ALL_BN = /^bn_(stats|normalize|backward_reduce|backward_dx|stats_normalize|backward_fused)(_vec4)?(_relu)?$/;

describe('training batch norm, fused and unfused kernels, against the float64 reference', () => {
  for (const mode of ['always', 'never'] as const) {
    it(`${mode === 'always' ? 'fused' : 'unfused'}: forward and the gradients of x, weight and bias`, async () => {
      await withMode(mode, async () => {
        for (const shape of SHAPES) {
          const C = shape[1]!;
          for (const cfg of CONFIGS) {
            const o: BNRefOptions = { training: true, eps: 1e-3, momentum: 0.2 };
            const name = `batchNorm ${mode} [${shape}] ${JSON.stringify(cfg)}`;
            const names = await traced(() => checkOp({
              name,
              inputs: [{ shape, low: -2, high: 3 }, { shape: [C], grad: false }, { shape: [C], low: 0.5, high: 2, grad: false }, { shape: [C], low: 0.5, high: 1.5, grad: cfg.affine }, { shape: [C], grad: cfg.affine }],
              gpu: (x, rm, rv, w, b) => batchNorm(x, cfg.running ? rm! : null, cfg.running ? rv! : null, cfg.affine ? w! : null, cfg.affine ? b! : null, { ...o, relu: cfg.relu }),
              ref: (x, rm, rv, w, b) => {
                const y = batchNormForward(x, cfg.running ? rm! : null, cfg.running ? rv! : null, cfg.affine ? w! : null, cfg.affine ? b! : null, o);
                return cfg.relu ? reluArr(y) : y;
              },
              refGrad: (g, x, rm, rv, w, b) => {
                const gPre = cfg.relu ? throughRelu(g, batchNormForward(x, null, null, cfg.affine ? w! : null, cfg.affine ? b! : null, o)) : g;
                const [dx, dw, db] = batchNormGrad(gPre, x, null, null, cfg.affine ? w! : null, o);
                return [dx, null, null, cfg.affine ? dw! : null, cfg.affine ? db! : null];
              },
              bwdTol: { atol: 2e-4, rtol: 2e-4 },
            }));
            const bn = names.filter((n) => ALL_BN.test(n));
            const suffix = cfg.relu ? '_relu' : '';
            const v4 = shape.slice(2).reduce((a, b) => a * b, 1) % 4 === 0 ? '_vec4' : '';
            expect(bn, `${name}: kernels`).toEqual(mode === 'always'
              ? [`bn_stats_normalize${v4}${suffix}`, `bn_backward_fused${v4}${suffix}`]
              : ['bn_stats', `bn_normalize${suffix}`, `bn_backward_reduce${suffix}`, `bn_backward_dx${suffix}`]);
          }
        }
      });
    });
  }
});

/** One training forward + backward with every feature on: output, gradients, running stats (arrays). */
async function trainStep(mode: 'auto' | Mode, shape: number[], seed: number, xGrad = true, vec4 = true): Promise<{ kernels: string[]; values: Record<string, ArrayLike<number>> }> {
  return withMode(mode, async () => {
    const gen = new E.Generator(seed);
    const C = shape[1]!;
    const n = shape.reduce((a, b) => a * b, 1);
    const x = E.tensor(gen.normalArray(n, 0.5, 2), shape);
    if (xGrad) x.requiresGrad_();
    const w = E.tensor(gen.normalArray(C, 1, 0.3), [C]).requiresGrad_();
    const b = E.tensor(gen.normalArray(C, 0, 0.3), [C]).requiresGrad_();
    const rm = E.tensor(gen.normalArray(C, 0, 1), [C]);
    const rv = E.tensor(gen.normalArray(C, 2, 0.1), [C]);
    const g = E.tensor(gen.normalArray(n, 0, 1), shape);
    let y!: E.Tensor;
    const kernels = await traced(() => {
      y = batchNorm(x, rm, rv, w, b, { training: true, relu: true, momentum: 0.3 });
      y.backward(g);
    });
    const values: Record<string, ArrayLike<number>> = { y: await y.toArray(), rm: await rm.toArray(), rv: await rv.toArray(), dw: await w.grad!.toArray(), db: await b.grad!.toArray() };
    if (xGrad) values.dx = await x.grad!.toArray();
    for (const t of [x, w, b, rm, rv, g, y]) t.dispose();
    return { kernels: kernels.filter((k) => ALL_BN.test(k)), values };
  }, vec4);
}

describe('fused and unfused training batch norm agree', () => {
  it('outputs, gradients and running stats within float rounding, running stats as the float64 reference', async () => {
    for (const shape of [[6, 5, 7, 3], [300, 2], [2, 3, 19, 17]]) {
      const fusedRun = await trainStep('always', shape, 5);
      const unfusedRun = await trainStep('never', shape, 5);
      expect(fusedRun.kernels).toEqual(['bn_stats_normalize_relu', 'bn_backward_fused_relu']);
      expect(unfusedRun.kernels).toEqual(['bn_stats', 'bn_normalize_relu', 'bn_backward_reduce_relu', 'bn_backward_dx_relu']);
      // The statistics run the same code (channelStats in shaders/batchnorm.ts): the running stats are
      // bit for bit equal; the elementwise passes may round differently (contracted multiply-adds).
      expect(Array.from(fusedRun.values.rm!)).toEqual(Array.from(unfusedRun.values.rm!));
      expect(Array.from(fusedRun.values.rv!)).toEqual(Array.from(unfusedRun.values.rv!));
      for (const k of ['y', 'dx', 'dw', 'db']) {
        expectClose(fusedRun.values[k]!, unfusedRun.values[k]!, { atol: 1e-6, rtol: 1e-5 }, `[${shape}] ${k}: fused vs unfused`);
      }
      // Running stats against the float64 reference: rm' = 0.7 rm + 0.3 mean, rv' = 0.7 rv + 0.3 unbiased var.
      const gen = new E.Generator(5);
      const C = shape[1]!;
      const n = shape.reduce((a, b) => a * b, 1);
      const x = arr(shape, gen.normalArray(n, 0.5, 2));
      gen.normalArray(C, 1, 0.3);
      gen.normalArray(C, 0, 0.3);
      const rm0 = gen.normalArray(C, 0, 1);
      const rv0 = gen.normalArray(C, 2, 0.1);
      const S = n / (shape[0]! * C);
      const rmWant: number[] = [];
      const rvWant: number[] = [];
      for (let c = 0; c < C; c++) {
        const vals: number[] = [];
        for (let i = 0; i < n; i++) if (Math.floor(i / S) % C === c) vals.push(x.data[i]!);
        const mean = vals.reduce((a, v) => a + v, 0) / vals.length;
        const unbiased = vals.reduce((a, v) => a + (v - mean) ** 2, 0) / (vals.length - 1);
        rmWant.push(0.7 * rm0[c]! + 0.3 * mean);
        rvWant.push(0.7 * rv0[c]! + 0.3 * unbiased);
      }
      expectClose(fusedRun.values.rm!, rmWant, { atol: 1e-6, rtol: 1e-5 }, `[${shape}] running mean`);
      expectClose(fusedRun.values.rv!, rvWant, { atol: 1e-6, rtol: 1e-5 }, `[${shape}] running var`);
    }
  });

  it('an input without a gradient: the fused forward, then only the parameter sums in backward', async () => {
    const shape = [4, 3, 5, 5];
    const fusedRun = await trainStep('always', shape, 9, false);
    const unfusedRun = await trainStep('never', shape, 9, false);
    expect(fusedRun.kernels).toEqual(['bn_stats_normalize_relu', 'bn_backward_reduce_relu']);
    expect(unfusedRun.kernels).toEqual(['bn_stats', 'bn_normalize_relu', 'bn_backward_reduce_relu']);
    for (const k of ['y', 'dw', 'db']) expectClose(fusedRun.values[k]!, unfusedRun.values[k]!, { atol: 1e-6, rtol: 1e-5 }, `${k}: fused vs unfused`);
  });

  it('the vec4 form (H * W % 4 == 0) against the scalar fused kernels and the unfused path; off with batchNormFusion.vec4 = false', async () => {
    for (const shape of [[4, 6, 8, 12], [3, 2, 2, 2], [2, 3, 20]]) {
      const vec = await trainStep('always', shape, 7);
      const scalar = await trainStep('always', shape, 7, true, false);
      const unfused = await trainStep('never', shape, 7);
      expect(vec.kernels).toEqual(['bn_stats_normalize_vec4_relu', 'bn_backward_fused_vec4_relu']);
      expect(scalar.kernels).toEqual(['bn_stats_normalize_relu', 'bn_backward_fused_relu']);
      expect(unfused.kernels).toEqual(['bn_stats', 'bn_normalize_relu', 'bn_backward_reduce_relu', 'bn_backward_dx_relu']);
      // The vec4 sums add four lanes per thread first, so nothing here is bit for bit; all within rounding.
      for (const k of ['y', 'dx', 'dw', 'db', 'rm', 'rv']) {
        expectClose(vec.values[k]!, scalar.values[k]!, { atol: 1e-6, rtol: 1e-5 }, `[${shape}] ${k}: vec4 vs scalar fused`);
        expectClose(vec.values[k]!, unfused.values[k]!, { atol: 1e-6, rtol: 1e-5 }, `[${shape}] ${k}: vec4 vs unfused`);
      }
    }
    // Without an input gradient the backward is the reduction alone (no vec4 form).
    const noDx = await trainStep('always', [2, 3, 4, 4], 3, false);
    expect(noDx.kernels).toEqual(['bn_stats_normalize_vec4_relu', 'bn_backward_reduce_relu']);
  });

  it('eval mode never fuses (its statistics are the running stats, not a reduction)', async () => {
    const names = await withMode('always', () => traced(() => {
      E.scope(() => {
        const x = E.randn([4, 3, 2, 2], { requiresGrad: true });
        batchNorm(x, E.zeros([3]), E.ones([3]), E.ones([3]), E.zeros([3]), { training: false, relu: true }).backward(E.ones([4, 3, 2, 2]));
      });
    }));
    expect(names.filter((k) => k.startsWith('bn_'))).toEqual(['bn_eval_stats', 'bn_normalize_relu', 'bn_backward_dx_relu']);
  });

  it("'auto' fuses on CPU-backed adapters, and on GPUs from FUSED_MIN_CHANNELS_GPU channels", async () => {
    const rt = E.runtime();
    for (const C of [3, FUSED_MIN_CHANNELS_GPU]) {
      const run = await trainStep('auto', [2, C, 2], 1);
      const want = rt.cpuBacked || C >= FUSED_MIN_CHANNELS_GPU;
      expect(run.kernels[0], `C = ${C} on ${rt.info.description}`).toBe(want ? 'bn_stats_normalize_relu' : 'bn_stats'); // S = 2: the scalar form
    }
  });
});
