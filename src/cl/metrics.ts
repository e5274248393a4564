// Continual-learning metrics over an accuracy matrix R: R[i][j] is the accuracy on task j (test set)
// after training on tasks 0..i, for T tasks (a T x T matrix; entries above the diagonal are the
// accuracy on tasks not trained yet, used only by forward transfer). Accuracies may be fractions or
// percentages; every metric is in the same unit as R.
//
// Definitions (0-based, T tasks):
//   averageAccuracy            A_T  = mean_j R[T-1][j]                          (final average accuracy)
//   averageIncrementalAccuracy      = mean_i ( mean_{j<=i} R[i][j] )            (Rebuffi et al., iCaRL)
//   forgetting                 F_T  = mean_{j<T-1} ( max_{l<T-1} R[l][j] - R[T-1][j] )   (Chaudhry et al. 2018)
//   backwardTransfer           BWT  = mean_{j<T-1} ( R[T-1][j] - R[j][j] )       (Lopez-Paz & Ranzato 2017)
//   forwardTransfer            FWT  = mean_{j>=1} ( R[j-1][j] - b[j] )           (Lopez-Paz & Ranzato 2017;
//                                      b[j]: accuracy on task j of the model before any training)
// With a single task, forgetting and the transfers have no old task to average over and are 0.

import { EngramError } from '../engine/runtime.js';

/** R[i][j]: accuracy on task j after training task i. */
export type AccuracyMatrix = readonly (readonly number[])[];

function checkMatrix(R: AccuracyMatrix, fn: string): number {
  const T = R.length;
  if (T === 0) throw new EngramError(`${fn}: the accuracy matrix is empty`);
  R.forEach((row, i) => {
    if (row.length !== T) throw new EngramError(`${fn}: the accuracy matrix must be ${T} x ${T} (one row and column per task); row ${i} has ${row.length} entries`);
    row.forEach((v, j) => {
      if (!Number.isFinite(v)) throw new EngramError(`${fn}: R[${i}][${j}] = ${v} is not a finite number`);
    });
  });
  return T;
}

