import { api } from '../support/api';
import { expect, signInAsAdmin, test } from './fixtures';

test('an operator creates a tenant with quotas, manages its keys and suspends it', async ({ page, snap }) => {
  const name = `e2e-acme-${Date.now().toString(36)}`;
  await signInAsAdmin(page);
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Tenants' }).click();

  const form = page.getByRole('region', { name: 'New tenant' });
  await form.getByLabel('Name').fill(name);
  await form.getByLabel('Max sandboxes').fill('3');
  await form.getByLabel('Max vCPUs').fill('4');
  await form.getByLabel('Max memory (MiB)').fill('2048');
  await form.getByRole('button', { name: 'Create tenant' }).click();
  // The key is shown once, and it works.
  const key = (await form.getByLabel('API key').textContent()) ?? '';
  expect((await api('GET', '/v1/sandboxes', { token: key })).status).toBe(200);
  await snap('tenant-created');

  await page.getByRole('table', { name: 'Tenants' }).getByRole('link', { name }).click();
  const usage = page.getByRole('region', { name: 'Quota and usage' });
  await expect(usage).toContainText('0 / 3');
  await expect(usage).toContainText('0 / 4');

  const keys = page.getByRole('region', { name: 'API keys' });
  await keys.getByLabel('Key name').fill('ci');
  await keys.getByRole('button', { name: 'Create key' }).click();
  const second = (await keys.getByLabel('API key').textContent()) ?? '';
  expect((await api('GET', '/v1/sandboxes', { token: second })).status).toBe(200);
  const row = keys.getByRole('row').filter({ hasText: 'ci' });
  await row.getByRole('button', { name: 'Revoke' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Revoke key' }).click();
  await expect(row).toContainText('revoked');
  expect((await api('GET', '/v1/sandboxes', { token: second })).status).toBe(401);

  await page.getByRole('button', { name: 'Suspend', exact: true }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Suspend tenant' }).click();
  await expect(page.getByRole('button', { name: 'Resume', exact: true })).toBeVisible();
  const created = await api<{ error: { code: string } }>('POST', '/v1/sandboxes', { token: key, body: {} });
  expect(created.status).toBe(403);
  expect(created.body.error.code).toBe('TENANT_SUSPENDED');
  await snap('tenant-suspended');
});
