import { api } from '../support/api';
import { BOOT_TIMEOUT_MS, expect, signInAsAdmin, test } from './fixtures';

// One block-rootfs sandbox VM, hibernated, woken and forked from its page.
test.describe.configure({ mode: 'serial' });

let sandboxId = '';
/** The clones the fork test made, deleted with the sandbox. */
const clones: string[] = [];

test.beforeAll(async () => {
  const created = await api<{ id: string }>('POST', '/v1/sandboxes', { body: { vcpus: 1, memoryMiB: 128, rootfs: 'block' } });
  expect(created.status).toBe(201);
  sandboxId = created.body.id;
});

// A failed step must not leave its VM holding the node's capacity for the next tests.
test.afterAll(async () => {
  for (const id of [...clones, sandboxId]) if (id) await api('DELETE', `/v1/sandboxes/${id}`);
});

test('an operator hibernates a sandbox from its page, sees what it keeps on its node, and wakes it', async ({ page, snap }) => {
  await signInAsAdmin(page);
  await page.goto(`/sandboxes/${sandboxId}`);
  const details = page.getByRole('region', { name: 'Details' });
  await expect(details).toContainText('running', { timeout: BOOT_TIMEOUT_MS });
  await expect(page.getByRole('button', { name: 'Wake', exact: true })).toBeDisabled();
  const runCommand = page.getByRole('region', { name: 'Run command' });
  await runCommand.getByLabel('Command', { exact: true }).fill('touch /tmp/marker');
  await runCommand.getByRole('button', { name: 'Run', exact: true }).click();
  await expect(runCommand.getByText(/^Exit code/)).toHaveText(/^Exit code\s*0$/);

  await page.getByRole('button', { name: 'Hibernate', exact: true }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Hibernate sandbox', exact: true }).click();
  // The node saves the VM and reports it; the page follows without a reload.
  await expect(details).toContainText('hibernated', { timeout: BOOT_TIMEOUT_MS });
  await expect(details.locator('[data-saved-bytes]')).toContainText(/MiB on its node/);
  await expect(page.getByRole('button', { name: 'Hibernate', exact: true })).toBeDisabled();
  await snap('sandbox-hibernated');

  await page.getByRole('button', { name: 'Wake', exact: true }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Wake sandbox', exact: true }).click();
  await expect(details).toContainText('running', { timeout: BOOT_TIMEOUT_MS });
  await expect(details.locator('[data-saved-bytes]')).toHaveCount(0);
  // What it wrote to its /tmp (memory) before hibernating is still there.
  await runCommand.getByLabel('Command', { exact: true }).fill('ls /tmp/marker');
  await runCommand.getByRole('button', { name: 'Run', exact: true }).click();
  await expect(runCommand.getByRole('figure', { name: 'Standard output' })).toContainText('/tmp/marker');
});

test('an operator forks the sandbox from its page and follows the link to the clone, which has its /tmp and names its source', async ({ page, snap }) => {
  await signInAsAdmin(page);
  await page.goto(`/sandboxes/${sandboxId}`);
  await expect(page.getByRole('region', { name: 'Details' })).toContainText('running', { timeout: BOOT_TIMEOUT_MS });
  await page.getByRole('button', { name: 'Fork', exact: true }).click();
  const dialog = page.getByRole('dialog');
  await dialog.getByLabel('Clones').fill('1');
  await snap('fork-dialog');
  await dialog.getByRole('button', { name: 'Fork sandbox', exact: true }).click();
  const forkedInto = page.getByRole('status').filter({ hasText: 'Forked into 1 clone' });
  await expect(forkedInto).toBeVisible();
  const cloneId = (await forkedInto.getByRole('link').getAttribute('href'))?.split('/').pop() ?? '';
  expect(cloneId, 'link to the clone').not.toBe('');
  clones.push(cloneId);
  await forkedInto.getByRole('link').click();
  const details = page.getByRole('region', { name: 'Details' });
  await expect(details).toContainText('running', { timeout: BOOT_TIMEOUT_MS });
  await expect(details.getByRole('link', { name: sandboxId.split('-')[0] })).toBeVisible();
  const runCommand = page.getByRole('region', { name: 'Run command' });
  await runCommand.getByLabel('Command', { exact: true }).fill('ls /tmp/marker');
  await runCommand.getByRole('button', { name: 'Run', exact: true }).click();
  await expect(runCommand.getByRole('figure', { name: 'Standard output' })).toContainText('/tmp/marker');
});
