// Runs inside headless Chromium: engram must find the browser's own WebGPU (navigator.gpu, never
// Dawn) and run a kernel on it.
import { describe, it, expect } from 'vitest';
import * as E from '../../src/index.js';
import { useBrowserGPU } from './helpers.js';

useBrowserGPU();

describe('engram in a browser', () => {
  it('init() finds navigator.gpu and reports the adapter', () => {
    expect(typeof navigator).toBe('object');
    expect(navigator.gpu, 'navigator.gpu (Chromium needs --enable-unsafe-webgpu)').toBeDefined();
    const info = E.adapterInfo();
    expect(info.source).toBe('browser');
    console.log(`browser WebGPU adapter: ${info.vendor} / ${info.architecture} / ${info.device} / ${info.description} (fallback: ${info.isFallbackAdapter}; shader-f16: ${info.features.includes('shader-f16') ? 'yes' : 'no'}; ${navigator.userAgent})`);
  });

  it('runs a kernel and reads the result back', async () => {
    const y = await E.scope(async () => E.add(E.tensor([1, 2, 3], [3]), E.tensor([10, 20, 30], [3])).toArray());
    expect(Array.from(y)).toEqual([11, 22, 33]);
  });
});
