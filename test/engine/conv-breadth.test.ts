// Convolution breadth: conv2d with groups (grouped and depthwise kernels), convTranspose2d and conv1d,
// forward and backward, against the float64 reference (with a finite-difference check of the
// reference's gradients), in both conv kernel families where they differ, and against PyTorch:
// test/fixtures/breadth/conv_fixtures.json, written by make_conv_fixtures.py beside it.
import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as E from '../../src/index.js';
import { conv2d, conv2dDirect, convTranspose2d, conv1d, convKernels, type Conv2dOptions, type ConvTranspose2dOptions, type Conv1dOptions } from '../../src/engine/ops/conv.js';
import { checkOp } from '../helpers/gradcheck.js';
import { useGPU } from '../helpers/gpu.js';
import { conv2dRef, convTranspose2dRef } from '../reference/conv.js';
import { arr, type Arr } from '../reference/arr.js';

useGPU();

const FAMILIES = [
  { name: 'direct', direct: true },
  { name: 'implicit-GEMM', direct: false },
] as const;

async function inFamily(direct: boolean, fn: () => Promise<void>): Promise<void> {
  convKernels.direct = direct;
  try {
    await fn();
  } finally {
    convKernels.direct = null;
  }
}

interface Case<O> { x: number[]; w: number[]; bias: boolean; o: O }

const GROUPED: Case<Conv2dOptions>[] = [
  { x: [2, 4, 5, 7], w: [4, 1, 3, 3], bias: true, o: { padding: 1, groups: 4 } }, // depthwise
  { x: [1, 3, 7, 6], w: [6, 1, 3, 3], bias: true, o: { stride: 2, padding: 1, groups: 3 } }, // depthwise, multiplier 2
  { x: [1, 2, 6, 9], w: [2, 1, 3, 2], bias: false, o: { padding: [2, 1], dilation: [2, 1], groups: 2 } },
  { x: [3, 5, 4, 5], w: [5, 1, 5, 5], bias: true, o: { padding: 2, groups: 5 } },
  { x: [3, 2, 7, 4], w: [4, 1, 3, 3], bias: false, o: { padding: 1, groups: 2 } }, // grad-weight rows in 5 slices, the last of 1 row
  { x: [2, 4, 5, 5], w: [6, 2, 3, 3], bias: true, o: { padding: 1, groups: 2 } }, // grouped
  { x: [1, 6, 7, 5], w: [3, 2, 3, 3], bias: false, o: { stride: 2, groups: 3 } },
  { x: [1, 6, 5, 6], w: [9, 2, 1, 3], bias: true, o: { stride: [1, 2], padding: [0, 1], dilation: [1, 2], groups: 3 } },
  { x: [1, 3, 6, 7], w: [6, 1, 3, 3], bias: false, o: { padding: 1, groups: 3 } }, // depthwise, multiplier 2, stride 1
  { x: [2, 2, 7, 9], w: [2, 1, 3, 3], bias: true, o: { padding: [2, 3], dilation: 2, groups: 2 } }, // depthwise, dilated
];

