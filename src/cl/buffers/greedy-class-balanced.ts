// GDumb's greedy class-balanced sampler (Prabhu et al. 2020, Algorithm 1), exactly: while the memory has
// room, every exemplar is stored; once it is full, an exemplar of class y is stored only if its class
// holds fewer than capacity / |classes seen so far (y included)| exemplars, and then it takes the slot
// of a random exemplar of a largest class (ties between largest classes broken at random); otherwise it
// is dropped. Unlike `ClassBalancedBuffer`, a class at its share is never refreshed: the memory keeps
// the first exemplars of each class that fit, as GDumb's does.

import { BaseReplayBuffer, DROP_EXEMPLAR, type ReplayBufferOptions } from './replay-buffer.js';
import { SlotGroups } from './groups.js';
import { randomIndex } from './sampling.js';

/**
 * GDumb's greedy class-balanced memory (Prabhu et al. 2020): stores everything until full; then an exemplar of
 * class y enters only while y holds fewer than capacity / (classes seen) exemplars, evicting a random exemplar
 * of a largest class; otherwise it is dropped.
 */
export class GreedyClassBalancedBuffer extends BaseReplayBuffer {
  readonly kind = 'GreedyClassBalancedBuffer';
  private readonly byClass = new SlotGroups();
  private readonly seenClasses = new Set<number>();

  constructor(opts: ReplayBufferOptions) {
    super(opts, 'GreedyClassBalancedBuffer');
  }

  /** Exemplars held per class label. */
  classCounts(): Map<number, number> {
    const out = new Map<number, number>();
    for (const [c, n] of this.byClass.counts()) if (n > 0) out.set(c, n);
    return out;
  }

  protected choose(label: number): number {
    this.seenClasses.add(label);
    if (this.size < this.capacity) return this.size;
    if (this.byClass.count(label) >= this.capacity / this.seenClasses.size) return DROP_EXEMPLAR;
    let max = 0;
    const largest: number[] = [];
    for (const [c, n] of this.byClass.counts()) {
      if (n > max) {
        max = n;
        largest.length = 0;
      }
      if (n === max) largest.push(c);
    }
    const victim = largest[randomIndex(this.generator, largest.length)]!;
    return this.byClass.at(victim, randomIndex(this.generator, max));
  }

  protected override placed(slot: number, label: number): void {
    this.byClass.assign(slot, label);
  }
}
