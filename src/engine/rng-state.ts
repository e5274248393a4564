// The whole of engram's global random state in one value (torch.get_rng_state / set_rng_state): the
// default CPU generator (initializations, shuffles and transforms that are given no generator) and
// dropout's GPU stream (its seed and call counter). `manualSeed` resets both; these save and restore
// both, e.g. to resume a run, or to start a second run from the point where a first one left off.

import { EngramError } from './runtime.js';
import { defaultGenerator, type GeneratorState } from './random.js';
import { dropoutRngState, manualSeedDropout } from './ops/dropout.js';

/** engram's global random state (`getRngState`): plain numbers, so it can be copied or stored as JSON. */
export interface RngState {
  /** The default generator's state. */
  generator: GeneratorState;
  /** Dropout's stream: its seed and the number of masks drawn so far. */
  dropout: {
    /** Seed of dropout's random stream. */
    seed: number;
    /** The call counter, advanced by each dropout call. */
    counter: number;
  };
}

/** The global random state now (like torch.get_rng_state, covering dropout's GPU stream too). */
export function getRngState(): RngState {
  return { generator: defaultGenerator.getState(), dropout: dropoutRngState() };
}

/** Restore a state from `getRngState` (like torch.set_rng_state): later draws repeat those that followed it. */
export function setRngState(state: RngState): void {
  if (!state || typeof state !== 'object' || !state.generator || !state.dropout) {
    throw new EngramError('setRngState: expects a state from getRngState() ({ generator, dropout })');
  }
  defaultGenerator.setState(state.generator);
  manualSeedDropout(state.dropout.seed, state.dropout.counter);
}