describe('conv2d with groups (grouped and depthwise kernels) vs float64', () => {
  it(`${GROUPED.length} configurations, forward and backward`, async () => {
    const rt = E.runtime();
    rt.trace = [];
    try {
      for (const c of GROUPED) {
        const r = conv2dRef(c.o);
        await checkOp({
          name: `conv2d groups x [${c.x}] w [${c.w}] ${JSON.stringify(c.o)}`,
          inputs: [{ shape: c.x }, { shape: c.w }, ...(c.bias ? [{ shape: [c.w[0]!] }] : [])],
          gpu: (x, w, b) => conv2d(x!, w!, b, c.o),
          ref: (x, w, b) => r.forward(x!, w!, b),
          refGrad: (g, x, w, b) => r.grad(g, x!, w!, b),
          fdSamples: 16,
        });
      }
      const names = new Set(rt.trace.map((d) => d.kernel.name));
      for (const n of ['forward', 'gradInput', 'gradWeight']) {
        expect([...names].some((k) => k.startsWith(`conv2d_depthwise_${n}`)), [...names].join(',')).toBe(true);
        expect(names.has(`conv2d_grouped_${n}`), [...names].join(',')).toBe(true);
        // The direct family (CPU-backed adapters) runs depthwise on the row-blocked kernels (grad-input
        // at stride 1; the stride-2 case above keeps the one-thread-per-element kernel).
        if (rt.kernelFamily === 'direct') expect([...names].some((k) => k.startsWith(`conv2d_depthwise_${n}_row`)), [...names].join(',')).toBe(true);
      }
      if (rt.kernelFamily === 'direct') expect(names.has('conv2d_depthwise_gradInput')).toBe(true);
      // The dense kernels never ran for a grouped convolution (grad-bias is shared).
      expect([...names].filter((n) => n.startsWith('conv2d_') && !/depthwise|grouped|grad_bias/.test(n))).toEqual([]);
    } finally {
      rt.trace = null;
    }
  });

  // Groups whose per-group output channels are a multiple of 4 run, on CPU-backed adapters with
  // subgroups, the grouped variants of the dense direct kernels (conv2d_grouped_<pass>_subgroup_*):
  // forward, stride-1 grad-input, and 3x3 same-width grad-weight; the rest fall back to conv-grouped.
  const GROUPED_DIRECT: Case<Conv2dOptions>[] = [
    { x: [2, 8, 5, 8], w: [8, 4, 3, 3], bias: true, o: { padding: 1, groups: 2 } },
    { x: [1, 12, 6, 4], w: [24, 4, 3, 3], bias: false, o: { padding: 1, groups: 3 } },
    { x: [3, 8, 12, 4], w: [16, 2, 3, 3], bias: true, o: { padding: 1, groups: 4 } }, // grad-weight rows in slices
    { x: [1, 8, 7, 9], w: [16, 2, 3, 3], bias: true, o: { stride: 2, padding: 1, groups: 4 } }, // stride 2: grad-input falls back
    { x: [1, 4, 7, 6], w: [8, 2, 5, 3], bias: false, o: { padding: [3, 2], dilation: [1, 2], groups: 2 } }, // grad-weight falls back
  ];
  it(`${GROUPED_DIRECT.length} configurations on the grouped variants of the dense direct kernels, forward and backward`, async () => {
    const rt = E.runtime();
    rt.trace = [];
    try {
      await inFamily(true, async () => {
        for (const c of GROUPED_DIRECT) {
          const r = conv2dRef(c.o);
          await checkOp({
            name: `conv2d grouped direct x [${c.x}] w [${c.w}] ${JSON.stringify(c.o)}`,
            inputs: [{ shape: c.x }, { shape: c.w }, ...(c.bias ? [{ shape: [c.w[0]!] }] : [])],
            gpu: (x, w, b) => conv2d(x!, w!, b, c.o),
            ref: (x, w, b) => r.forward(x!, w!, b),
            refGrad: (g, x, w, b) => r.grad(g, x!, w!, b),
            fdSamples: 8,
          });
        }
        // The fused ReLU epilogue on the grouped direct forward.
        const g = new E.Generator(5);
        const [x, w, b] = [E.randn([2, 8, 5, 8], { generator: g }), E.randn([8, 4, 3, 3], { generator: g }), E.randn([8], { generator: g })];
        const o = { padding: 1, groups: 2 };
        const ref = conv2dRef(o).forward(arr(x.shape, await x.toArray()), arr(w.shape, await w.toArray()), arr(b.shape, await b.toArray()));
        const fused = await conv2d(x, w, b, { ...o, relu: true }).toArray();
        fused.forEach((v, i) => expect(Math.abs(v - Math.max(ref.data[i]!, 0))).toBeLessThan(1e-5));
      });
      const names = [...new Set(rt.trace.map((d) => d.kernel.name))];
      if (rt.info.subgroupMinSize >= 4) {
        for (const n of ['forward', 'gradInput', 'gradWeight']) {
          expect(names.some((k) => k.startsWith(`conv2d_grouped_${n}_subgroup_`)), names.join(',')).toBe(true);
        }
        expect(names, 'stride 2 grad-input falls back to the conv-grouped kernel').toContain('conv2d_grouped_gradInput');
      }
      // No dense conv kernel ran (grad-bias and the weight re-layout, which knows groups, are shared).
      expect(names.filter((n) => n.startsWith('conv2d_') && !/depthwise|grouped|grad_bias|weight_layout/.test(n))).toEqual([]);
    } finally {
      rt.trace = null;
    }
  }, 400_000);

  it('fused ReLU and conv2dDirect honour groups; groups = 1 is the dense path', async () => {
    const g = new E.Generator(3);
    const x = E.randn([2, 4, 5, 5], { generator: g });
    const w = E.randn([8, 1, 3, 3], { generator: g });
    const b = E.randn([8], { generator: g });
    const o = { padding: 1, groups: 4 };
    const ref = conv2dRef(o).forward(arr(x.shape, await x.toArray()), arr(w.shape, await w.toArray()), arr(b.shape, await b.toArray()));
    const fused = await conv2d(x, w, b, { ...o, relu: true }).toArray();
    fused.forEach((v, i) => expect(Math.abs(v - Math.max(ref.data[i]!, 0))).toBeLessThan(1e-5));
    const direct = await conv2dDirect(x, w, b, o).toArray();
    direct.forEach((v, i) => expect(Math.abs(v - ref.data[i]!)).toBeLessThan(1e-5));
    const w1 = E.randn([3, 4, 3, 3], { generator: g });
    const y1 = await conv2d(x, w1, null, { padding: 1, groups: 1 }).toArray();
    const y0 = await conv2d(x, w1, null, { padding: 1 }).toArray();
    expect(Array.from(y1)).toEqual(Array.from(y0));
  });

  it('rejects groups that do not divide the channels, or a weight of the wrong group width', () => {
    const x = E.zeros([1, 4, 5, 5]);
    expect(() => conv2d(x, E.zeros([6, 1, 3, 3]), null, { groups: 3 })).toThrow(/groups 3 must divide/);
    expect(() => conv2d(x, E.zeros([4, 2, 3, 3]), null, { groups: 4 })).toThrow(/must have 1 per group/);
    expect(() => conv2d(x, E.zeros([4, 1, 3, 3]), null, { groups: 0 })).toThrow(/groups must be an integer >= 1/);
  });
});

