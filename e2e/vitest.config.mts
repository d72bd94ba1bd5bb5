import { defineConfig } from 'vitest/config';

// Whole-system tests against the stack e2e/run.mjs started: real VMs, one file at a time.
export default defineConfig({
  test: {
    include: ['api/**/*.e2e-spec.ts'],
    fileParallelism: false,
    testTimeout: 240_000,
    hookTimeout: 240_000,
  },
});
