// One GPU device per test file. Fails loudly (never skips) when no real adapter is available.
import { beforeAll } from 'vitest';
import { init, isInitialized, runtime, type Runtime, type AdapterDescription } from '../../src/index.js';

/** Dawn's null backend validates and compiles but executes nothing: a test run on it proves nothing. */
export function assertExecutingAdapter(info: AdapterDescription): void {
  if (/null/i.test(info.description) && !/llvmpipe|swiftshader/i.test(info.description)) {
    throw new Error(`refusing to test on Dawn's null backend (${info.description}): it does not execute kernels; install a real (software) Vulkan driver`);
  }
}

export async function gpu(): Promise<Runtime> {
  if (isInitialized()) return runtime();
  const rt = await init();
  assertExecutingAdapter(rt.info);
  return rt;
}

/** Call at the top of a test file that needs the GPU. */
export function useGPU(): void {
  beforeAll(async () => {
    await gpu();
  });
}
