import { defineConfig } from 'vitest/config';

// Unit tests cover the dashboard's pure logic only (formatting, parsing, the live-state
// reducer); the rendered pages are exercised end to end by e2e/browser.
export default defineConfig({
  test: { include: ['lib/**/*.spec.ts'], environment: 'node', passWithNoTests: true },
});
