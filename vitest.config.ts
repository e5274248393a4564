import { defineConfig } from 'vitest/config';
import { playwright } from '@vitest/browser-playwright';
import { nodeProject } from './vitest.node.config.js';

// Two projects, both run by `npx vitest run` (select one with `--project node|browser`):
//  - node: the whole suite in Node on Dawn (npm `webgpu`) over a software Vulkan driver
//    (defined in vitest.node.config.ts, which also runs it alone);
//  - browser: test/browser/** inside headless Chromium, on the browser's own navigator.gpu
//    (SwiftShader when there is no GPU). The browser is Debian's `chromium` (scripts/setup-browser.sh);
//    Playwright only drives it and never downloads one.
const CHROMIUM = process.env.ENGRAM_CHROMIUM ?? '/usr/bin/chromium';

export default defineConfig({
  test: {
    reporters: ['default'],
    projects: [
      nodeProject,
      {
        test: {
          name: 'browser',
          include: ['test/browser/**/*.test.ts'],
          // SwiftShader compiles a pipeline in up to ~1 s and runs ~0.08 GFLOP/s.
          testTimeout: 120_000,
          hookTimeout: 60_000,
          // One page at a time: every file compiles its own pipelines on a single software GPU.
          fileParallelism: false,
          browser: {
            enabled: true,
            headless: true,
            ui: false,
            screenshotFailures: false,
            api: { host: '127.0.0.1' },
            provider: playwright({
              launchOptions: {
                executablePath: CHROMIUM,
                // Playwright starts every launch on a fresh temporary profile (user-data-dir).
                args: [
                  '--enable-unsafe-webgpu',
                  '--no-sandbox',
                  '--disable-background-networking',
                  '--disable-component-update',
                  '--disable-sync',
                  '--no-first-run',
                ],
              },
            }),
            instances: [{ browser: 'chromium' }],
          },
        },
      },
    ],
  },
});
