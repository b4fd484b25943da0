import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Each run's temporary files in one directory, removed at the end (test/support/temp-root.ts).
    globalSetup: ['test/support/temp-root.ts'],
  },
});
