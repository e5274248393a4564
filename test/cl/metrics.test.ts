import { describe, it, expect } from 'vitest';
import {
  accuracyMatrix, averageAccuracy, averageIncrementalAccuracy, forgetting, backwardTransfer, forwardTransfer,
  confusionMatrix, accuracyFromConfusion, accuracyVersusClasses,
} from '../../src/cl/index.js';

// R[i][j]: accuracy on task j after training task i. Task 0 improves after task 1 (0.90 -> 0.95), so
// forgetting (measured from the best earlier accuracy) and backward transfer (from the accuracy just
// after learning) disagree, which the hand computations below check.
const R = [
  [0.9, 0.1, 0.2],
  [0.95, 0.8, 0.15],
  [0.5, 0.7, 0.85],
];

describe('continual-learning metrics on a 3x3 matrix, computed by hand', () => {
  it('average accuracy = mean of the last row = (0.5 + 0.7 + 0.85) / 3', () => {
    expect(averageAccuracy(R)).toBeCloseTo(2.05 / 3, 12); // 0.683333
  });

  it('average incremental accuracy = mean(0.9, (0.95 + 0.8) / 2, (0.5 + 0.7 + 0.85) / 3)', () => {
    expect(averageIncrementalAccuracy(R)).toBeCloseTo((0.9 + 0.875 + 2.05 / 3) / 3, 12); // 0.819444
  });

  it('forgetting = mean(max(0.9, 0.95) - 0.5, max(0.1, 0.8) - 0.7) = mean(0.45, 0.1) = 0.275', () => {
    expect(forgetting(R)).toBeCloseTo(0.275, 12);
  });

  it('backward transfer = mean(0.5 - 0.9, 0.7 - 0.8) = -0.25', () => {
    expect(backwardTransfer(R)).toBeCloseTo(-0.25, 12);
  });

  it('forward transfer with baseline 0.1 = mean(R[0][1] - 0.1, R[1][2] - 0.1) = mean(0, 0.05) = 0.025', () => {
    expect(forwardTransfer(R, [0.1, 0.1, 0.1])).toBeCloseTo(0.025, 12);
  });

  it('a single task: accuracy is its entry, forgetting and transfers are 0; percentages keep their unit', () => {
    expect(averageAccuracy([[87]])).toBe(87);
    expect(averageIncrementalAccuracy([[87]])).toBe(87);
    expect(forgetting([[87]])).toBe(0);
    expect(backwardTransfer([[87]])).toBe(0);
    expect(forwardTransfer([[87]], [10])).toBe(0);
    expect(forgetting(R.map((r) => r.map((v) => v * 100)))).toBeCloseTo(27.5, 10);
  });

  it('accuracyMatrix makes a T x T matrix of zeros to fill in', () => {
    const M = accuracyMatrix(3);
    expect(M).toEqual([[0, 0, 0], [0, 0, 0], [0, 0, 0]]);
    M[2]![1] = 0.5;
    expect(M[1]![1]).toBe(0);
  });

  it('clear errors for malformed matrices', () => {
    expect(() => averageAccuracy([])).toThrow(/averageAccuracy: the accuracy matrix is empty/);
    expect(() => forgetting([[1, 2], [3]])).toThrow(/forgetting: the accuracy matrix must be 2 x 2.*row 1 has 1 entries/);
    expect(() => backwardTransfer([[NaN]])).toThrow(/R\[0\]\[0\] = NaN is not a finite number/);
    expect(() => forwardTransfer(R, [0.1])).toThrow(/one baseline accuracy per task \(3\), got 1/);
    expect(() => accuracyMatrix(0)).toThrow(/positive integer/);
  });
});

describe('confusionMatrix', () => {
  it('rows are true labels, columns predictions', () => {
    const labels = [0, 0, 1, 1, 1, 2, 2, 2, 2];
    const pred = Int32Array.from([0, 1, 1, 1, 2, 2, 0, 2, 2]);
    const C = confusionMatrix(pred, labels, 4);
    expect(C).toEqual([
      [1, 1, 0, 0],
      [0, 2, 1, 0],
      [1, 0, 3, 0],
      [0, 0, 0, 0],
    ]);
    expect(accuracyFromConfusion(C)).toBeCloseTo(6 / 9, 12);
    expect(accuracyFromConfusion(confusionMatrix([], [], 2))).toBe(0);
  });

  it('clear errors', () => {
    expect(() => confusionMatrix([0, 1], [0], 2)).toThrow(/2 predictions but 1 labels/);
    expect(() => confusionMatrix([0, 3], [0, 1], 3)).toThrow(/prediction 3 at index 1 is not a class in \[0, 3\)/);
    expect(() => confusionMatrix([0], [-1], 3)).toThrow(/label -1 at index 0/);
    expect(() => confusionMatrix([0], [0], 0)).toThrow(/numClasses must be a positive integer/);
  });
});

describe('accuracy versus classes seen (iCaRL/PyCIL curve), computed by hand', () => {
  // Tasks of 2, 3 and 5 classes with 100, 300 and 600 test images.
  it('x = 2, 5, 10 classes; sample-weighted y = 0.9, (95 + 240) / 400, (50 + 210 + 510) / 1000; task average beside it', () => {
    const c = accuracyVersusClasses(R, [2, 3, 5], [100, 300, 600]);
    expect(c.classes).toEqual([2, 5, 10]);
    expect(c.sampleWeighted[0]).toBeCloseTo(0.9, 12);
    expect(c.sampleWeighted[1]).toBeCloseTo(0.8375, 12);
    expect(c.sampleWeighted[2]).toBeCloseTo(0.77, 12);
    expect(c.taskAverage[1]).toBeCloseTo(0.875, 12);
    expect(c.taskAverage[2]).toBeCloseTo(2.05 / 3, 12);
  });

  it('equal test sets: the two conventions agree', () => {
    const c = accuracyVersusClasses(R, [2, 2, 2], [50, 50, 50]);
    c.sampleWeighted.forEach((v, i) => expect(v).toBeCloseTo(c.taskAverage[i]!, 12));
  });

  it('clear errors for a wrong number of class counts or a non-positive count', () => {
    expect(() => accuracyVersusClasses(R, [2, 3], [1, 1, 1])).toThrow(/one class count per task \(3\), got 2/);
    expect(() => accuracyVersusClasses(R, [2, 0, 1], [1, 1, 1])).toThrow(/class count of task 1 must be a positive integer/);
    expect(() => accuracyVersusClasses(R, [2, 2, 2], [1, 1])).toThrow(/one test-set size per task/);
  });
});
