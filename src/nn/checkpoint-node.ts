// Node-only: save and load checkpoints as files. `node:fs` is imported dynamically so that browser
// bundles of engram never reach it.

import type { Module } from './module.js';
import { saveStateDict, loadStateDictBytes } from './safetensors.js';

/**
 * Node only: write the module's state dict to the file `path` in the safetensors format, with optional string
 * metadata.
 */
export async function saveCheckpoint(module: Module, path: string, metadata: Record<string, string> = {}): Promise<void> {
  const fs = await import('node:fs/promises');
  await fs.writeFile(path, await saveStateDict(module, metadata));
}

/**
 * Node only: read a safetensors file into the module's parameters and buffers, as `loadStateDict()` (strict
 * by default); returns the missing, unexpected and mis-shaped keys.
 */
export async function loadCheckpoint(module: Module, path: string, opts: { strict?: boolean } = {}) {
  const fs = await import('node:fs/promises');
  const bytes = new Uint8Array(await fs.readFile(path));
  return loadStateDictBytes(module, bytes, path, opts);
}
