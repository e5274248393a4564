// Browser-side setup shared by test/browser/*.test.ts. The node project's test/helpers/gpu.ts
// refuses Dawn's null backend; here the only possible source is the page's navigator.gpu, and
// init() must find it (never a fallback, never a skip).
import { beforeAll } from 'vitest';
import { init, isInitialized, runtime, type Runtime } from '../../src/index.js';

export async function browserGPU(): Promise<Runtime> {
  if (isInitialized()) return runtime();
  const rt = await init();
  if (rt.info.source !== 'browser') throw new Error(`expected the browser's navigator.gpu, got source '${rt.info.source}'`);
  return rt;
}

/** Call at the top of a browser test file. */
export function useBrowserGPU(): void {
  beforeAll(async () => {
    await browserGPU();
  });
}
