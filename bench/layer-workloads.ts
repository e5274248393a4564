// The layer benchmark's workloads (`npm run bench:layers`, i.e. bench/compare.ts --suite layers): one
// small, realistic workload per layer added in issue 17, defined once as plain data for every
// implementation (engram: bench/engram-layers.ts, TensorFlow.js: bench/peers/tfjs-layers.mjs,
// PyTorch: bench/peers/torch_layers.py).
//
// Semantics, the same in every implementation (float32, PyTorch's layouts: NCHW / NCL; the tfjs peer
// uses its native NHWC / NWC, same work):
//   fwd      y = layer(x) with no autograd graph.
//   fwd+bwd  y = layer(x), then the gradients of sum(y * dy) (dy a fixed random tensor of y's shape)
//            with respect to x (not for Embedding's indices) and every parameter of the layer.
//   losses   fwd+bwd: loss = f(input, target) (mean reduction; KL divergence 'batchmean'), then its
//            gradient with respect to the input.
//   RMSprop  one optimizer step (lr 0.01, alpha 0.99, eps 1e-8) on a [rows, cols] weight and a [rows]
//            bias whose gradients are fixed random tensors.
// Layers are built with their library's defaults (initialization, affine norms, biases), inputs are
// random and uploaded once before timing. TransformerEncoderLayer runs in training mode (dropout 0.1).

/** Which layer a workload exercises. */
export type LayerName =
  | 'layerNorm' | 'groupNorm' | 'embedding'
  | 'gelu' | 'silu' | 'leakyRelu' | 'elu' | 'hardswish'
  | 'conv1d' | 'convTranspose2d' | 'depthwiseConv2d' | 'groupedConv2d' | 'conv2d'
  | 'sdpa' | 'multiheadAttention' | 'transformerEncoderLayer'
  | 'mseLoss' | 'l1Loss' | 'smoothL1Loss' | 'binaryCrossEntropy' | 'klDiv'
  | 'rmsprop';

/**
 * One row of the layer benchmark. `shape` is the input's shape (PyTorch layout; Embedding: the
 * indices'; RMSprop: the weight's [rows, cols]); `p` holds the layer's sizes, by layer:
 *   layerNorm {} (normalized over the last dim) | groupNorm { groups } | embedding { vocab, dim }
 *   conv* { cout, k, stride, pad, groups } (conv2d: the dense reference) | sdpa {} (shape [B, H, L, D]) | multiheadAttention { heads }
 *   transformerEncoderLayer { heads, ff, dropout } | activations, losses, rmsprop {}.
 */
export interface LayerWorkload {
  kind: 'layer';
  name: string;
  layer: LayerName;
  shape: number[];
  p: Record<string, number>;
  backward: boolean;
  /** Not counted for layers (they are memory-bound): 0. */
  flops: number;
}

const ACTIVATIONS = [['gelu', 'GELU'], ['silu', 'SiLU'], ['leakyRelu', 'LeakyReLU'], ['elu', 'ELU'], ['hardswish', 'Hardswish']] as const;
const LOSSES = [['mseLoss', 'mseLoss'], ['l1Loss', 'l1Loss'], ['smoothL1Loss', 'smoothL1Loss'], ['binaryCrossEntropy', 'binaryCrossEntropy'], ['klDiv', 'klDiv batchmean']] as const;

/**
 * Every layer workload, in the order the benchmark runs them: layers forward and forward+backward,
 * the losses forward+backward, one RMSprop step. `quick` shrinks every shape to a few hundred
 * elements (a smoke test: every implementation builds and runs every row), keeping the layer options.
 */
