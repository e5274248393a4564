// First in, first out: the newest `capacity` exemplars of the stream. Once full, each new exemplar
// overwrites the oldest one (a ring over the store's slots); sampling is uniform over what is held.

import { BaseReplayBuffer, type ReplayBufferOptions } from './replay-buffer.js';

/**
 * First-in, first-out replay memory: holds the newest `capacity` exemplars of the stream (a ring over the
 * store's slots).
 */
export class FifoBuffer extends BaseReplayBuffer {
  readonly kind = 'FifoBuffer';
  private oldest = 0; // slot of the oldest exemplar once the ring is full

  constructor(opts: ReplayBufferOptions) {
    super(opts, 'FifoBuffer');
  }

  protected choose(): number {
    if (this.size < this.capacity) return this.size;
    const slot = this.oldest;
    this.oldest = (this.oldest + 1) % this.capacity;
    return slot;
  }
}
