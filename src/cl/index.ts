// Continual learning: packed exemplar memory, replay buffers, metrics.
export * from './memory/half.js';
export * from './memory/codecs.js';
export * from './memory/gpu-codec.js';
export * from './memory/store.js';
export * from './buffers/sampling.js';
export * from './buffers/replay-buffer.js';
export * from './buffers/fifo.js';
export * from './buffers/reservoir.js';
export * from './buffers/class-balanced.js';
export * from './buffers/task-balanced.js';
export * from './metrics.js';
export * from './scenarios.js';
export { NCMHead } from './heads/ncm.js';
export { GaussianHead, type GaussianHeadOptions, type Discriminant } from './heads/gaussian.js';
export { cholesky, choleskySolve, solveSPD, inverseSPD } from './heads/linalg.js';
export { herdingSelect, herdingSelectTensor, type HerdingOptions } from './herding.js';
export * from './strategy.js';
