// Leaf gradients are accumulated in place across backward() calls, so each leaf's .grad must own
// its buffer (found while testing gradient clipping: add's backward hands both inputs one buffer).
import { describe, it, expect } from 'vitest';
import * as E from '../../src/index.js';
import { useGPU } from '../helpers/gpu.js';

useGPU();

describe('leaf gradients own their buffers', () => {
  it('z = a + b backward twice accumulates once per backward (add hands both inputs the same gradient)', async () => {
    const a = E.tensor([1, 2]).requiresGrad_();
    const b = E.tensor([3, 4]).requiresGrad_();
    const w = E.tensor([3, 4]);
    for (let i = 0; i < 2; i++) E.sum(E.mul(E.add(a, b), w)).backward();
    expect([...(await a.grad!.toArray())]).toEqual([6, 8]);
    expect([...(await b.grad!.toArray())]).toEqual([6, 8]);
  });

  it("a gradient passed to backward() is not written into by later accumulation", async () => {
    const a = E.tensor([1, 2]).requiresGrad_();
    const g = E.tensor([1, 1], [1, 2]);
    // reshape's backward hands the incoming gradient's buffer on, so a.grad would alias g
    E.reshape(a, [1, 2]).backward(g);
    E.reshape(a, [1, 2]).backward(g);
    expect([...(await g.toArray())]).toEqual([1, 1]);
    expect([...(await a.grad!.toArray())]).toEqual([2, 2]);
  });
});

describe('a backward pass that raises midway', () => {
  it('frees the gradients still waiting for their nodes', async () => {
    const a = E.tensor([1, 2, 3]).requiresGrad_();
    const before = E.memory().tensors;
    const h = E.exp(a);
    // A custom op whose gradient function fails, downstream of exp: the walk stops inside it.
    const failing = E.withGrad(E.noGrad(() => E.mul(h, 1)), 'failing', [h], () => {
      throw new Error('custom backward failed');
    });
    const scaled = E.mul(failing, 2);
    const loss = E.sum(scaled);
    expect(() => loss.backward()).toThrow(/custom backward failed/);
    for (const t of [loss, scaled, failing, h]) t.dispose();
    expect(E.memory().tensors).toBe(before);
    expect(a.grad).toBeNull();
  });
});
