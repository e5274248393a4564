// Class-incremental scenarios: a stream of tasks, each introducing its own classes, with the train
// and test data of those classes. After task t a model is evaluated on the test sets of tasks 0..t
// (the accuracy matrix in metrics.ts is built from exactly these test sets).

import type { ImageDataset } from '../data/dataset.js';
import type { GpuTransform } from '../data/transforms.js';

/** One task of a class-incremental scenario: the classes it introduces with their train and test data. */
export interface Task {
  /** Position in the stream (0-based). */
  id: number;
  /** Labels introduced by this task, as they appear in `train`/`test` (after any remapping). */
  classes: number[];
  /** Training data of this task's classes. */
  train: ImageDataset;
  /** Test data of this task's classes. */
  test: ImageDataset;
  /**
   * Domain-incremental tasks (permutedMNIST, rotatedMNIST): the transform that made this task's images
   * from the base dataset's (already applied to `train` and `test`; for reference and reports).
   */
  transform?: GpuTransform;
}

function checkClasses(name: string, ds: ImageDataset, wanted: number[]): void {
  const present = new Set(ds.classes());
  const missing = wanted.filter((c) => !present.has(c));
  if (missing.length) throw new Error(`${name}: classes ${missing.join(', ')} do not occur in the dataset (it has ${[...present].join(', ')})`);
}

/**
 * Split one dataset into tasks by class lists, e.g. Split-MNIST `[[0,1,2,3,4],[5,6,7,8,9]]`.
 * A class may belong to only one task.
 */
export function classIncremental(train: ImageDataset, test: ImageDataset, taskClasses: number[][]): Task[] {
  if (taskClasses.length === 0) throw new Error('classIncremental: at least one task is needed');
  const seen = new Set<number>();
  for (const cs of taskClasses) {
    if (cs.length === 0) throw new Error('classIncremental: a task has no classes');
    for (const c of cs) {
      if (seen.has(c)) throw new Error(`classIncremental: class ${c} appears in more than one task`);
      seen.add(c);
    }
  }
  checkClasses('classIncremental (train)', train, [...seen]);
  checkClasses('classIncremental (test)', test, [...seen]);
  return taskClasses.map((classes, id) => ({ id, classes: [...classes], train: train.filterClasses(classes), test: test.filterClasses(classes) }));
}

/** Split-MNIST as two tasks: digits 0-4, then 5-9. */
export function splitMNIST2(train: ImageDataset, test: ImageDataset): Task[] {
  return classIncremental(train, test, [[0, 1, 2, 3, 4], [5, 6, 7, 8, 9]]);
}

/** The common five-task split of a 10-class dataset: {0,1}, {2,3}, {4,5}, {6,7}, {8,9}. */
export function fiveTaskSplit(train: ImageDataset, test: ImageDataset): Task[] {
  return classIncremental(train, test, [[0, 1], [2, 3], [4, 5], [6, 7], [8, 9]]);
}

/**
 * Append another dataset's classes as new classes: task 0 is the whole base dataset, task 1 the
 * chosen classes of `other` relabelled to `newLabels` (e.g. CIFAR-10, then SVHN digits 7 and 8
 * as classes 10 and 11). Image shapes must match.
 */
export function appendDatasetClasses(
  base: { train: ImageDataset; test: ImageDataset },
  other: { train: ImageDataset; test: ImageDataset },
  classes: number[],
  newLabels: number[],
): Task[] {
  if (classes.length !== newLabels.length) throw new Error(`appendDatasetClasses: ${classes.length} classes but ${newLabels.length} new labels`);
  const b = base.train;
  for (const [name, ds] of [['train', other.train], ['test', other.test]] as const) {
    if (ds.channels !== b.channels || ds.height !== b.height || ds.width !== b.width) {
      throw new Error(`appendDatasetClasses: the other ${name} set has ${ds.channels}x${ds.height}x${ds.width} images, the base ${b.channels}x${b.height}x${b.width}`);
    }
  }
  const baseClasses = base.train.classes();
  const clash = newLabels.filter((l) => baseClasses.includes(l));
  if (clash.length) throw new Error(`appendDatasetClasses: new labels ${clash.join(', ')} are already base classes`);
  checkClasses('appendDatasetClasses (other train)', other.train, classes);
  const mapping = new Map(classes.map((c, i) => [c, newLabels[i]!]));
  const pick = (ds: ImageDataset) => ds.filterClasses(classes).remapLabels(mapping);
  return [
    { id: 0, classes: baseClasses, train: base.train, test: base.test },
    { id: 1, classes: [...newLabels], train: pick(other.train), test: pick(other.test) },
  ];
}
