// The side-by-side benchmark's workloads, defined once for every implementation (engram, the JS
// peers in bench/peers/*.mjs, PyTorch in bench/peers/torch_peer.py). A workload is plain data so it
// can be passed to another process as JSON.
//
// Models (all in training mode, cross-entropy with mean reduction, plain SGD lr 0.01, random
// normal inputs and random labels uploaded once before timing; one "run" = forward + backward +
// optimizer update, finished on the device):
//   ref        the model: conv3x3(3->32, pad 1)+BN+ReLU+maxpool2, conv3x3(32->64, pad 1)+BN+
//              ReLU+maxpool2, flatten (64*8*8 = 4096), linear(4096->10). Input [N, 3, 32, 32].
//   mnist-cnn  engram's MnistCNN: conv5x5(1->16)+ReLU+maxpool2, conv5x5(16->32)+ReLU+maxpool2,
//              flatten (512), linear(512->128)+ReLU, dropout 0.25, linear(128->10). Input [N, 1, 28, 28].
//   cifar-cnn  engram's CifarCNN: [conv3x3 c+BN+ReLU] x2 + maxpool2 + dropout 0.25 for c = 64, 128,
//              256 (all convs pad 1, with bias), flatten (4096), linear(4096->512)+ReLU, dropout 0.5,
//              linear(512->10). Input [N, 3, 32, 32].
// conv workloads: conv3x3, stride 1, pad 1, no bias, input [batch, cin, size, size], weight
// [cout, cin, 3, 3]. "forward" times y = conv(x, w); "forward+backward" times y and the gradients
// of sum(y * dy) with respect to x and w (dy a fixed random tensor), i.e. forward, grad-input and
// grad-weight.
// matmul workloads: C = A @ B with A, B [n, n] float32 random normal.

import type { LayerWorkload } from './layer-workloads.js';

export type ModelName = 'ref' | 'mnist-cnn' | 'cifar-cnn';

export type Workload =
  | { kind: 'matmul'; name: string; n: number; flops: number }
  | { kind: 'conv'; name: string; batch: number; cin: number; cout: number; size: number; backward: boolean; flops: number }
  | { kind: 'train'; name: string; model: ModelName; batch: number; flops: number }
  | LayerWorkload; // the layer benchmark's rows (bench/layer-workloads.ts)

function matmul(n: number): Workload {
  return { kind: 'matmul', name: `matmul ${n}x${n}x${n}`, n, flops: 2 * n ** 3 };
}

function conv(batch: number, cin: number, cout: number, size: number, backward: boolean): Workload {
  const fwd = 2 * batch * cout * size * size * cin * 9;
  return {
    kind: 'conv', name: `conv3x3 ${cin}->${cout} ${size}x${size} b${batch} ${backward ? 'fwd+bwd' : 'fwd'}`,
    batch, cin, cout, size, backward, flops: backward ? 3 * fwd : fwd,
  };
}

/** Forward FLOPs of one image through each model's convolutions and linears (2 per multiply-add). */
const forwardFlopsPerImage: Record<ModelName, number> = {
  ref: 2 * (32 * 3 * 9 * 32 * 32 + 64 * 32 * 9 * 16 * 16 + 4096 * 10),
  'mnist-cnn': 2 * (16 * 25 * 24 * 24 + 32 * 16 * 25 * 8 * 8 + 512 * 128 + 128 * 10),
  'cifar-cnn': 2 * (
    64 * 3 * 9 * 32 * 32 + 64 * 64 * 9 * 32 * 32 + 128 * 64 * 9 * 16 * 16 + 128 * 128 * 9 * 16 * 16 +
    256 * 128 * 9 * 8 * 8 + 256 * 256 * 9 * 8 * 8 + 4096 * 512 + 512 * 10),
};

function train(model: ModelName, batch: number): Workload {
  // Backward costs about twice the forward (grad-input + grad-weight).
  return { kind: 'train', name: `train step ${model} b${batch}`, model, batch, flops: 3 * batch * forwardFlopsPerImage[model] };
}

/** The CIFAR CNN's conv layer shapes (cin, cout, spatial size). */
export const cifarConvShapes: Array<[number, number, number]> = [
  [3, 64, 32], [64, 64, 32], [64, 128, 16], [128, 128, 16], [128, 256, 8], [256, 256, 8],
];

/**
 * Every workload, in the order the benchmark runs them. `convBatch` is the conv workloads' batch;
 * `matmulSizes` the square matmuls (larger ones show a real GPU's rate: 4096^3 is 137 GFLOP).
 */
export function allWorkloads(convBatch = 16, matmulSizes = [256, 512, 1024]): Workload[] {
  return [
    ...matmulSizes.map(matmul),
    ...cifarConvShapes.flatMap(([cin, cout, size]) => [conv(convBatch, cin, cout, size, false), conv(convBatch, cin, cout, size, true)]),
    train('ref', 64),
    train('mnist-cnn', 128),
    train('cifar-cnn', 32),
    train('cifar-cnn', 128),
  ];
}