const TRANSPOSED: Case<ConvTranspose2dOptions>[] = [
  { x: [2, 3, 4, 5], w: [3, 4, 3, 3], bias: true, o: { stride: 2, padding: 1, outputPadding: 1 } },
  { x: [1, 4, 3, 3], w: [4, 8, 1, 1], bias: true, o: {} },
  { x: [1, 8, 3, 4], w: [8, 4, 3, 3], bias: false, o: { padding: 1 } }, // stride 1, Cout 4: direct grad-input kernel
  { x: [1, 2, 5, 4], w: [2, 3, 3, 2], bias: false, o: { padding: 1, dilation: 2 } },
  { x: [2, 3, 3, 4], w: [3, 2, 3, 5], bias: true, o: { stride: [2, 3], padding: [1, 2], outputPadding: [1, 2] } },
  { x: [1, 4, 3, 4], w: [4, 3, 3, 3], bias: true, o: { stride: 2, padding: [1, 0], outputPadding: [1, 0], groups: 2 } },
  { x: [2, 3, 4, 4], w: [3, 1, 3, 3], bias: true, o: { stride: 2, padding: 1, groups: 3 } }, // depthwise
];

for (const fam of FAMILIES) {
  describe(`convTranspose2d vs float64 (${fam.name} kernels)`, () => {
    it(`${TRANSPOSED.length} configurations, forward and backward`, async () => {
      await inFamily(fam.direct, async () => {
        for (const c of TRANSPOSED) {
          const r = convTranspose2dRef(c.o);
          const cout = c.w[1]! * (c.o.groups ?? 1);
          await checkOp({
            name: `convTranspose2d x [${c.x}] w [${c.w}] ${JSON.stringify(c.o)}`,
            inputs: [{ shape: c.x }, { shape: c.w }, ...(c.bias ? [{ shape: [cout] }] : [])],
            gpu: (x, w, b) => convTranspose2d(x!, w!, b, c.o),
            ref: (x, w, b) => r.forward(x!, w!, b),
            refGrad: (g, x, w, b) => r.grad(g, x!, w!, b),
            fdSamples: 16,
          });
        }
      });
    });
  });
}

