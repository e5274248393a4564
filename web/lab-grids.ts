// Shapes for the lab's checks (test/lab-coverage.test.ts, test/lab-owners.test.ts): per panel, parameters
// at which its dispatches span more than one workgroup.

/**
 * Shapes at which each panel's dispatches span more than one workgroup (the defaults are tiny and
 * mostly fit in one), so that the grid rules and element owners are checked where they can fail.
 */
export const GRID_PARAMS: Record<string, Record<string, number>> = {
  matmul: { M: 40, K: 5, N: 20 },
  gemm: { M: 72, K: 12, N: 68 },
  'gemm-rows': { M: 37, K: 8, N: 132 },
  linear: { rows: 20, in: 5, out: 20 },
  conv2d: { N: 2, C: 4, H: 16, W: 20, CO: 16 },
  conv2dDirect: { H: 12, W: 12 },
  convGrouped: { H: 10, W: 10 },
  convTranspose2d: { H: 9, W: 9 },
  conv2dGradWeightRows: { C: 9, CO: 12, H: 7, W: 7 }, // two channel blocks each way (CB 4), three row slices
  conv1d: { L: 301 }, // L % 4 != 0: the scalar grad-bias kernel (L = 300 would take the vec4 one)
  unary: { rows: 20, cols: 20 },
  binary: { rows: 20, cols: 20 },
  accumulate: { n: 300 },
  where: { rows: 20, cols: 20 },
  fused: { rows: 20, cols: 20 },
  reduce: { rows: 300, cols: 6 },
  maxDim: { rows: 300, cols: 6 },
  softmax: { rows: 300, cols: 5 },
  logSoftmax: { rows: 300, cols: 5 },
  crossEntropy: { rows: 300 },
  logsumexp: { rows: 300 },
  cumsum: { rows: 300 },
  sort: { rows: 300 },
  maxPool2d: { C: 4, H: 27, W: 27 },
  avgPool2d: { H: 25, W: 25 },
  adaptiveAvgPool2d: { H: 20, W: 20, OH: 12, OW: 12 },
  batchNorm: { H: 6, W: 6 },
  layerNorm: { N: 80, L: 5 }, // 320 short rows (layerNorm) and 160 (groupNorm): more than one 256-thread workgroup
  transpose: { rows: 20, cols: 20 },
  indexSelect: { cols: 70 },
  gather: { rows: 70 },
  embedding: { V: 2, E: 140, K: 2 },
  pad: { rows: 20, cols: 20 },
  oneHot: { n: 300 },
  dropout: { rows: 20, cols: 20 },
  random: { n: 300 },
  attention: { B: 2, L: 70 },
  optimizer: { n: 300 },
  codecs: { d: 600 },
  transforms: { B: 12, H: 12, W: 12 },
  augment: { B: 12, H: 12, W: 12 },
  rotate: { B: 12, H: 12, W: 12 },
  upsample: { B: 12, H: 12, W: 12 },
};

/** Kernels that run as one workgroup even at those shapes, each for a reason of the op. */
export const SINGLE_WORKGROUP: string[] = [
  'BN_EVAL_STATS_WGSL', // a thread per channel: one workgroup up to 256 channels
  'LOSS_COMBINE_WGSL', // a thread per loss value: one for a mean
];

