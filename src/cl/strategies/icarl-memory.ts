// iCaRL's exemplar memory update (step 3 of icarl.ts): after a task, every old class keeps a prefix of
// its herding order and every new class is herded, within a per-class limit that is either a number of
// exemplars (m = floor(K / classes seen)) or a number of stored bytes (floor(memoryBytes / classes seen)).
//
// Herding is greedy, so the first m picks of a longer herding run are the m-exemplar herding set: a
// class can be cut to any prefix without herding again. With a byte limit a class keeps the longest
// prefix of its herding order whose stored bytes fit. Deflated exemplars differ in size, so the bytes
// are those the store actually holds (`ExemplarStore.bytes`, side floats included), and herding is asked
// for no more exemplars than the smallest sizes could fit. ICaRL checks before training that every
// class's share holds one uncompressed exemplar, so every class keeps at least its first exemplar;
// the errors here guard that invariant.

import { EngramError } from '../../engine/runtime.js';
import type { ExemplarStore, ExemplarValues } from '../memory/store.js';
import type { Task } from '../scenarios.js';

/** What each class may keep: a number of exemplars (memorySize) or of stored bytes (memoryBytes). */
export interface ClassLimit {
  exemplars?: number;
  bytes?: number;
}

/** One class's exemplars. */
export interface ClassSet {
  /** Task that introduced the class. */
  task: number;
  /** Indices into that task's training set, in herding order. */
  sources: number[];
}

/** What `rebuildExemplarSets` needs. */
export interface RebuildArgs {
  /** The memory so far: each class's exemplars contiguous, in herding order, in the order of `sets`. */
  old: ExemplarStore;
  sets: ReadonlyMap<number, ClassSet>;
  /** The task just learned (its classes are new). */
  task: Task;
  limit: ClassLimit;
  /** An empty store of the memory's format. */
  newStore: () => ExemplarStore;
  /** Herding: the first k picks (indices into rows) over the features of the task's images `rows`. */
  herd: (rows: number[], k: number) => Promise<number[]>;
  /** How the budget reads in errors, e.g. 'memoryBytes 6000'. */
  budgetNote: string;
}

/** The new memory (a fresh store in class order) and its class sets; `old` is left as it was. */
export async function rebuildExemplarSets(a: RebuildArgs): Promise<{ store: ExemplarStore; sets: Map<number, ClassSet> }> {
  const { limit, task } = a;
  const next = a.newStore();
  const sets = new Map<number, ClassSet>();
  // Adds candidates in order while the class's limit allows; returns how many were kept.
  const addWithinLimit = (count: number, valuesOf: (r: number) => ExemplarValues, label: number, taskId: number): number => {
    const start = next.bytes;
    let kept = 0;
    for (; kept < count; kept++) {
      if (limit.exemplars !== undefined && kept >= limit.exemplars) break;
      next.add(valuesOf(kept), label, taskId);
      if (limit.bytes !== undefined && next.bytes - start > limit.bytes) {
        next.remove(next.size - 1);
        break;
      }
    }
    return kept;
  };
  const tooFew = (what: string, label: number) =>
    new EngramError(`ICaRL: ${a.budgetNote} leaves ${limit.bytes} bytes for each class after task ${task.id}, too few for ${what} of class ${label}; raise memoryBytes`);
  // Old classes: keep a prefix of each one's contiguous run in the old store.
  let at = 0;
  for (const [label, set] of a.sets) {
    const from = at;
    const keep = addWithinLimit(set.sources.length, (r) => a.old.packed(from + r), label, set.task);
    if (keep === 0) throw tooFew('the first exemplar', label);
    at += set.sources.length;
    sets.set(label, { task: set.task, sources: set.sources.slice(0, keep) });
  }
  // New classes: herding over all their training images.
  const ds = task.train;
  for (const label of task.classes) {
    const rows: number[] = [];
    for (let i = 0; i < ds.length; i++) if (ds.labels[i] === label) rows.push(i);
    if (rows.length === 0) throw new EngramError(`ICaRL: task ${task.id} lists class ${label} but its training set has no image of it`);
    const k = Math.min(rows.length, mostThatCouldFit(limit, next, a.newStore, rows.map((r) => () => ds.image(r))));
    if (k === 0) throw tooFew('any exemplar', label);
    const sources = (await a.herd(rows, k)).map((p) => rows[p]!);
    const kept = addWithinLimit(sources.length, (r) => ds.image(sources[r]!), label, task.id);
    if (kept === 0) throw tooFew('the first herded exemplar', label);
    sets.set(label, { task: task.id, sources: sources.slice(0, kept) });
  }
  return { store: next, sets };
}

/**
 * An upper bound on how many of a class's candidates the limit can hold, so herding selects no more
 * than could be kept: the count itself, or, for a byte limit, how many of the smallest stored sizes
 * fit (every size is the same uncompressed; deflated sizes are measured in a scratch store).
 */
function mostThatCouldFit(limit: ClassLimit, like: ExemplarStore, newStore: () => ExemplarStore, images: (() => Uint8Array)[]): number {
  if (limit.bytes === undefined) return limit.exemplars!;
  if (!like.compressed) return Math.floor(limit.bytes / like.bytesPerExemplar);
  const probe = newStore();
  const sizes: number[] = [];
  for (const img of images) {
    const before = probe.bytes;
    probe.add(img(), 0, 0);
    sizes.push(probe.bytes - before);
  }
  probe.clear();
  sizes.sort((x, y) => x - y);
  let total = 0;
  let n = 0;
  while (n < sizes.length && total + sizes[n]! <= limit.bytes) total += sizes[n++]!;
  return n;
}