export function layerWorkloads(quick = false): LayerWorkload[] {
  const q = <T>(full: T, small: T): T => (quick ? small : full);
  const seq = q([8, 64, 128], [2, 8, 32]); // [batch, length, dModel] for the attention layers
  // `modes`: which of fwd (false) and fwd+bwd (true) to time (default both).
  const layers: Array<{ layer: LayerName; label: string; shape: number[]; p?: Record<string, number>; modes?: boolean[] }> = [
    { layer: 'layerNorm', label: 'LayerNorm(last dim)', shape: q([64, 128, 256], [2, 8, 32]) },
    { layer: 'groupNorm', label: 'GroupNorm(8 groups)', shape: q([32, 64, 28, 28], [2, 8, 6, 6]), p: { groups: 8 } },
    { layer: 'embedding', label: `Embedding(${q(10000, 50)}, ${q(128, 16)})`, shape: q([64, 128], [2, 8]), p: { vocab: q(10000, 50), dim: q(128, 16) } },
    ...ACTIVATIONS.map(([layer, label]) => ({ layer, label, shape: q([64, 128, 256], [2, 8, 32]) })),
    { layer: 'conv1d', label: `Conv1d ${q(64, 8)}->${q(128, 16)} k3 pad 1`, shape: q([32, 64, 256], [2, 8, 16]), p: { cout: q(128, 16), k: 3, stride: 1, pad: 1, groups: 1 } },
    { layer: 'convTranspose2d', label: `ConvTranspose2d ${q(64, 8)}->${q(32, 4)} k4 s2 pad 1`, shape: q([32, 64, 14, 14], [2, 8, 5, 5]), p: { cout: q(32, 4), k: 4, stride: 2, pad: 1, groups: 1 } },
    { layer: 'depthwiseConv2d', label: 'depthwise Conv2d 3x3 pad 1', shape: q([32, 64, 28, 28], [2, 8, 7, 7]), p: { cout: q(64, 8), k: 3, stride: 1, pad: 1, groups: q(64, 8) } },
    { layer: 'groupedConv2d', label: 'Conv2d 3x3 pad 1, groups 4', shape: q([32, 64, 28, 28], [2, 8, 7, 7]), p: { cout: q(64, 8), k: 3, stride: 1, pad: 1, groups: 4 } },
    // Not a new layer: the dense convolution on the same shape (4x the grouped one's multiply-adds,
    // 64x the depthwise one's), for reading the grouped and depthwise rows against engram's dense kernels.
    { layer: 'conv2d', label: 'Conv2d 3x3 pad 1, dense (reference)', shape: q([32, 64, 28, 28], [2, 8, 7, 7]), p: { cout: q(64, 8), k: 3, stride: 1, pad: 1, groups: 1 } },
    { layer: 'sdpa', label: 'scaledDotProductAttention', shape: q([8, 4, 64, 32], [2, 2, 8, 16]) },
    { layer: 'multiheadAttention', label: 'MultiheadAttention(4 heads), self', shape: seq, p: { heads: 4 } },
    { layer: 'transformerEncoderLayer', label: `TransformerEncoderLayer(4 heads, ff ${q(512, 64)}), train`, shape: seq, p: { heads: 4, ff: q(512, 64), dropout: 0.1 } },
    // Without dropout engram's attention inside the layer runs on the fused kernels (attention-weight
    // dropout is not in them, so with dropout in training it is composed of matmul and softmax).
    { layer: 'transformerEncoderLayer', label: `TransformerEncoderLayer(4 heads, ff ${q(512, 64)}, dropout 0), train`, shape: seq, p: { heads: 4, ff: q(512, 64), dropout: 0 }, modes: [true] },
  ];
  const lossShape = q([256, 1024], [4, 32]);
  const dims = (s: number[]) => `[${s.join(',')}]`;
  return [
    ...layers.flatMap(({ layer, label, shape, p, modes }) => (modes ?? [false, true]).map((backward): LayerWorkload => (
      { kind: 'layer', name: `${label} ${dims(shape)} ${backward ? 'fwd+bwd' : 'fwd'}`, layer, shape, p: p ?? {}, backward, flops: 0 }))),
    ...LOSSES.map(([layer, label]): LayerWorkload => (
      { kind: 'layer', name: `${label} ${dims(lossShape)} fwd+bwd`, layer, shape: lossShape, p: {}, backward: true, flops: 0 })),
    { kind: 'layer', name: `RMSprop step, weight ${dims(q([1024, 1024], [32, 32]))} + bias`, layer: 'rmsprop', shape: q([1024, 1024], [32, 32]), p: {}, backward: false, flops: 0 },
  ];
}
