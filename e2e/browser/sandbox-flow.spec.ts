import type { Page } from '@playwright/test';
import { api } from '../support/api';
import { BOOT_TIMEOUT_MS, countNavigations, createTenant, expect, signIn, signInAsAdmin, test } from './fixtures';

// One sandbox VM serves the whole file: booting VMs is the expensive part under TCG.
test.describe.configure({ mode: 'serial' });

let sandboxId = '';

// A failed step must not leave its VM holding the node's capacity for the next tests.
test.afterAll(async () => {
  if (sandboxId) await api('DELETE', `/v1/sandboxes/${sandboxId}`);
});

/** Signs in as the operator and opens the sandbox's page. */
async function openSandboxPage(page: Page): Promise<void> {
  await signInAsAdmin(page);
  await page.goto(`/sandboxes/${sandboxId}`);
  await expect(page.getByRole('heading', { level: 1 })).toContainText(sandboxId.split('-')[0] ?? sandboxId);
}

test('an operator creates a sandbox from the form and watches it reach running without a reload', async ({ page, snap }) => {
  await signInAsAdmin(page);
  await snap('overview-empty');
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Sandboxes' }).click();
  await expect(page.getByRole('heading', { name: 'Sandboxes', level: 1 })).toBeVisible();
  const navigations = countNavigations(page);

  const form = page.getByRole('region', { name: 'New sandbox' });
  await form.getByLabel('vCPUs').fill('1');
  await form.getByLabel('Memory (MiB)').fill('256');
  await form.getByLabel('Environment').fill('GREETING=hello');
  await form.getByRole('button', { name: 'Create sandbox' }).click();
  const created = form.getByRole('link');
  await expect(created).toBeVisible();
  sandboxId = (await created.getAttribute('href'))?.split('/').pop() ?? '';
  expect(sandboxId, 'link to the new sandbox').not.toBe('');

  const row = page.getByRole('table', { name: 'Sandboxes' }).locator(`tr[data-sandbox-id="${sandboxId}"]`);
  await expect(row).toBeVisible();
  await expect(row).toContainText('running', { timeout: BOOT_TIMEOUT_MS });
  expect(navigations(), 'page navigations while waiting').toBe(0);
  await snap('sandboxes');

  await test.step('the filters find it', async () => {
    await page.getByRole('search', { name: 'Filter sandboxes' }).getByLabel('State').selectOption('failed');
    await expect(row).toHaveCount(0);
    await page.getByRole('search', { name: 'Filter sandboxes' }).getByLabel('State').selectOption('running');
    await expect(row).toBeVisible();
  });
});

test('its page shows the boot waterfall, the state history and runs a command', async ({ page, snap }) => {
  await openSandboxPage(page);
  await expect(page.getByRole('region', { name: 'Live stats' })).toContainText(/Memory\s*[\d.]+ (B|KiB|MiB)/);

  const waterfall = page.getByRole('region', { name: 'Boot waterfall' });
  // The runtime's phases, each with a duration, and their total.
  await expect(waterfall.getByRole('listitem')).not.toHaveCount(0);
  // The VM was booted (vmm) or restored from a boot snapshot (restore).
  await expect(waterfall.getByRole('listitem').filter({ hasText: /^(vmm|restore)/ }).first()).toContainText(/\d+ ms|\d+\.\d+ s/);
  await expect(waterfall).toContainText(/Total \d/);
  await expect(page.getByRole('region', { name: 'State history' })).toContainText('running');
  // How its VMM is fenced on the node: jailed under a uid of its own, seccomp on, its host cgroup.
  const isolation = page.getByRole('region', { name: 'Isolation' });
  await expect(isolation).toContainText(/Jailed\s*yes/);
  await expect(isolation).toContainText(/Seccomp\s*on/);
  await expect(isolation).toContainText(`/moat/${sandboxId}`);

  const runCommand = page.getByRole('region', { name: 'Run command' });
  await runCommand.getByLabel('Command', { exact: true }).fill('uname -r');
  await runCommand.getByRole('button', { name: 'Run', exact: true }).click();
  await expect(runCommand.getByText(/^Exit code/)).toHaveText(/^Exit code\s*0$/);
  // A Linux kernel release, e.g. "6.1.0-28-amd64".
  await expect(runCommand.getByRole('figure', { name: 'Standard output' })).toContainText(/\d+\.\d+\.\d+/);
  await snap('sandbox');
});

test('a tenant sees only its own sandboxes and no operator pages', async ({ page, snap }) => {
  const tenant = await createTenant('e2e-browser');
  await signIn(page, tenant.apiKey);
  const nav = page.getByRole('navigation', { name: 'Main' });
  await expect(nav.getByRole('link', { name: 'Sandboxes' })).toBeVisible();
  await expect(nav.getByRole('link', { name: 'Nodes' })).toHaveCount(0);
  await expect(nav.getByRole('link', { name: 'Tenants' })).toHaveCount(0);
  await expect(page.getByRole('region', { name: 'Fleet health' })).toHaveCount(0);
  await snap('tenant-overview');

  await nav.getByRole('link', { name: 'Sandboxes' }).click();
  await expect(page.getByText('No sandboxes yet.')).toBeVisible();
  await expect(page.locator(`tr[data-sandbox-id="${sandboxId}"]`)).toHaveCount(0);

  await page.goto('/nodes');
  await expect(page.getByText('This page is for operators')).toBeVisible();
});

test('an operator deletes the sandbox after confirming', async ({ page, snap }) => {
  await openSandboxPage(page);
  await page.getByRole('button', { name: 'Delete', exact: true }).click();
  const dialog = page.getByRole('dialog');
  await expect(dialog).toBeVisible();
  await snap('delete-dialog');
  await dialog.getByRole('button', { name: 'Delete sandbox', exact: true }).click();
  await expect(page.getByRole('heading', { name: 'Sandboxes', level: 1 })).toBeVisible();
  await expect(page.locator(`tr[data-sandbox-id="${sandboxId}"]`)).toHaveCount(0, { timeout: BOOT_TIMEOUT_MS });
});
