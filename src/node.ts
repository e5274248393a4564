// Node-only helpers (file paths): dataset folders and checkpoint files. Browser code imports
// 'engram' and 'engram/data', which never reach node:fs.
export * from './data/node.js';
export { saveCheckpoint, loadCheckpoint } from './nn/checkpoint-node.js';
