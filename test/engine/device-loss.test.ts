// Recovery after device loss (issue 14, item 3). `runtime().device.destroy()` stands in for a lost
// GPU (driver reset, a browser reclaiming the device). Then `init()` again must give a working
// engine: tensors of the old device raise a clear error when used, and releasing them (dispose, a
// scope's end, garbage collection) destroys their buffers instead of handing them to the new
// device's pool, where the next op would fail with "[Buffer] is associated with [Device], and cannot
// be used with [Device]".
import { describe, it, expect } from 'vitest';
import * as E from '../../src/index.js';
import { useGPU } from '../helpers/gpu.js';

useGPU();

describe('device loss and init() again', () => {
  it('old tensors raise on use, never reach the new pool; new tensors, a model and a checkpoint reload work', async () => {
    const model = new E.Sequential(new E.Linear(4, 3), new E.ReLU(), new E.Linear(3, 2));
    const bytes = await E.saveStateDict(model);
    const x = E.randn([5, 4]).keep();
    const before = await E.scope(() => model.forward(x)).toArray();
    const stale = [E.ones([64]), E.zeros([64]), E.randn([7, 3])];
    const oldRuntime = E.runtime();

    oldRuntime.device.destroy();
    // The loss surfaces at the next use of the old device.
    await expect(E.scope(() => E.add(stale[0]!, 1)).toArray()).rejects.toThrow(/device was lost .*call init\(\) again/);

    const rt = await E.init();
    expect(rt).not.toBe(oldRuntime);
    const pooledBefore = E.memory().pooledBuffers;
    // Using an old tensor on the new device: a clear error, not a WebGPU validation error.
    expect(() => E.add(stale[1]!, 1)).toThrow(/tensor #\d+ \(shape \[64\]\) belongs to a GPU device that is gone .*Create it again/);
    await expect(stale[2]!.toArray()).rejects.toThrow(/belongs to a GPU device that is gone/);
    expect(() => model.forward(E.ones([1, 4]))).toThrow(/belongs to a GPU device that is gone/);
    // Releasing them does not feed the new pool.
    for (const t of stale) t.dispose();
    x.dispose();
    expect(E.memory().pooledBuffers).toBe(pooledBefore);
    // Ops that get pooled buffers now still work (the bug: the next op got an old-device buffer).
    const fresh = E.scope(() => E.add(E.ones([64]), E.zeros([64])));
    expect([...(await fresh.toArray())].every((v) => v === 1)).toBe(true);
    fresh.dispose();

    // Recovery: rebuild the model and reload its checkpoint.
    const again = new E.Sequential(new E.Linear(4, 3), new E.ReLU(), new E.Linear(3, 2));
    E.loadStateDictBytes(again, bytes, 'model.safetensors');
    const y = E.scope(() => again.forward(E.ones([5, 4])));
    expect((await y.toArray()).length).toBe(before.length);
    y.dispose();
    await E.sync();
  });
});
