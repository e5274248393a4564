// Which store slots belong to which group (class or task), for the balanced buffers: O(1) count,
// O(1) random member, O(1) moves, and O(1) repair after the store's swap-remove.

import type { Generator } from '../../engine/random.js';
import { randomIndex } from './sampling.js';

export class SlotGroups {
  private members = new Map<number, number[]>();
  private groupOf: (number | undefined)[] = []; // slot -> group (undefined: none)
  private posOf: number[] = []; // slot -> position in its group's list

  count(group: number): number {
    return this.members.get(group)?.length ?? 0;
  }

  /** The slot at `position` (0..count-1) of `group`'s member list. */
  at(group: number, position: number): number {
    return this.members.get(group)![position]!;
  }

  /** Groups that have ever held a slot, with their current counts. */
  counts(): Map<number, number> {
    const out = new Map<number, number>();
    for (const [g, list] of this.members) out.set(g, list.length);
    return out;
  }

  /** Put `slot` in `group` (taking it out of its previous group, if any). */
  assign(slot: number, group: number): void {
    if (this.groupOf[slot] !== undefined) this.unassign(slot);
    let list = this.members.get(group);
    if (!list) this.members.set(group, (list = []));
    this.groupOf[slot] = group;
    this.posOf[slot] = list.length;
    list.push(slot);
  }

  /** Take `slot` out of its group. */
  unassign(slot: number): void {
    const group = this.groupOf[slot];
    if (group === undefined) return;
    const list = this.members.get(group)!;
    const pos = this.posOf[slot]!;
    const last = list.pop()!;
    if (last !== slot) {
      list[pos] = last;
      this.posOf[last] = pos;
    }
    this.groupOf[slot] = undefined;
  }

  /** The store moved the exemplar in slot `from` to slot `to` (which was unassigned). */
  relocate(from: number, to: number): void {
    const group = this.groupOf[from];
    if (group === undefined) return;
    const pos = this.posOf[from]!;
    this.members.get(group)![pos] = to;
    this.groupOf[to] = group;
    this.posOf[to] = pos;
    this.groupOf[from] = undefined;
  }

  /** A uniformly random slot of a uniformly random group among those with the most slots. */
  randomOfLargest(g: Generator): number {
    let max = 0;
    const largest: number[] = [];
    for (const [group, list] of this.members) {
      if (list.length > max) {
        max = list.length;
        largest.length = 0;
      }
      if (list.length === max && max > 0) largest.push(group);
    }
    const group = largest[randomIndex(g, largest.length)]!;
    return this.at(group, randomIndex(g, max));
  }
}
