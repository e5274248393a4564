// Every op, in one namespace. Tensor methods and the public API forward here.
export * from './elementwise.js';
export * from './fill.js';
export * from './reduce.js';
export * from './matmul.js';
export * from './shape-ops.js';
export * from './softmax.js';
export * from './losses.js';
export { backward, zeroGrad } from '../autograd.js';
export * from './conv.js';
export * from './batchnorm.js';
export * from './norm.js';
export * from './embedding.js';
export * from './stats.js';
export * from './pad.js';
export * from './sort.js';
export * from './pool.js';
export * from './dropout.js';
export * from './fuse.js';
