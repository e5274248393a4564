// engram: a from-scratch deep-learning engine on WebGPU.
export * from './engine/index.js';
export * from './optim/index.js';
export * from './nn/index.js';
export * from './models/index.js';
export * from './cl/index.js';
export * from './train/index.js';
