// Reservoir sampling (Vitter's algorithm R): after n exemplars have been offered, the memory is a
// uniform random sample of size min(n, capacity) of the whole stream, so every exemplar seen so far
// is held with probability capacity / n, whatever task or class it came from.
// The i-th exemplar (0-based) with i >= capacity draws j uniform in [0, i] and overwrites slot j
// when j < capacity (probability capacity / (i + 1)); otherwise it is dropped.

import { BaseReplayBuffer, DROP_EXEMPLAR, type ReplayBufferOptions } from './replay-buffer.js';
import { randomIndex } from './sampling.js';

/**
 * Reservoir-sampling replay memory (Vitter's algorithm R): after n exemplars, it holds a uniform random
 * sample of min(n, capacity) of the whole stream.
 */
export class ReservoirBuffer extends BaseReplayBuffer {
  readonly kind = 'ReservoirBuffer';

  constructor(opts: ReplayBufferOptions) {
    super(opts, 'ReservoirBuffer');
  }

  protected choose(): number {
    if (this.size < this.capacity) return this.size;
    const j = randomIndex(this.generator, this.seen + 1);
    return j < this.capacity ? j : DROP_EXEMPLAR;
  }
}
