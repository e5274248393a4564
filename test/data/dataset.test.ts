import { describe, it, expect } from 'vitest';
import { ImageDataset } from '../../src/data/index.js';
import { errorOf } from './fixtures.js';

/** n images of 2x2x2 whose pixels all equal 10 * image index + channel, labelled `labels`. */
function tiny(labels: number[], classNames?: string[]): ImageDataset {
  const images = new Uint8Array(labels.length * 8);
  for (let i = 0; i < labels.length; i++) for (let k = 0; k < 8; k++) images[i * 8 + k] = 10 * i + (k >> 2);
  return new ImageDataset({ images, labels, channels: 2, height: 2, width: 2, classNames });
}

describe('ImageDataset', () => {
  it('holds NCHW pixels and one label per image; image(i) is a view of image i', () => {
    const d = tiny([3, 1, 4]);
    expect(d.length).toBe(3);
    expect(d.imageSize).toBe(8);
    expect(Array.from(d.image(2))).toEqual([20, 20, 20, 20, 21, 21, 21, 21]);
    expect(d.image(2).buffer).toBe(d.images.buffer);
    expect(d.labels).toBeInstanceOf(Int32Array);
    expect(d.label(1)).toBe(1);
  });

  it('refuses pixel data that does not match the label count and image shape', () => {
    expect(errorOf(() => new ImageDataset({ images: new Uint8Array(10), labels: [0, 1], channels: 1, height: 2, width: 2 }))).toBe(
      'ImageDataset: 2 labels of 1x2x2 images need 8 pixel bytes, got 10',
    );
    expect(errorOf(() => new ImageDataset({ images: new Uint8Array(0), labels: [], channels: 0, height: 2, width: 2 }))).toMatch(/channels must be a positive integer/);
    expect(errorOf(() => new ImageDataset({ images: new Uint8Array(4), labels: [0.5], channels: 1, height: 2, width: 2 }))).toMatch(/label 0.5 at index 0/);
  });

  it('classes() lists the distinct labels in ascending order', () => {
    expect(tiny([7, 2, 7, 11, 2, 0]).classes()).toEqual([0, 2, 7, 11]);
    expect(tiny([]).classes()).toEqual([]);
  });

  it('subset(indices) copies the chosen images and labels, in the given order, repeats allowed', () => {
    const d = tiny([5, 6, 7, 8], ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i']);
    const s = d.subset([3, 0, 3]);
    expect(Array.from(s.labels)).toEqual([8, 5, 8]);
    expect(s.image(0)[0]).toBe(30);
    expect(s.image(1)[0]).toBe(0);
    expect(s.classNames).toBe(d.classNames);
    s.images[0] = 99;
    expect(d.images[3 * 8]).toBe(30); // a copy, not a view
  });

  it('subset and image refuse an index out of range, naming the index and the length', () => {
    const d = tiny([1, 2, 3]);
    expect(errorOf(() => d.subset([0, 3]))).toBe('subset: index 3 is out of range for a dataset of length 3');
    expect(errorOf(() => d.subset([-1]))).toBe('subset: index -1 is out of range for a dataset of length 3');
    expect(errorOf(() => d.image(1.5))).toBe('image: index 1.5 is out of range for a dataset of length 3');
  });

  it('filterClasses keeps only samples whose label is listed, in their original order', () => {
    const d = tiny([0, 1, 2, 1, 0, 2]);
    const f = d.filterClasses([2, 0]);
    expect(Array.from(f.labels)).toEqual([0, 2, 0, 2]);
    expect(Array.from(f.images.filter((_, k) => k % 8 === 0))).toEqual([0, 20, 40, 50]);
    expect(d.filterClasses([9]).length).toBe(0);
  });

  it('remapLabels maps listed labels and keeps the rest (SVHN 7 -> 10, 8 -> 11)', () => {
    const d = tiny([7, 8, 3, 7], ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
    const fromRecord = d.remapLabels({ 7: 10, 8: 11 });
    const fromMap = d.remapLabels(new Map([[7, 10], [8, 11]]));
    expect(Array.from(fromRecord.labels)).toEqual([10, 11, 3, 10]);
    expect(Array.from(fromMap.labels)).toEqual([10, 11, 3, 10]);
    expect(Array.from(d.labels)).toEqual([7, 8, 3, 7]); // the original is untouched
    expect(fromRecord.classNames).toBeUndefined(); // the old names would no longer match the labels
    expect(d.remapLabels({ 7: 10 }, ['x']).classNames).toEqual(['x']);
    expect(errorOf(() => d.remapLabels({ 7: 1.5 }))).toBe('remapLabels: mapping 7 -> 1.5 is not between 32-bit integers');
  });

  it('concat puts datasets one after another', () => {
    const a = tiny([1, 2], ['x', 'y', 'z']);
    const b = tiny([0], ['x', 'y', 'z']);
    const c = ImageDataset.concat([a, b, a]);
    expect(Array.from(c.labels)).toEqual([1, 2, 0, 1, 2]);
    expect(c.image(2)[0]).toBe(0);
    expect(c.image(4)[0]).toBe(10);
    expect(c.classNames).toEqual(['x', 'y', 'z']);
    expect(ImageDataset.concat([a, tiny([0], ['other'])]).classNames).toBeUndefined();
  });

  it('concat refuses datasets of different image shapes, and an empty list', () => {
    const gray = new ImageDataset({ images: new Uint8Array(4), labels: [0], channels: 1, height: 2, width: 2 });
    expect(errorOf(() => ImageDataset.concat([tiny([0]), gray]))).toBe('ImageDataset.concat: dataset 1 has 1x2x2 images but dataset 0 has 2x2x2');
    expect(errorOf(() => ImageDataset.concat([]))).toBe('ImageDataset.concat: needs at least one dataset');
  });
});