describe('convTranspose2d edge semantics', () => {
  it('output shape and argument checks as PyTorch', () => {
    const y = convTranspose2d(E.zeros([1, 2, 3, 3]), E.zeros([2, 5, 3, 3]), null, { stride: 2, padding: 1, outputPadding: 1 });
    expect(y.shape).toEqual([1, 5, 6, 6]);
    expect(() => convTranspose2d(E.zeros([1, 2, 3, 3]), E.zeros([2, 5, 3, 3]), null, { stride: 2, outputPadding: 2 })).toThrow(/outputPadding/);
    expect(() => convTranspose2d(E.zeros([1, 3, 3, 3]), E.zeros([2, 5, 3, 3]))).toThrow(/expects 2/);
    expect(() => convTranspose2d(E.zeros([1, 2, 3, 3]), E.zeros([2, 5, 3, 3]), E.zeros([4]))).toThrow(/bias/);
  });
});

/** conv1d as conv2d over height 1, for the reference. */
const as4 = (a: Arr): Arr => arr([a.shape[0]!, a.shape[1]!, 1, a.shape[2]!], a.data);
const as3 = (a: Arr): Arr => arr([a.shape[0]!, a.shape[1]!, a.shape[3]!], a.data);

const CONV1D: Case<Conv1dOptions>[] = [
  { x: [2, 3, 11], w: [5, 3, 5], bias: true, o: { padding: 2 } },
  { x: [1, 4, 13], w: [8, 4, 3], bias: false, o: { stride: 2, padding: 1, dilation: 2 } },
  { x: [2, 4, 9], w: [4, 1, 3], bias: true, o: { padding: 1, groups: 4 } },
  { x: [1, 4, 8], w: [6, 2, 3], bias: true, o: { stride: 2, groups: 2 } },
];

for (const fam of FAMILIES) {
  describe(`conv1d vs float64 (${fam.name} kernels)`, () => {
    it(`${CONV1D.length} configurations, forward and backward`, async () => {
      await inFamily(fam.direct, async () => {
        for (const c of CONV1D) {
          const r = conv2dRef({ stride: [1, c.o.stride ?? 1], padding: [0, c.o.padding ?? 0], dilation: [1, c.o.dilation ?? 1] });
          await checkOp({
            name: `conv1d x [${c.x}] w [${c.w}] ${JSON.stringify(c.o)}`,
            inputs: [{ shape: c.x }, { shape: c.w }, ...(c.bias ? [{ shape: [c.w[0]!] }] : [])],
            gpu: (x, w, b) => conv1d(x!, w!, b, c.o),
            ref: (x, w, b) => as3(r.forward(as4(x!), as4(w!), b)),
            refGrad: (g, x, w, b) => {
              const [dx, dw, db] = r.grad(as4(g), as4(x!), as4(w!), b);
              return [as3(dx!), as3(dw!), ...(db ? [db] : [])];
            },
            fdSamples: 16,
          });
        }
      });
    });
  });
}

// ---------------------------------------------------------------- PyTorch fixtures

