// The lab's op panels, part 3: the data kernels added for continual learning — the contrastive
// augmentations (random resized crop, colour jitter, random grayscale), image rotation (Rotated
// MNIST) and the block upsampling of downscaled exemplars. None has a backward; each is checked
// against its float64 reference in test/reference (the same seeded Generator draws on both sides).

import * as E from '../src/index.js';
import { arr, map, type Arr } from '../test/reference/arr.js';
import { randomResizedCropRef, colorJitterRef, randomGrayscaleRef } from '../test/reference/augment.js';
import { rotateReference } from '../test/reference/domain-transforms.js';
import { upsampleGpu } from '../src/cl/memory/downscale.js';
import { randomArr, type OpCase } from './lab-ops.js';
import { setGrayMeanImages } from './lab-rules.js';

const JITTER: Record<string, [number, number, number]> = { brightness: [0.5, 0, 0], contrast: [0, 0.5, 0], saturation: [0, 0, 0.5] };
const rotation = (v: string): [number, 'nearest' | 'bilinear'] => [37, v.startsWith('bilinear') ? 'bilinear' : 'nearest'];

/** Block upsampling in float64: out[b, c, y, x] = x[b, c, ⌊y / f⌋, ⌊x / f⌋] for an H × W output. */
function upsampleBlockRef(x: Arr, H: number, W: number, f: number): Arr {
  const [B, C, h, w] = x.shape as [number, number, number, number];
  const out = arr([B, C, H, W]);
  for (let pl = 0; pl < B * C; pl++) {
    for (let y = 0; y < H; y++) for (let xx = 0; xx < W; xx++) out.data[(pl * H + y) * W + xx] = x.data[(pl * h + Math.floor(y / f)) * w + Math.floor(xx / f)]!;
  }
  return out;
}

/** The panels of part 3, in page order. */
export const DATA_CASES: OpCase[] = [
  {
    id: 'augment', title: 'contrastive augmentations', family: 'augment',
    about: 'SCR / SimCLR augmentations on a [B, 3, H, W] batch in [0, 1]: random resized crop (a window per image, bilinear to the output size), colour jitter (brightness, contrast towards the image\'s gray mean from a one-workgroup-per-image kernel, saturation towards each pixel\'s gray) and random grayscale. Windows, factors and flags are drawn on the CPU from a seeded Generator, the same in the reference.',
    kernels: ['RESIZED_CROP_WGSL', 'GRAY_MEAN_WGSL', 'COLOR_JITTER_WGSL', 'GRAYSCALE_WGSL'],
    params: { B: 2, H: 5, W: 6 },
    variants: ['randomResizedCrop to 4×4', 'brightness', 'contrast', 'saturation', 'randomGrayscale(0.5)'],
    inputs: (p, r) => [{ name: 'x', value: randomArr([p.B!, 3, p.H!, p.W!], r, 0, 1), grad: false }],
    gpu: ([x], _p, v) => {
      const g = new E.Generator(5);
      if (v.startsWith('randomResizedCrop')) return E.randomResizedCrop(4, { scale: [0.2, 1] }).apply(x!, g);
      if (v.startsWith('randomGrayscale')) return E.randomGrayscale(0.5).apply(x!, g);
      setGrayMeanImages(x!.shape[0]!); // the mean kernel's grid (a workgroup per image) is not in its parameters
      return E.colorJitter(...JITTER[v]!, { p: 1 }).apply(x!, g);
    },
    ref: ([x], _p, v) => {
      const g = new E.Generator(5);
      if (v.startsWith('randomResizedCrop')) return randomResizedCropRef(x!, 4, 4, [0.2, 1], [3 / 4, 4 / 3], g);
      if (v.startsWith('randomGrayscale')) return randomGrayscaleRef(x!, 0.5, g);
      return colorJitterRef(x!, JITTER[v]!, 1, g);
    },
  },
  {
    id: 'rotate', title: 'image rotation', family: 'rotate',
    about: 'Rotated MNIST\'s transform: every plane turned counter-clockwise by θ about its centre; output pixel (x, y) samples the input at the point turned back by θ, nearest (torchvision\'s default) or bilinear, 0 outside the image. One thread per output pixel.',
    kernels: ['ROTATE_WGSL'],
    params: { B: 2, C: 1, H: 5, W: 6 },
    variants: ['nearest, 37°', 'bilinear, 37°'],
    inputs: (p, r) => [{ name: 'x', value: randomArr([p.B!, p.C!, p.H!, p.W!], r), grad: false }],
    gpu: ([x], _p, v) => { const [deg, interpolation] = rotation(v); return E.rotate(deg, { interpolation }).apply(x!); },
    ref: ([x], _p, v) => {
      const [deg, interpolation] = rotation(v);
      return arr(x!.shape, rotateReference(x!.data, x!.shape as [number, number, number, number], deg, interpolation));
    },
  },
  {
    id: 'upsample', title: 'exemplar upsampling (block)', family: 'upsample',
    about: 'Downscaled replay exemplars are stored at 1/f of their size (area averages of f × f blocks) and resized back when replayed; the block mode gives every pixel the value of the block it was averaged into: y[b, c, y, x] = x[b, c, ⌊y / f⌋, ⌊x / f⌋]. (The bilinear mode is the image transforms\' resize kernel.)',
    kernels: ['UPSAMPLE_BLOCK_WGSL'],
    params: { B: 2, C: 2, H: 5, W: 7, f: 2 },
    variants: ['nearest (block)'],
    inputs: (p, r) => [{ name: 'x', value: randomArr([p.B!, p.C!, Math.ceil(p.H! / p.f!), Math.ceil(p.W! / p.f!)], r), grad: false }],
    gpu: ([x], p) => upsampleGpu(x!, [p.C!, p.H!, p.W!], p.f!, 'nearest'),
    ref: ([x], p) => upsampleBlockRef(map(x!, (v) => v), p.H!, p.W!, p.f!),
  },
];
