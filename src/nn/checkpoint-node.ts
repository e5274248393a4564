// Node-only: save and load checkpoints as files. `node:fs` is imported dynamically so that browser
// bundles of engram never reach it.
//
// Two formats, both with PyTorch state_dict keys:
//   .safetensors            safetensors (saveStateDict / loadStateDictBytes)
//   .pt, .pth, .bin         PyTorch's torch.save zip format (saveTorchStateDict / loadTorchStateDictBytes);
//                           `.bin` because Hugging Face's pytorch_model.bin is torch.save output
// Saving picks the format from the extension and refuses any other. Loading goes by the file's
// contents, since a file's name may not say what it is (a zip is a torch.save file; anything else
// is read as safetensors unless the extension says PyTorch), so every error names what was found.

import { EngramError } from '../engine/runtime.js';
import type { Module } from './module.js';
import { saveStateDict, loadStateDictBytes } from './safetensors.js';
import { saveTorchStateDict, loadTorchStateDictBytes, type TorchLoadOptions } from './torch-format.js';
import { isZip } from './zip.js';

const TORCH_EXTENSIONS = ['.pt', '.pth', '.bin'];
const SAFETENSORS_EXTENSIONS = ['.safetensors'];

function extensionOf(path: string): string {
  const base = path.slice(Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\')) + 1);
  const dot = base.lastIndexOf('.');
  return dot > 0 ? base.slice(dot).toLowerCase() : '';
}

/**
 * Save a module's state dict to `path`: PyTorch's format for .pt/.pth/.bin (torch.load reads it),
 * safetensors for .safetensors. `metadata` (string pairs) is stored in safetensors files only.
 */
export async function saveCheckpoint(module: Module, path: string, metadata: Record<string, string> = {}): Promise<void> {
  const ext = extensionOf(path);
  let bytes: Uint8Array;
  if (SAFETENSORS_EXTENSIONS.includes(ext)) {
    bytes = await saveStateDict(module, metadata);
  } else if (TORCH_EXTENSIONS.includes(ext)) {
    if (Object.keys(metadata).length) {
      throw new EngramError(`saveCheckpoint(${path}): metadata can only be stored in .safetensors files (PyTorch's format has no place for it); save to a .safetensors path or drop the metadata`);
    }
    bytes = await saveTorchStateDict(module);
  } else {
    throw new EngramError(
      `saveCheckpoint(${path}): cannot tell the format from the extension '${ext}'; use ${TORCH_EXTENSIONS.join(', ')} for PyTorch's format (torch.load) or ${SAFETENSORS_EXTENSIONS.join(', ')} for safetensors`,
    );
  }
  const fs = await import('node:fs/promises');
  await fs.writeFile(path, bytes);
}

/**
 * Load a checkpoint file into a module (strict by default). torch.save files are recognized by
 * their zip signature, whatever their extension; `opts.key` picks the state dict inside a
 * torch.save'd training checkpoint such as {'model': state_dict, 'epoch': 3}.
 */
export async function loadCheckpoint(module: Module, path: string, opts: { strict?: boolean } & TorchLoadOptions = {}) {
  const fs = await import('node:fs/promises');
  const bytes = new Uint8Array(await fs.readFile(path));
  if (isZip(bytes) || TORCH_EXTENSIONS.includes(extensionOf(path))) return loadTorchStateDictBytes(module, bytes, path, opts);
  if (opts.key !== undefined) {
    throw new EngramError(`${path}: option key '${opts.key}' applies to PyTorch (torch.save) files only, and this file is not a zip archive; safetensors files hold the state dict at the top level`);
  }
  if (SAFETENSORS_EXTENSIONS.includes(extensionOf(path))) return loadStateDictBytes(module, bytes, path, opts);
  try {
    return loadStateDictBytes(module, bytes, path, opts);
  } catch (e) {
    // Neither the name nor a zip signature said PyTorch, so safetensors was a guess: if the file is
    // not safetensors either, say so (key and shape errors of a good file pass through unchanged).
    if (!(e as Error).message.includes('not a valid safetensors file')) throw e;
    throw new EngramError(`${(e as Error).message} (it is not a zip archive either, so not a torch.save file; engram reads ${[...TORCH_EXTENSIONS, ...SAFETENSORS_EXTENSIONS].join(', ')} checkpoints)`);
  }
}
