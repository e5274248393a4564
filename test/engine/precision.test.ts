// setFloat32MatmulPrecision('medium'): the GEMM kernels (matmul/linear, conv2d forward, grad-input,
// grad-weight) round their operands to float16 and accumulate in float32. Checked against the float64
// reference evaluated on float16-rounded operands (tight), and shown to differ from the unrounded
// reference (so the test fails if the float16 path is not taken).
import { describe, it, expect, afterEach } from 'vitest';
import * as E from '../../src/index.js';
import { conv2d } from '../../src/engine/ops/conv.js';
import { expectClose } from '../helpers/gradcheck.js';
import { gpu } from '../helpers/gpu.js';
import { arr, type Arr } from '../reference/arr.js';
import { conv2dRef } from '../reference/conv.js';
import { matmulRef, matmulRefGrad } from '../reference/matmul.js';
import { f16BitsToF32, f32ToF16Bits } from '../../src/cl/memory/half.js';

// The float16 cases need 'shader-f16' (lavapipe has it; SwiftShader does not: they are reported skipped).
const hasF16 = (await gpu()).hasF16;
afterEach(() => E.setFloat32MatmulPrecision('highest'));

const toF16 = (a: Arr): Arr => arr(a.shape, a.data.map((v) => f16BitsToF32(f32ToF16Bits(v))));

function randomArr(shape: number[], gen: E.Generator): Arr {
  return arr(shape, gen.normalArray(shape.reduce((x, y) => x * y, 1), 0, 1));
}

/** Largest |a - b| relative to the largest |b|. */
function relErr(a: ArrayLike<number>, b: Arr): number {
  let worst = 0;
  let scale = 0;
  for (let i = 0; i < b.data.length; i++) {
    worst = Math.max(worst, Math.abs(a[i]! - b.data[i]!));
    scale = Math.max(scale, Math.abs(b.data[i]!));
  }
  return worst / scale;
}

/** The GPU result must match the float16-operand reference and measurably miss the exact one. */
function expectF16Operands(gpu: ArrayLike<number>, refF16: Arr, refExact: Arr, label: string): void {
  expectClose(gpu, refF16, { atol: 2e-5 * Math.max(...refF16.data.map(Math.abs)), rtol: 1e-5 }, `${label} vs float16-operand reference`);
  expect(relErr(gpu, refExact), `${label}: should differ from the float32-operand result`).toBeGreaterThan(1e-5);
}

describe.skipIf(!hasF16)("setFloat32MatmulPrecision('medium')", () => {
  it('matmul: float16 operands, float32 sums (forward and both gradients)', async () => {
    const gen = new E.Generator(5);
    const a = randomArr([37, 70], gen);
    const b = randomArr([70, 45], gen);
    const g = randomArr([37, 45], gen);
    E.setFloat32MatmulPrecision('medium');
    const ta = E.tensor(Float32Array.from(a.data), a.shape).requiresGrad_();
    const tb = E.tensor(Float32Array.from(b.data), b.shape).requiresGrad_();
    const y = E.matmul(ta, tb);
    y.backward(E.tensor(Float32Array.from(g.data), g.shape));
    expectF16Operands(await y.toArray(), matmulRef(toF16(a), toF16(b)), matmulRef(a, b), 'matmul');
    const [ga16, gb16] = matmulRefGrad(toF16(g), toF16(a), toF16(b));
    const [ga, gb] = matmulRefGrad(g, a, b);
    expectF16Operands(await ta.grad!.toArray(), ga16!, ga!, 'matmul grad A');
    expectF16Operands(await tb.grad!.toArray(), gb16!, gb!, 'matmul grad B');
    expect(E.getFloat32MatmulPrecision()).toBe('medium');
  });

  it('the split-K kernel is float32-only: auto leaves it out and forcing it throws', async () => {
    const rt = E.runtime();
    E.setFloat32MatmulPrecision('medium');
    await E.scope(async () => {
      const x = E.zeros([64, 4096]);
      const w = E.zeros([10, 4096]);
      rt.trace = [];
      E.linear(x, w);
      const names = rt.trace.map((d) => d.kernel.name);
      rt.trace = null;
      expect(names).toEqual(['matmul_naive']); // (64x10 outputs: the naive kernel, as before split-K)
      expect(() => E.gemm({ a: x, b: w, out: E.empty([64, 10]), M: 64, N: 10, K: 4096, transB: true, kernel: 'dot' })).toThrow(
        'gemm: the dot kernel needs float32 operands (float16 matmul precision is on)',
      );
    });
  });

  it('conv2d: forward, grad-input and grad-weight with float16 operands', async () => {
    const gen = new E.Generator(6);
    for (const [xs, ws, o] of [[[2, 5, 9, 7], [12, 5, 3, 3], { padding: 1 }], [[3, 3, 11, 8], [40, 3, 3, 3], { stride: 2 }]] as const) {
      const x = randomArr([...xs], gen);
      const w = randomArr([...ws], gen);
      const r = conv2dRef(o);
      const yShape = r.forward(x, w).shape;
      const g = randomArr(yShape, gen);
      E.setFloat32MatmulPrecision('medium');
      const tx = E.tensor(Float32Array.from(x.data), x.shape).requiresGrad_();
      const tw = E.tensor(Float32Array.from(w.data), w.shape).requiresGrad_();
      const y = conv2d(tx, tw, null, o);
      y.backward(E.tensor(Float32Array.from(g.data), g.shape));
      const label = `conv2d x [${xs}] w [${ws}]`;
      expectF16Operands(await y.toArray(), r.forward(toF16(x), toF16(w)), r.forward(x, w), label);
      const [dx16, dw16] = r.grad(toF16(g), toF16(x), toF16(w));
      const [dx, dw] = r.grad(g, x, w);
      expectF16Operands(await tx.grad!.toArray(), dx16!, dx!, `${label} grad-input`);
      expectF16Operands(await tw.grad!.toArray(), dw16!, dw!, `${label} grad-weight`);
      E.setFloat32MatmulPrecision('highest');
      // Back at 'highest', the same conv matches the exact reference.
      expectClose(await conv2d(tx, tw, null, o).toArray(), r.forward(x, w), { atol: 1e-4, rtol: 1e-4 }, `${label} highest`);
    }
  });
});

describe('setFloat32MatmulPrecision', () => {
  it('rejects an unknown precision with a clear error', () => {
    expect(() => E.setFloat32MatmulPrecision('low' as never)).toThrow(/setFloat32MatmulPrecision: expected 'highest' or 'medium', got "low"/);
    expect(E.getFloat32MatmulPrecision()).toBe('highest');
  });
});
