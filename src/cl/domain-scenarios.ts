// Domain-incremental scenarios: every task has the same classes (all of the base dataset's), and the
// input distribution changes from task to task by a fixed transform: a pixel permutation (Permuted
// MNIST) or a rotation (Rotated MNIST), as in Avalanche's PermutedMNIST and RotatedMNIST.
//
// Each task's images are made once, when the scenario is built: the base images go through the
// task's GPU transform in chunks and are read back as 8-bit images. So every strategy sees the task as
// an ordinary ImageDataset (replay memories store its raw 8-bit pixels, as for any task), and the
// transform is never re-run per batch. A permutation and a nearest rotation only move pixels, so the
// 8-bit result is exact; a bilinear rotation is rounded to the nearest 8-bit value (as rotating a PIL
// image does). Evaluate with runScenario's default setting: no task label is given.

import { EngramError } from '../engine/runtime.js';
import { tensor } from '../engine/tensor.js';
import { Generator } from '../engine/random.js';
import { ImageDataset } from '../data/dataset.js';
import type { GpuTransform } from '../data/transforms.js';
import { permutePixels, rotate, type RotateInterpolation } from '../data/domain-transforms.js';
import type { Task } from './scenarios.js';

/** Images per GPU chunk when a task's images are made (bounds the upload and the readback). */
const CHUNK = 4096;

/**
 * The base dataset's images through `transform` (on the GPU, in chunks), read back as 8-bit images:
 * round(255 v) clamped to [0, 255]. Labels and class names are kept. The output shape must equal the input's.
 */
export async function transformDataset(ds: ImageDataset, transform: GpuTransform): Promise<ImageDataset> {
  const shape = [ds.channels, ds.height, ds.width] as const;
  const outShape = transform.outputShape(shape);
  if (outShape.some((n, i) => n !== shape[i])) throw new EngramError(`transformDataset: '${transform.name}' changes the image shape ${shape.join('x')} to ${outShape.join('x')}; a domain-incremental task keeps the shape`);
  const d = ds.imageSize;
  const images = new Uint8Array(ds.length * d);
  const gen = new Generator(0); // unused by deterministic transforms; a random one draws from a fixed seed
  for (let lo = 0; lo < ds.length; lo += CHUNK) {
    const n = Math.min(CHUNK, ds.length - lo);
    const src = ds.images.subarray(lo * d, (lo + n) * d);
    const f = new Float32Array(n * d);
    for (let i = 0; i < f.length; i++) f[i] = src[i]! / 255;
    const x = tensor(f, [n, ...shape]);
    const y = transform.apply(x, gen);
    x.dispose();
    const v = await y.toArray();
    y.dispose();
    for (let i = 0; i < v.length; i++) images[lo * d + i] = Math.min(255, Math.max(0, Math.round(v[i]! * 255)));
  }
  return new ImageDataset({ images, labels: ds.labels, channels: ds.channels, height: ds.height, width: ds.width, classNames: ds.classNames });
}

/**
 * A domain-incremental scenario: task t is the whole base train/test data through `transforms[t]`, with
 * all of the base dataset's classes (the same in every task).
 */
export async function domainIncremental(train: ImageDataset, test: ImageDataset, transforms: readonly GpuTransform[]): Promise<Task[]> {
  if (!Array.isArray(transforms) || transforms.length === 0) throw new EngramError('domainIncremental: at least one task transform is needed');
  if (train.channels !== test.channels || train.height !== test.height || train.width !== test.width) {
    throw new EngramError(`domainIncremental: train images are ${train.channels}x${train.height}x${train.width}, test images ${test.channels}x${test.height}x${test.width}`);
  }
  const classes = train.classes();
  const tasks: Task[] = [];
  for (let id = 0; id < transforms.length; id++) {
    const t = transforms[id]!;
    tasks.push({ id, classes: [...classes], train: await transformDataset(train, t), test: await transformDataset(test, t), transform: t });
  }
  return tasks;
}

/**
 * The pixel permutations of `permutedMNIST`: `tasks` permutations of `pixels` positions, drawn from
 * engram's Generator seeded with `seed` (one after another), every task permuted, the first included
 * (as Avalanche's PermutedMNIST does).
 */
export function pixelPermutations(pixels: number, tasks: number, seed: number): Int32Array[] {
  if (!Number.isInteger(tasks) || tasks < 1) throw new EngramError(`pixelPermutations: tasks must be a positive integer, got ${tasks}`);
  if (!Number.isInteger(seed)) throw new EngramError(`pixelPermutations: seed must be an integer, got ${seed}`);
  const g = new Generator(seed);
  return Array.from({ length: tasks }, () => g.permutation(pixels));
}

/**
 * Permuted MNIST (or any image dataset): `tasks` tasks, each the whole dataset under its own fixed,
 * seeded pixel permutation (`pixelPermutations(H*W, tasks, seed)`); the same 10 classes in every task.
 */
export async function permutedMNIST(train: ImageDataset, test: ImageDataset, opts: { tasks: number; seed?: number }): Promise<Task[]> {
  if (!opts || typeof opts !== 'object') throw new EngramError('permutedMNIST: options { tasks, seed } are required');
  const perms = pixelPermutations(train.height * train.width, opts.tasks, opts.seed ?? 0);
  return domainIncremental(train, test, perms.map((p) => permutePixels(p)));
}

/**
 * Rotated MNIST (or any image dataset): one task per angle in `angles` (degrees, counter-clockwise), each
 * the whole dataset rotated about the image centre; 'nearest' (default, Avalanche's) or 'bilinear'.
 */
export async function rotatedMNIST(train: ImageDataset, test: ImageDataset, opts: { angles: readonly number[]; interpolation?: RotateInterpolation }): Promise<Task[]> {
  if (!opts || !Array.isArray(opts.angles) || opts.angles.length === 0) throw new EngramError('rotatedMNIST: options need angles, e.g. { angles: [0, 30, 60, 90, 120] }');
  return domainIncremental(train, test, opts.angles.map((a) => rotate(a, { interpolation: opts.interpolation })));
}
