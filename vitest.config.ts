import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['test/browser/**', 'test/reliability/**', 'node_modules/**'],
    globalSetup: ['test/global-setup.ts'],
    // The Temporal native bridge wants real processes, not worker threads.
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Files share one database and one settings table: run them one after another.
    fileParallelism: false,
  },
});
