import { defineConfig } from 'vitest/config';

// GPU tests share one software adapter with two CPU cores: run files one at a time so that
// timings of heavy files do not starve each other into timeouts.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['dist/**', 'node_modules/**'],
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