function mean(xs: number[]): number {
  return xs.length === 0 ? 0 : xs.reduce((a, b) => a + b, 0) / xs.length;
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

/** A T x T matrix of zeros to fill in as training goes (`R[i][j] = acc`). */
export function accuracyMatrix(T: number): number[][] {
  if (!Number.isInteger(T) || T < 1) throw new EngramError(`accuracyMatrix: the number of tasks must be a positive integer, got ${T}`);
  return range(T).map(() => new Array<number>(T).fill(0));
}

/** Mean accuracy over all tasks after training the last one (mean of the last row). */
export function averageAccuracy(R: AccuracyMatrix): number {
  const T = checkMatrix(R, 'averageAccuracy');
  return mean([...R[T - 1]!]);
}

/** Mean over training stages i of the mean accuracy on the tasks seen so far, R[i][0..i]. */
export function averageIncrementalAccuracy(R: AccuracyMatrix): number {
  const T = checkMatrix(R, 'averageIncrementalAccuracy');
  return mean(range(T).map((i) => mean(R[i]!.slice(0, i + 1))));
}

/** Average forgetting (Chaudhry et al.): how far each old task fell from its best accuracy before the last task. */
export function forgetting(R: AccuracyMatrix): number {
  const T = checkMatrix(R, 'forgetting');
  const last = R[T - 1]!;
  return mean(range(T - 1).map((j) => Math.max(...range(T - 1).map((l) => R[l]![j]!)) - last[j]!));
}

/** Backward transfer (Lopez-Paz & Ranzato): mean change on each old task from just after learning it to the end. Negative = forgetting. */
export function backwardTransfer(R: AccuracyMatrix): number {
  const T = checkMatrix(R, 'backwardTransfer');
  return mean(range(T - 1).map((j) => R[T - 1]![j]! - R[j]![j]!));
}

/**
 * Forward transfer (Lopez-Paz & Ranzato): mean accuracy on each task j >= 1 just before training it,
 * R[j-1][j], above `baseline[j]`, the accuracy of the untrained model on task j (T entries; entry 0
 * is unused).
 */
export function forwardTransfer(R: AccuracyMatrix, baseline: readonly number[]): number {
  const T = checkMatrix(R, 'forwardTransfer');
  if (baseline.length !== T) throw new EngramError(`forwardTransfer: needs one baseline accuracy per task (${T}), got ${baseline.length}`);
  return mean(range(T).slice(1).map((j) => R[j - 1]![j]! - baseline[j]!));
}

/**
 * Counts C[t][p] of examples with true label t predicted as p (rows: true labels, as in scikit-learn
 * and torchmetrics). Labels and predictions must lie in [0, numClasses).
 */
export function confusionMatrix(pred: ArrayLike<number>, labels: ArrayLike<number>, numClasses: number): number[][] {
  if (!Number.isInteger(numClasses) || numClasses < 1) throw new EngramError(`confusionMatrix: numClasses must be a positive integer, got ${numClasses}`);
  if (pred.length !== labels.length) throw new EngramError(`confusionMatrix: ${pred.length} predictions but ${labels.length} labels`);
  const C = range(numClasses).map(() => new Array<number>(numClasses).fill(0));
  for (let i = 0; i < pred.length; i++) {
    const p = pred[i]!;
    const t = labels[i]!;
    for (const [what, v] of [['prediction', p], ['label', t]] as const) {
      if (!Number.isInteger(v) || v < 0 || v >= numClasses) throw new EngramError(`confusionMatrix: ${what} ${v} at index ${i} is not a class in [0, ${numClasses})`);
    }
    C[t]![p] = C[t]![p]! + 1;
  }
  return C;
}

/** Fraction of correct predictions in a confusion matrix (trace / total; 0 for an empty matrix). */
export function accuracyFromConfusion(C: readonly (readonly number[])[]): number {
  let correct = 0;
  let total = 0;
  C.forEach((row, t) => row.forEach((n, p) => {
    total += n;
    if (t === p) correct += n;
  }));
  return total === 0 ? 0 : correct / total;
}

/**
 * Accuracy over all the test images of the tasks seen so far, after each stage i:
 * sum_{j<=i} R[i][j] n_j / sum_{j<=i} n_j, with n_j the size of task j's test set (the
 * sample-weighted convention of iCaRL and PyCIL; equal to the mean of R[i][0..i] when the test sets
 * are equally large). One value per stage.
 */
export function seenClassesAccuracy(R: AccuracyMatrix, testSizes: readonly number[]): number[] {
  const T = checkMatrix(R, 'seenClassesAccuracy');
  if (testSizes.length !== T) throw new EngramError(`seenClassesAccuracy: needs one test-set size per task (${T}), got ${testSizes.length}`);
  testSizes.forEach((n, j) => {
    if (!(Number.isInteger(n) && n > 0)) throw new EngramError(`seenClassesAccuracy: test-set size ${j} must be a positive integer, got ${n}`);
  });
  return range(T).map((i) => {
    let correct = 0;
    let total = 0;
    for (let j = 0; j <= i; j++) {
      correct += R[i]![j]! * testSizes[j]!;
      total += testSizes[j]!;
    }
    return correct / total;
  });
}

/**
 * Accuracy against the number of classes seen, the curve iCaRL and PyCIL plot: after stage i the model
 * has seen classes[0] + ... + classes[i] classes (x), and is scored two ways (y):
 *  - `sampleWeighted`: accuracy over every test image of the classes seen so far (seenClassesAccuracy);
 *  - `taskAverage`: the mean of the per-task accuracies R[i][0..i] (the average-incremental convention).
 * The two agree when the seen tasks' test sets are equally large.
 */
export interface AccuracyVersusClasses {
  /** Classes seen after each stage (cumulative sum of the tasks' class counts). */
  classes: number[];
  /** Sample-weighted accuracy over all seen classes, one per stage. */
  sampleWeighted: number[];
  /** Mean of the per-task accuracies of the seen tasks, one per stage. */
  taskAverage: number[];
}

/**
 * The accuracy-versus-classes curve (see `AccuracyVersusClasses`) from the accuracy matrix, each task's
 * number of classes and each task's test-set size (T entries each).
 */
export function accuracyVersusClasses(R: AccuracyMatrix, classesPerTask: readonly number[], testSizes: readonly number[]): AccuracyVersusClasses {
  const T = checkMatrix(R, 'accuracyVersusClasses');
  if (classesPerTask.length !== T) throw new EngramError(`accuracyVersusClasses: needs one class count per task (${T}), got ${classesPerTask.length}`);
  classesPerTask.forEach((n, j) => {
    if (!(Number.isInteger(n) && n > 0)) throw new EngramError(`accuracyVersusClasses: class count of task ${j} must be a positive integer, got ${n}`);
  });
  let seen = 0;
  return {
    classes: classesPerTask.map((n) => (seen += n)),
    sampleWeighted: seenClassesAccuracy(R, testSizes),
    taskAverage: range(T).map((i) => mean(R[i]!.slice(0, i + 1))),
  };
}
