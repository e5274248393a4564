// One GPU device per test file. Fails loudly (never skips) when no real adapter is available.
import { beforeAll } from 'vitest';
import { init, isInitialized, runtime, type Runtime } from '../../src/index.js';

export async function gpu(): Promise<Runtime> {
  if (isInitialized()) return runtime();
  const rt = await init();
  if (/null/i.test(rt.info.description) && !/llvmpipe|swiftshader/i.test(rt.info.description)) {
    throw new Error(`refusing to test on Dawn's null backend (${rt.info.description}): it does not execute kernels`);
  }
  return rt;
}

/** Call at the top of a test file that needs the GPU. */
export function useGPU(): void {
  beforeAll(async () => {
    await gpu();
  });
}
