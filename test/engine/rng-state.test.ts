// Saving and restoring random state: Generator.getState/setState (torch.Generator.get_state/set_state)
// and engram's global getRngState/setRngState (torch.get_rng_state/set_rng_state), which also covers
// dropout's GPU stream.
import { describe, it, expect } from 'vitest';
import * as E from '../../src/index.js';
import { useGPU } from '../helpers/gpu.js';

useGPU();

describe('Generator.getState / setState', () => {
  it('resumes the same stream, a cached Box-Muller normal included', () => {
    const g = new E.Generator(123);
    g.uniformArray(5);
    g.normal(); // leaves the pair's second normal cached
    const st = g.getState();
    expect(st.spareNormal).not.toBeNull();
    const ahead = [g.normal(), ...g.uniformArray(4), g.nextU32(), ...g.permutation(6)];
    const h = new E.Generator(999).setState(st);
    expect([h.normal(), ...h.uniformArray(4), h.nextU32(), ...h.permutation(6)]).toEqual(ahead);
  });

  it('the state is plain data: a JSON round trip resumes it too, and it is a copy', () => {
    const g = new E.Generator(7);
    for (let i = 0; i < 100; i++) g.nextU32(); // words go negative as int32 inside: stored unsigned
    const st = g.getState();
    expect(st.words.every((w) => Number.isInteger(w) && w >= 0 && w <= 0xffffffff)).toBe(true);
    const copy = JSON.parse(JSON.stringify(st));
    const next = g.nextU32();
    expect(new E.Generator(0).setState(copy).nextU32()).toBe(next);
    expect(g.getState()).not.toEqual(st); // the state taken before did not move with the generator
  });

  it('rejects a malformed state, naming what is wrong', () => {
    const g = new E.Generator(1);
    expect(() => g.setState({ words: [1, 2, 3], spareNormal: null })).toThrow(/Generator.setState: words must be four integers/);
    expect(() => g.setState({ words: [0, 0, 0, 0], spareNormal: null })).toThrow(/not all zero/);
    expect(() => g.setState({ words: [1, 2, 3, 2 ** 32], spareNormal: null })).toThrow(/\[0, 2\^32\)/);
    expect(() => g.setState({ words: [1, 2, 3, 4], spareNormal: NaN })).toThrow(/spareNormal must be a finite number or null/);
    expect(() => g.setState(undefined as never)).toThrow(/Generator.setState/);
  });
});

describe('getRngState / setRngState', () => {
  it('restores the default generator and dropout masks: the draws after it repeat', async () => {
    E.manualSeed(5);
    E.rand([3]).dispose();
    const st = E.getRngState();
    const draw = async () => E.scope(async () => [
      ...(await E.rand([4]).toArray()),
      ...(await E.dropout(E.ones([64]), 0.5, true).toArray()),
    ]);
    const first = await draw();
    expect(await draw()).not.toEqual(first); // the streams moved on
    E.setRngState(st);
    expect(await draw()).toEqual(first);
  });

  it('rejects anything but a state from getRngState', () => {
    expect(() => E.setRngState({} as never)).toThrow(/setRngState: expects a state from getRngState/);
    expect(() => E.setRngState({ generator: { words: [1, 1, 1, 1], spareNormal: null }, dropout: { seed: -1, counter: 0 } })).toThrow(/dropout: seed must be an integer in \[0, 2\^32\)/);
  });
});
