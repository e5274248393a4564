// Every op, in one namespace. Tensor methods and the public API forward here. Helpers the ops share
// among themselves (applyBinary, pointwiseLoss, checkGeluApproximate, useSortedBackward) stay out:
// they are internal, not API.
export {
  neg, exp, log, sqrt, relu, abs, sigmoid, tanh, pow, gelu, silu, leakyRelu, elu, softplus, hardswish, clamp,
  add, sub, mul, div, maximum, minimum, eq, where, sumTo, sumToKernels, addInPlace_, reluBackwardFromOutput,
  UNARY_OPS, BINARY_OPS, type GeluOptions,
} from './elementwise.js';
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
export { embedding } from './embedding.js';
export * from './stats.js';
export * from './pad.js';
export * from './sort.js';
export * from './pool.js';
export * from './dropout.js';
export * from './fuse.js';
export * from './attention.js';
