import { defineConfig } from 'vitest/config';

// Integration tests touch real Linux, real processes and real VMs: run them one file at a time.
export default defineConfig({
  test: {
    include: ['test/integration/**/*.integration-spec.ts'],
    passWithNoTests: true,
    fileParallelism: false,
    testTimeout: 180_000,
    hookTimeout: 180_000,
  },
});
