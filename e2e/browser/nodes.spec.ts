import { api } from '../support/api';
import { countNavigations, expect, signInAsAdmin, test } from './fixtures';
import type { FleetNode } from '@moat/sdk';

test('an operator cordons a node after confirming, and uncordons it', async ({ page, snap }) => {
  const nodes = await api<FleetNode[]>('GET', '/v1/nodes');
  const node = nodes.body.find((n) => n.state === 'ready');
  expect(node, 'a ready node').toBeDefined();
  // Narrows the type only: the expectation above has already failed the test.
  if (!node) return;

  await signInAsAdmin(page);
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Nodes' }).click();
  const row = page.getByRole('table', { name: 'Nodes' }).locator(`tr[data-node-id="${node.id}"]`);
  await expect(row).toContainText('ready');
  // The test node jails its VMMs (the default), and says so.
  await expect(row).toContainText('jailed');
  await expect(row).not.toContainText('not jailed');
  await snap('nodes');
  await row.getByRole('link', { name: node.name }).click();
  await expect(page.getByRole('heading', { name: `Node ${node.name}`, level: 1 })).toBeVisible();
  const navigations = countNavigations(page);

  await page.getByRole('button', { name: 'Cordon', exact: true }).click();
  const dialog = page.getByRole('dialog');
  await expect(dialog).toContainText('No new sandboxes are placed on it');
  await snap('node-cordon-dialog');
  await dialog.getByRole('button', { name: 'Cordon node' }).click();
  const details = page.getByRole('region', { name: 'Details' });
  await expect(details).toContainText('cordoned');
  expect((await api<FleetNode>('GET', `/v1/nodes/${node.id}`)).body.state).toBe('cordoned');
  await snap('node-cordoned');

  await page.getByRole('button', { name: 'Uncordon', exact: true }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Uncordon node' }).click();
  await expect(details).toContainText('ready');
  expect(navigations()).toBe(0);
});
