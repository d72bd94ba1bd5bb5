import path from 'node:path';
import { expect, test, type Page } from '@playwright/test';

const adminToken = process.env.MOAT_E2E_ADMIN_TOKEN ?? '';
const screenshotDir = path.resolve(__dirname, '../screenshots');

// A VM boot under TCG takes up to about a minute; leave room for a loaded machine.
const BOOT_TIMEOUT_MS = 120_000;

/** Any console error or uncaught exception in the page fails the test. */
function collectBrowserErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(`console: ${message.text()}`);
  });
  page.on('pageerror', (error) => errors.push(`page error: ${error.message}`));
  return errors;
}

async function snap(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: path.join(screenshotDir, `${name}.png`), fullPage: true });
}

test.beforeAll(() => {
  if (!process.env.MOAT_E2E_WEB_URL || !adminToken) {
    throw new Error('Set MOAT_E2E_WEB_URL and MOAT_E2E_ADMIN_TOKEN (the e2e harness does).');
  }
});

test('an operator creates a sandbox, watches it boot live, runs a command and deletes it', async ({ page }) => {
  const browserErrors = collectBrowserErrors(page);

  await test.step('sign in with the admin token', async () => {
    await page.goto('/signin');
    await snap(page, 'signin');
    await page.getByLabel('API token', { exact: true }).fill(adminToken);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await expect(page.getByRole('heading', { name: 'Overview', level: 1 })).toBeVisible();
  });

  await test.step('the node is listed as ready', async () => {
    const nodes = page.getByRole('table', { name: 'Nodes' });
    await expect(nodes.getByRole('row').filter({ hasText: 'ready' }).first()).toBeVisible();
    await expect(page.getByRole('status').filter({ hasText: 'Live' })).toBeVisible();
  });

  // The page must never reload: live updates alone move the row through its states.
  let navigations = 0;
  page.on('framenavigated', (frame) => {
    if (frame === page.mainFrame()) navigations += 1;
  });

  const sandboxId = await test.step('create a sandbox from the form', async () => {
    const form = page.getByRole('region', { name: 'New sandbox' });
    await form.getByLabel('vCPUs').fill('1');
    await form.getByLabel('Memory (MiB)').fill('256');
    await form.getByLabel('Environment').fill('GREETING=hello');
    await form.getByRole('button', { name: 'Create sandbox' }).click();
    const created = form.getByRole('link');
    await expect(created).toBeVisible();
    const href = await created.getAttribute('href');
    const id = href?.split('/').pop();
    expect(id, 'link to the new sandbox').toBeTruthy();
    return id as string;
  });

  const row = page.getByRole('table', { name: 'Sandboxes' }).locator(`tr[data-sandbox-id="${sandboxId}"]`);

  await test.step('the new sandbox reaches running without a reload', async () => {
    await expect(row).toBeVisible();
    await expect(row).toContainText('running', { timeout: BOOT_TIMEOUT_MS });
    expect(navigations, 'page navigations while waiting').toBe(0);
    await snap(page, 'overview');
  });

  await test.step('run uname -r on the sandbox page', async () => {
    await row.getByRole('link').click();
    await expect(page).toHaveURL(new RegExp(`/sandboxes/${sandboxId}$`));
    await expect(page.getByRole('heading', { level: 1 })).toContainText(sandboxId.split('-')[0] ?? sandboxId);
    const runCommand = page.getByRole('region', { name: 'Run command' });
    await runCommand.getByLabel('Command', { exact: true }).fill('uname -r');
    await runCommand.getByRole('button', { name: 'Run', exact: true }).click();
    await expect(runCommand.getByText(/^Exit code/)).toHaveText(/^Exit code\s*0$/);
    // A Linux kernel release, e.g. "6.1.0-28-amd64".
    await expect(runCommand.getByRole('figure', { name: 'Standard output' })).toContainText(/\d+\.\d+\.\d+/);
    await snap(page, 'sandbox');
  });

  await test.step('delete it after confirming', async () => {
    await page.getByRole('button', { name: 'Delete', exact: true }).click();
    const dialog = page.getByRole('dialog');
    await expect(dialog).toBeVisible();
    await snap(page, 'delete-dialog');
    await dialog.getByRole('button', { name: 'Delete sandbox', exact: true }).click();
    await expect(page.getByRole('heading', { name: 'Overview', level: 1 })).toBeVisible();
    await expect(row).toHaveCount(0, { timeout: BOOT_TIMEOUT_MS });
  });

  expect(browserErrors, 'browser console errors').toEqual([]);
});
