import { api } from '../support/api';
import { allowConsoleErrors, createTenant, expect, signIn, signInAsAdmin, test } from './fixtures';

test('an operator signs in, sees the fleet, and signs out', async ({ page, snap }) => {
  await page.goto('/');
  // Not signed in: sent to the sign-in page.
  await expect(page).toHaveURL(/\/signin$/);
  await snap('signin');
  await signInAsAdmin(page);
  const nav = page.getByRole('navigation', { name: 'Main' });
  for (const name of ['Overview', 'Nodes', 'Sandboxes', 'Templates', 'Deployments', 'Tenants', 'Audit']) {
    await expect(nav.getByRole('link', { name, exact: true })).toBeVisible();
  }
  const fleet = page.getByRole('region', { name: 'Fleet health' });
  await expect(fleet.getByText('ready')).toBeVisible();
  await expect(page.getByRole('region', { name: 'Start latency' })).toBeVisible();
  await expect(page.getByRole('region', { name: 'Creation rate' })).toBeVisible();
  await snap('overview');

  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page).toHaveURL(/\/signin$/);
  await page.goto('/nodes');
  await expect(page).toHaveURL(/\/signin$/);
});

test('a wrong token is refused in words', async ({ page }) => {
  allowConsoleErrors(page, /status of 401/);
  await page.goto('/signin');
  await page.getByLabel('API token', { exact: true }).fill('moat_not-a-real-token');
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await expect(page.getByRole('alert').filter({ hasText: 'token' })).toHaveText('The API did not accept this token.');
});

test('a revoked key lands back on sign-in with a message', async ({ page, snap }) => {
  allowConsoleErrors(page, /status of 401/);
  const tenant = await createTenant('e2e-revoke');
  const key = await api<{ id: string; key: string }>('POST', `/v1/tenants/${tenant.id}/api-keys`, { body: { name: 'short-lived' } });
  expect(key.status).toBe(201);
  await signIn(page, key.body.key);
  await expect(page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Account' })).toBeVisible();

  expect((await api('DELETE', `/v1/tenants/${tenant.id}/api-keys/${key.body.id}`)).status).toBe(204);
  // The next API call the page makes finds the key revoked.
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Account' }).click();
  await expect(page).toHaveURL(/\/signin\?reason=expired$/);
  await expect(page.getByRole('status').filter({ hasText: 'session ended' })).toContainText('no longer accepts that token');
  await snap('signin-expired');
});

test('the overview works at phone width and from the keyboard', async ({ page, snap }) => {
  await page.setViewportSize({ width: 390, height: 844 });
  await signInAsAdmin(page);
  // Load the page afresh (the session survives in the tab) so focus starts at the top.
  await page.reload();
  await expect(page.getByRole('status').filter({ hasText: 'Live' })).toBeVisible();
  // The first Tab reaches the skip link, which jumps to the content.
  await page.keyboard.press('Tab');
  await expect(page.getByRole('link', { name: 'Skip to content' })).toBeFocused();
  await page.keyboard.press('Tab');
  await expect(page.getByRole('link', { name: 'Moat' })).toBeFocused();
  await page.keyboard.press('Tab');
  await expect(page.getByRole('link', { name: 'Overview', exact: true })).toBeFocused();
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  expect(width, 'no horizontal scrolling of the page').toBeLessThanOrEqual(390);
  await snap('overview-phone');
});
