import { defineConfig } from 'vitest/config';

/**
 * The real-browser tests (test/browser): headless Debian Chromium driven by playwright-core, against
 * the API listening on a real port, on the same real stack as the main suite (global setup: a
 * Temporal dev server with its Web UI and a fresh PostgreSQL database). Run by `npm run test:browser`
 * after `bash scripts/install-browser.sh`.
 */
export default defineConfig({
  test: {
    include: ['test/browser/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    // The Temporal native bridge wants real processes, not worker threads.
    pool: 'forks',
    testTimeout: 90_000,
    hookTimeout: 120_000,
    // One browser and one demo shop at a time: the files share the seeded demo orders.
    fileParallelism: false,
  },
});
