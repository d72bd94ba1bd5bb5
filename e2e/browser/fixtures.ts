import path from 'node:path';
import { test as base, expect, type Page } from '@playwright/test';
import { ADMIN_TOKEN, api } from '../support/api';

const screenshotDir = path.resolve(__dirname, '../screenshots');

/** A VM boot under TCG takes up to about a minute; leave room for a loaded machine. */
export const BOOT_TIMEOUT_MS = 180_000;

interface Fixtures {
  /** Saves a full-page screenshot under e2e/screenshots/. */
  snap: (name: string) => Promise<void>;
  consoleGuard: undefined;
}

const allowedByPage = new WeakMap<Page, RegExp[]>();

/** Every browser test fails on any console error or uncaught page exception it did not expect. */
export const test = base.extend<Fixtures>({
  snap: async ({ page }, use) => {
    await use(async (name) => {
      await page.screenshot({ path: path.join(screenshotDir, `${name}.png`), fullPage: true });
    });
  },
  consoleGuard: [
    async ({ page }, use) => {
      const errors: string[] = [];
      allowedByPage.set(page, []);
      page.on('console', (message) => {
        // The URL tells a failed request's console error apart from any other.
        if (message.type() === 'error') errors.push(`console: ${message.text()} (${message.location().url})`);
      });
      page.on('pageerror', (error) => errors.push(`page error: ${error.message}`));
      await use(undefined);
      const allowed = allowedByPage.get(page) ?? [];
      const unexpected = errors.filter((e) => !allowed.some((re) => re.test(e)));
      expect(unexpected, 'browser console errors').toEqual([]);
    },
    { auto: true },
  ],
});

/** Declares console errors a test provokes on purpose (e.g. the 401 a wrong token earns). */
export function allowConsoleErrors(page: Page, pattern: RegExp): void {
  allowedByPage.get(page)?.push(pattern);
}

export { expect };

/** Signs in through the form and waits for the overview. */
export async function signIn(page: Page, token: string): Promise<void> {
  await page.goto('/signin');
  await page.getByLabel('API token', { exact: true }).fill(token);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await expect(page.getByRole('heading', { name: 'Overview', level: 1 })).toBeVisible();
  await expect(page.getByRole('status').filter({ hasText: 'Live' })).toBeVisible();
}

export const signInAsAdmin = (page: Page) => signIn(page, ADMIN_TOKEN);

/** Counts main-frame navigations from now on: live pages must never reload. */
export function countNavigations(page: Page): () => number {
  let navigations = 0;
  page.on('framenavigated', (frame) => {
    if (frame === page.mainFrame()) navigations += 1;
  });
  return () => navigations;
}

/** A fresh tenant and its API key. */
export async function createTenant(name: string): Promise<{ id: string; apiKey: string }> {
  const res = await api<{ id: string; apiKey: string }>('POST', '/v1/tenants', {
    body: { name: `${name}-${Date.now().toString(36)}` },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body;
}
