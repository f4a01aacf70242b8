import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // guards against a hang, not timing assertions: on the shared 2-core machine under load a
    // test that spawns the CLI took over 60 s (train of 19:54, suite 1086 s)
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
  },
});
