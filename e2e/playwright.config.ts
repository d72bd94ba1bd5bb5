import { defineConfig } from '@playwright/test';

// Runs against a stack someone else started (the e2e harness, or a developer): this config
// starts nothing itself. The browser is Debian's Chromium; Playwright never downloads one. The
// harness runs it in a network namespace of its own (support/browser-netns.mjs) through
// MOAT_E2E_CHROMIUM.
export default defineConfig({
  testDir: './browser',
  outputDir: './test-results',
  reporter: 'list',
  workers: 1,
  fullyParallel: false,
  retries: 0,
  // A sandbox's VM boots in up to ~60 s under TCG, and the test waits for several.
  timeout: 5 * 60_000,
  expect: { timeout: 90_000 },
  use: {
    baseURL: process.env.MOAT_E2E_WEB_URL,
    viewport: { width: 1280, height: 800 },
    actionTimeout: 30_000,
    navigationTimeout: 60_000,
    screenshot: 'only-on-failure',
    trace: 'retain-on-failure',
    launchOptions: {
      executablePath: process.env.MOAT_E2E_CHROMIUM ?? '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--no-first-run',
        '--disable-sync',
        '--disable-quic',
      ],
    },
  },
});
