import { describe, it, expect } from 'vitest';
import * as E from '../../src/index.js';
import { useGPU } from '../helpers/gpu.js';

useGPU();

// Reference: PyTorch's float -> int32 conversion truncates toward zero; int -> float is exact for
// |v| < 2^24 and rounds to nearest above.
const truncRef = (v: number) => Math.trunc(v) | 0; // | 0: an int has no -0

describe('dtype conversion', () => {
  it('toInt truncates toward zero like tensor.to(torch.int32), over odd sizes', async () => {
    for (const n of [1, 7, 257]) {
      const g = new E.Generator(n);
      const vals = Float32Array.from({ length: n }, () => (g.next() - 0.5) * 200);
      vals[0] = -2.7; // negative values truncate up, not down
      const out = await E.toInt(E.tensor(vals, [n])).toArray();
      expect(out).toBeInstanceOf(Int32Array);
      expect([...out]).toEqual([...vals].map(truncRef));
    }
  });

  it('toFloat converts int32 exactly (and rounds beyond 2^24 as float32 does)', async () => {
    const ints = new Int32Array([0, -1, 5, 16777216, 16777217, -2147483648, 2147483647]);
    const out = await E.toFloat(E.tensor(ints, [ints.length])).toArray();
    expect(out).toBeInstanceOf(Float32Array);
    expect([...out]).toEqual([...Float32Array.from(ints)]);
  });

  it('converting to the same dtype is a copy, not a view', async () => {
    const x = E.tensor([1.5, -2.5]);
    const y = E.toFloat(x);
    expect(y.buffer).not.toBe(x.buffer);
    expect([...(await y.toArray())]).toEqual([1.5, -2.5]);
  });

  it('toInt refuses a tensor that requires grad', () => {
    const x = E.tensor([1.5]).requiresGrad_();
    expect(() => E.toInt(x)).toThrow(/toInt: cannot convert a tensor that requires grad/);
  });

  it('addInt_ increments an int32 tensor in place and rejects float32', async () => {
    const c = E.tensor(new Int32Array([0, 41, -3]), [3]);
    E.addInt_(c, 1);
    expect([...(await c.toArray())]).toEqual([1, 42, -2]);
    expect(() => E.addInt_(E.zeros([1]), 1)).toThrow(/addInt_: expects an int32 tensor/);
  });
});
