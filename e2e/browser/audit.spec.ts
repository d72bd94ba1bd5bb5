import { createTenant, expect, signInAsAdmin, test } from './fixtures';

test('the audit log is searchable and grows live', async ({ page, snap }) => {
  await signInAsAdmin(page);
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Audit' }).click();
  const search = page.getByRole('search', { name: 'Search the audit log' });
  await search.getByLabel('Action').fill('tenant.create');
  await search.getByRole('button', { name: 'Search' }).click();
  const entries = page.getByRole('table', { name: 'Audit entries' });

  // An action taken elsewhere appears without a reload, and matches the filter.
  const tenant = await createTenant('e2e-audit');
  await expect(entries.getByRole('row').filter({ hasText: tenant.id.slice(0, 8) })).toBeVisible();
  await expect(entries.getByRole('row').filter({ hasText: 'sandbox.create' })).toHaveCount(0);
  await snap('audit');
});
