/**
 * The Node-only helpers: dataset folders in torchvision's layout and checkpoint files.
 * @module engram/node
 */
/// <reference types="@webgpu/types" preserve="true" />
// engram/node: the Node-only helpers, which take file paths: dataset folders in torchvision's
// layout and checkpoint files. Everything else (and everything that runs in a browser) is in the
// package root 'engram', which never reaches node:fs.
export * from './data/node.js';
export { saveCheckpoint, loadCheckpoint } from './nn/checkpoint-node.js';
export { fileLineSink } from './cl/loggers-node.js';