type Num = number | string;
interface Encoded { shape: number[]; data: Num[]; f64?: number }
interface FixtureCase {
  name: string;
  op: 'conv2d' | 'convTranspose2d' | 'conv1d';
  args: Conv2dOptions & ConvTranspose2dOptions & Conv1dOptions;
  x: Encoded; weight: Encoded; bias?: Encoded; upstream: Encoded;
  out: Encoded; gx: Encoded; gweight: Encoded; gbias?: Encoded;
}
const fixtures = JSON.parse(readFileSync(fileURLToPath(new URL('../fixtures/breadth/conv_fixtures.json', import.meta.url)), 'utf8')) as { torch: string; cases: FixtureCase[] };
const t = (e: Encoded, grad = false): E.Tensor => E.tensor(Float32Array.from(e.data.map(Number)), e.shape, { requiresGrad: grad });

/** Within 1e-5 relative to the tensor's largest magnitude (plus PyTorch's own float32 error). */
function expectMatches(actual: ArrayLike<number>, expected: Encoded, label: string): number {
  const e = expected.data.map(Number);
  expect(actual.length, `${label}: length`).toBe(e.length);
  const scale = Math.max(1, ...e.map(Math.abs));
  let worst = 0;
  e.forEach((v, i) => {
    const err = Math.abs(actual[i]! - v);
    worst = Math.max(worst, err);
    expect(err, `${label}: element ${i} is ${actual[i]}, PyTorch ${v}`).toBeLessThanOrEqual(1e-5 * scale + 2 * (expected.f64 ?? 0));
  });
  return worst;
}

for (const fam of FAMILIES) {
  describe(`PyTorch ${fixtures.torch} fixtures (${fam.name} kernels)`, () => {
    it(`${fixtures.cases.length} cases: output and gradients of x, weight and bias`, async () => {
      await inFamily(fam.direct, async () => {
        for (const c of fixtures.cases) {
          const x = t(c.x, true);
          const w = t(c.weight, true);
          const b = c.bias ? t(c.bias, true) : null;
          const op = c.op === 'conv2d' ? conv2d : c.op === 'conv1d' ? conv1d : convTranspose2d;
          const y = (op as (x: E.Tensor, w: E.Tensor, b: E.Tensor | null, o: object) => E.Tensor)(x, w, b, c.args);
          expectMatches(await y.toArray(), c.out, `${c.name} out`);
          y.mul(t(c.upstream)).sum().backward();
          expectMatches(await x.grad!.toArray(), c.gx, `${c.name} grad x`);
          expectMatches(await w.grad!.toArray(), c.gweight, `${c.name} grad weight`);
          if (b) expectMatches(await b.grad!.toArray(), c.gbias!, `${c.name} grad bias`);
        }
      });
    });
  });
}

describe('Conv2d({ groups }), ConvTranspose2d and Conv1d modules', () => {
  it('state_dict shapes as PyTorch, and forward runs the functional op', async () => {
    const dw = new E.Conv2d(4, 8, 3, { groups: 4, padding: 1 });
    expect(dw.weight.shape).toEqual([8, 1, 3, 3]);
    expect(dw.bias!.shape).toEqual([8]);
    const bound = 1 / Math.sqrt(9);
    expect((await dw.weight.toArray()).every((v) => Math.abs(v) <= bound)).toBe(true);
    expect(dw.forward(E.zeros([1, 4, 5, 5])).shape).toEqual([1, 8, 5, 5]);
    const ct = new E.ConvTranspose2d(4, 6, [3, 2], { stride: 2, padding: 1, outputPadding: 1, groups: 2 });
    expect(Object.fromEntries([...ct.stateDict()].map(([k, v]) => [k, v.shape]))).toEqual({ weight: [4, 3, 3, 2], bias: [6] });
    expect(ct.forward(E.zeros([2, 4, 3, 3])).shape).toEqual([2, 6, 6, 5]);
    const c1 = new E.Conv1d(4, 6, 3, { groups: 2, bias: false, stride: 2 });
    expect(Object.fromEntries([...c1.stateDict()].map(([k, v]) => [k, v.shape]))).toEqual({ weight: [6, 2, 3] });
    expect(c1.forward(E.zeros([1, 4, 9])).shape).toEqual([1, 6, 4]);
    expect(() => new E.Conv2d(4, 6, 3, { groups: 4 })).toThrow(/groups 4 must divide/);
  });
});
