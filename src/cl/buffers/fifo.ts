// First in, first out: the newest exemplars of the stream. Once full, each new exemplar overwrites
// the oldest one; under a byte budget of a compressed store, the oldest ones are also evicted until
// the stored bytes fit. The age order is kept as stream sequence numbers: seqs alive are always a
// contiguous run [head, tail), so the oldest is the slot of `head`. Sampling is uniform over what is
// held.

import { BaseReplayBuffer, type ReplayBufferOptions } from './replay-buffer.js';

/**
 * First-in, first-out replay memory: holds the newest `capacity` exemplars of the stream, overwriting
 * (or, over a byte budget, evicting) the oldest.
 */
export class FifoBuffer extends BaseReplayBuffer {
  readonly kind = 'FifoBuffer';
  private readonly slotOfSeq = new Map<number, number>();
  private seqOfSlot: number[] = [];
  private head = 0; // sequence number of the oldest exemplar held
  private tail = 0; // sequence number the next exemplar gets

  constructor(opts: ReplayBufferOptions) {
    super(opts, 'FifoBuffer');
  }

  protected choose(): number {
    if (this.size < this.capacity) return this.size;
    return this.oldest();
  }

  protected override placed(slot: number, _label: number, _task: number, replaced: boolean): void {
    if (replaced) this.dropOldest(); // choose() handed out the oldest's slot
    this.slotOfSeq.set(this.tail, slot);
    this.seqOfSlot[slot] = this.tail++;
  }

  protected override evictionVictim(): number {
    return this.oldest();
  }

  protected override removed(slot: number, moved: number): void {
    this.dropOldest(); // the victim is always the oldest
    if (moved >= 0) {
      const seq = this.seqOfSlot[moved]!;
      this.slotOfSeq.set(seq, slot);
      this.seqOfSlot[slot] = seq;
    }
  }

  private oldest(): number {
    return this.slotOfSeq.get(this.head)!;
  }

  private dropOldest(): void {
    this.slotOfSeq.delete(this.head++);
  }
}
