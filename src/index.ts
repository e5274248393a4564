/**
 * engram: a from-scratch deep-learning engine on WebGPU. The package root holds everything that
 * runs in a browser; `engram/node` adds what needs a file system.
 * @module engram
 */
/// <reference types="@webgpu/types" preserve="true" />
// engram: a from-scratch deep-learning engine on WebGPU.
//
// The package root holds everything that runs in a browser: the engine, layers, optimizers, models,
// continual learning, the dataset readers that parse bytes, ImageDataset, DataLoader, GPU transforms
// and fit/evaluate. What needs a file system lives in 'engram/node'. The reference directive above
// makes the WebGPU types (GPUBuffer, GPUDevice, ...) that engram's declarations use visible to a
// consumer's TypeScript without any configuration.
export * from './engine/index.js';
export * from './optim/index.js';
export * from './nn/index.js';
export * from './models/index.js';
export * from './data/index.js';
export * from './cl/index.js';
export * from './train/index.js';
