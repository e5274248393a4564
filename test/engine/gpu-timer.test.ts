// GpuTimer: per-dispatch GPU times from timestamp queries (bench/profile.ts uses it).
import { describe, it, expect } from 'vitest';
import * as E from '../../src/index.js';
import { useGPU } from '../helpers/gpu.js';

useGPU();

describe('GpuTimer', () => {
  it('times every dispatch recorded while attached, in order, without changing results', async () => {
    const rt = E.runtime();
    if (!rt.device.features.has('timestamp-query')) {
      expect(() => new E.GpuTimer(rt)).toThrow(/timestamp-query/);
      return;
    }
    const x = E.randn([257, 129]);
    const w = E.randn([64, 129]);
    const untimed = await E.relu(E.linear(x, w)).toArray();
    rt.timer = new E.GpuTimer(rt);
    rt.trace = [];
    const y = E.relu(E.linear(x, w));
    const names = rt.trace.map((d) => d.kernel.name);
    rt.trace = null;
    const times = await rt.timer.read();
    rt.timer.destroy();
    rt.timer = null;
    expect(times.map((t) => t.name)).toEqual(names);
    expect(names.length).toBeGreaterThanOrEqual(2);
    expect(times[0]!.startNs).toBe(0);
    for (let i = 0; i < times.length; i++) {
      expect(times[i]!.endNs).toBeGreaterThanOrEqual(times[i]!.startNs);
      if (i > 0) expect(times[i]!.startNs).toBeGreaterThanOrEqual(times[i - 1]!.endNs);
    }
    expect(await y.toArray()).toEqual(untimed);
  });

  it('says how many dispatches fit before read()', (ctx) => {
    const rt = E.runtime();
    if (!rt.device.features.has('timestamp-query')) ctx.skip('the adapter has no timestamp-query (the test above checks the error)');
    const timer = new E.GpuTimer(rt, 2);
    timer.nextPass('a');
    timer.nextPass('b');
    expect(() => timer.nextPass('c')).toThrow('GpuTimer: more than 2 dispatches recorded before read()');
    timer.destroy();
  });
});
