// End-of-task exemplar selection for ExperienceReplay's `select` option: which of a task's training
// images are offered to the memory when the task ends, in offer order.
//   firstPerClass(n): the first n images of each class in dataset order (a notebook's "first 100
//                     training images of each class"; deterministic, no randomness).
//   randomChoice(k):  k images drawn uniformly without replacement (numpy's random.choice(n, k,
//                     replace=False)), from the strategy's seeded generator; k may depend on the task.
// The buffer's policy still decides what stays: with a TaskBalancedBuffer, offering randomChoice(capacity)
// at each task's end refills the memory with a random share of the new task and trims the older tasks
// to theirs at random.

import { EngramError } from '../engine/runtime.js';
import type { Generator } from '../engine/random.js';
import type { Task } from './scenarios.js';

/** Picks the indices (into task.train) offered to the memory at the end of a task, in offer order. */
export type ExemplarSelection = (task: Task, generator: Generator) => ArrayLike<number>;

function count(v: number, what: string, fn: string): number {
  if (!(Number.isInteger(v) && v >= 0)) throw new EngramError(`${fn}: ${what} must be a non-negative integer, got ${v}`);
  return v;
}

/**
 * The first `n` training images of each class, in dataset order (all of a class with fewer than n). A task
 * may be excluded by `only` (e.g. `firstPerClass(100, (t) => t.id === 0)` stores task 0's images only).
 */
export function firstPerClass(n: number, only?: (task: Task) => boolean): ExemplarSelection {
  count(n, 'n', 'firstPerClass');
  return (task) => {
    if (only && !only(task)) return new Int32Array(0);
    const labels = task.train.labels;
    const taken = new Map<number, number>();
    const out: number[] = [];
    for (let i = 0; i < labels.length; i++) {
      const c = labels[i]!;
      const k = taken.get(c) ?? 0;
      if (k < n) {
        taken.set(c, k + 1);
        out.push(i);
      }
    }
    return Int32Array.from(out);
  };
}

/**
 * `k` training images drawn uniformly without replacement (all of them, in random order, when the task
 * has no more than k); `k` may be a function of the task (0 offers nothing).
 */
export function randomChoice(k: number | ((task: Task) => number)): ExemplarSelection {
  if (typeof k === 'number') count(k, 'k', 'randomChoice');
  else if (typeof k !== 'function') throw new EngramError(`randomChoice: k must be a count or a function of the task, got ${String(k)}`);
  return (task, generator) => {
    const want = count(typeof k === 'function' ? k(task) : k, `k(task ${task.id})`, 'randomChoice');
    const n = task.train.length;
    return generator.permutation(n).subarray(0, Math.min(want, n));
  };
}
