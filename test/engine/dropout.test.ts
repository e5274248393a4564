import { describe, it, expect } from 'vitest';
import * as E from '../../src/index.js';
import { dropout, manualSeedDropout, dropoutRngState, dropoutKeepMask } from '../../src/engine/ops/dropout.js';
import { checkOp } from '../helpers/gradcheck.js';
import { useGPU } from '../helpers/gpu.js';
import { keepMaskRef, dropoutRef } from '../reference/dropout.js';

useGPU();

/** The kept positions of a dropout output over ones (kept values are 1/(1-p), dropped 0). */
async function gpuKeepMask(n: number, p: number, seed?: number): Promise<Uint8Array> {
  return E.scope(async () => {
    const y = await dropout(E.ones([n]), p, true, seed).toArray();
    return Uint8Array.from(y, (v) => (v !== 0 ? 1 : 0));
  });
}

describe('dropout mask comes from a counter-based hash on the GPU', () => {
  it('equals the CPU integer-arithmetic mask bit for bit', async () => {
    for (const [n, p, seed] of [[1, 0.5, 0], [7, 0.3, 1], [257, 0.5, 42], [4099, 0.1, 0xdeadbeef], [1000, 0.9, 12345]] as const) {
      const expected = keepMaskRef(n, p, seed, 0);
      expect(await gpuKeepMask(n, p, seed), `mask n=${n} p=${p} seed=${seed}`).toEqual(expected);
      expect(dropoutKeepMask(n, p, seed, 0)).toEqual(expected);
    }
  });

  it('same seed gives the same mask; the stream counter makes successive calls differ', async () => {
    const n = 2048;
    expect(await gpuKeepMask(n, 0.5, 9)).toEqual(await gpuKeepMask(n, 0.5, 9));
    manualSeedDropout(9);
    const a = await gpuKeepMask(n, 0.5);
    const b = await gpuKeepMask(n, 0.5);
    expect(dropoutRngState()).toEqual({ seed: 9, counter: 2 });
    expect(a).toEqual(keepMaskRef(n, 0.5, 9, 0));
    expect(b).toEqual(keepMaskRef(n, 0.5, 9, 1));
    // Independent masks agree on about half the elements when p = 0.5.
    let same = 0;
    for (let i = 0; i < n; i++) same += a[i] === b[i] ? 1 : 0;
    expect(Math.abs(same / n - 0.5)).toBeLessThan(0.06);
    manualSeedDropout(9);
    expect(await gpuKeepMask(n, 0.5)).toEqual(a); // reseeding replays the stream
  });

  it('keeps about 1 - p of the elements and scales them by 1 / (1 - p)', async () => {
    const n = 65537;
    for (const p of [0.1, 0.5, 0.8]) {
      const x = E.uniform([n], 0.5, 2);
      const xs = await x.toArray();
      const y = await dropout(x, p, true, 3).toArray();
      let kept = 0;
      let badScale = 0;
      for (let i = 0; i < n; i++) {
        if (y[i] === 0) continue;
        kept++;
        if (Math.abs(y[i]! - xs[i]! / (1 - p)) > 1e-6 * Math.abs(y[i]!)) badScale++;
      }
      expect(badScale, `kept values not scaled by 1/(1-p) for p=${p}`).toBe(0);
      // 5 standard deviations of a binomial proportion.
      expect(Math.abs(kept / n - (1 - p))).toBeLessThan(5 * Math.sqrt((p * (1 - p)) / n));
    }
  });
});

describe('dropout forward and backward match the reference given the mask', () => {
  it('over shapes 1, 7, [3, 5], [2, 3, 37], 257', async () => {
    for (const [shape, p, seed] of [[[1], 0.5, 5], [[7], 0.3, 6], [[3, 5], 0.5, 7], [[2, 3, 37], 0.2, 8], [[257], 0.7, 9]] as const) {
      const n = shape.reduce((a: number, b: number) => a * b, 1);
      const r = dropoutRef(p, keepMaskRef(n, p, seed, 0));
      await checkOp({
        name: `dropout [${shape}] p=${p}`,
        inputs: [{ shape: [...shape] }],
        gpu: (x) => dropout(x, p, true, seed),
        ref: r.forward,
        refGrad: r.grad,
      });
    }
  });

  it('the stream-seeded backward reuses its forward mask even after later calls', async () => {
    manualSeedDropout(77);
    const x = E.ones([300], { requiresGrad: true });
    const y = dropout(x, 0.4, true);
    dropout(E.ones([300]), 0.4, true); // advances the counter
    y.backward(E.ones([300]));
    expect(await x.grad!.toArray()).toEqual(await y.toArray());
  });

  it('p = 1 gives zeros (not NaN), and zero gradients', async () => {
    const x = E.tensor([1, -2, Infinity, 4], [4], { requiresGrad: true });
    const y = dropout(x, 1, true, 1);
    expect([...(await y.toArray())]).toEqual([0, 0, 0, 0]);
    y.backward(E.ones([4]));
    expect([...(await x.grad!.toArray())]).toEqual([0, 0, 0, 0]);
  });

  it('is the identity (gradient passes through) when not training or p = 0', async () => {
    for (const [p, training] of [[0.5, false], [0, true]] as const) {
      const x = E.tensor([1, 2, 3], [3], { requiresGrad: true });
      const before = dropoutRngState();
      const y = dropout(x, p, training);
      expect(dropoutRngState()).toEqual(before); // no mask drawn
      expect([...(await y.toArray())]).toEqual([1, 2, 3]);
      y.backward(E.tensor([4, 5, 6], [3]));
      expect([...(await x.grad!.toArray())]).toEqual([4, 5, 6]);
      y.dispose(); // disposing the result leaves the input alive
      expect([...(await x.toArray())]).toEqual([1, 2, 3]);
    }
  });

  it('rejects probabilities outside [0, 1], bad seeds and int32 input', () => {
    const x = E.zeros([3]);
    expect(() => dropout(x, 1.5, true)).toThrow(/dropout: probability has to be between 0 and 1, but got 1.5/);
    expect(() => dropout(x, -0.1, true)).toThrow(/dropout: probability has to be between 0 and 1/);
    expect(() => dropout(x, NaN, true)).toThrow(/dropout: probability/);
    expect(() => dropout(x, 0.5, true, -1)).toThrow(/dropout: seed must be an integer in \[0, 2\^32\)/);
    expect(() => manualSeedDropout(1.5)).toThrow(/dropout: seed must be an integer/);
    expect(() => dropout(E.tensor(new Int32Array(3), [3]), 0.5, true)).toThrow(/dropout: expects a float32 input, got int32/);
  });
});

describe('manualSeed', () => {
  it('reseeds dropout too, so one call makes a run reproducible', async () => {
    const E2 = await import('../../src/index.js');
    const x = E2.ones([64]);
    E2.manualSeed(5);
    const a = await E2.dropout(x, 0.5, true).toArray();
    E2.manualSeed(5);
    const b = await E2.dropout(x, 0.5, true).toArray();
    expect([...a]).toEqual([...b]);
  });
});
