import { defineConfig, configDefaults, type TestProjectInlineConfiguration } from 'vitest/config';

// The Node project: the whole suite in Node on Dawn (npm `webgpu`), on whatever WebGPU adapter Dawn
// finds (a software Vulkan driver on machines without a GPU). vitest.config.ts runs it beside the
// browser project; this file alone runs it where Chromium and Playwright are absent, e.g. a machine
// lent for GPU runs: `npx vitest run --config vitest.node.config.ts [files]`.
export const nodeProject: TestProjectInlineConfiguration = {
  test: {
    name: 'node',
    include: ['test/**/*.test.ts'],
    exclude: [...configDefaults.exclude, 'test/browser/**'],
    globalSetup: ['test/helpers/global-setup.ts'],
    pool: 'forks',
    testTimeout: 120_000,
    hookTimeout: 60_000,
  },
};

export default defineConfig({ test: { reporters: ['default'], projects: [nodeProject] } });
