// A graph dropped without dispose(), a scope or backward is reclaimed by the garbage collector in
// one go, however deep it is: graph nodes hold each other's memory cells, not Tensor objects, so the
// finalization registry (which keeps a registered tensor's cell reachable) does not hold a chain
// of inputs back one collection per level (it did: a 30-op chain needed about 30 collections).
import { describe, it, expect } from 'vitest';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import * as E from '../../src/index.js';
import { useGPU } from '../helpers/gpu.js';

useGPU();

describe('garbage-collected graphs', () => {
  it('a dropped 30-op chain that requires grad gives all its buffers back within a few collections', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const w = E.randn([16]).requiresGrad_().keep();
    const settle = async (rounds: number) => {
      for (let i = 0; i < rounds; i++) {
        gc();
        await new Promise((res) => setTimeout(res, 10));
      }
    };
    await settle(3);
    const start = E.memory();
    (() => {
      let h = E.mul(w, 1.01);
      for (let i = 0; i < 29; i++) h = E.mul(h, 1.01); // no scope, no dispose: a leak the collector repairs
    })();
    expect(E.memory().tensors).toBe(start.tensors + 30);
    await settle(4);
    const end = E.memory();
    expect({ tensors: end.tensors, buffers: end.buffers }).toEqual({ tensors: start.tensors, buffers: start.buffers });
    w.dispose();
  });
});
