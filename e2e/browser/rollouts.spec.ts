import { api } from '../support/api';
import { BOOT_TIMEOUT_MS, countNavigations, expect, signInAsAdmin, test } from './fixtures';

test('an operator versions a template, deploys it and watches a rollout progress', async ({ page, snap }) => {
  // Rollouts replace VMs one wave at a time: give them several boots' worth of time.
  test.setTimeout(12 * 60_000);
  const name = `e2e-web-${Date.now().toString(36)}`;

  await signInAsAdmin(page);
  await test.step('create a template from the form', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Templates' }).click();
    const form = page.getByRole('region', { name: 'New template' });
    await form.getByLabel('Name').fill(name);
    await form.getByLabel('Memory (MiB)').fill('256');
    await form.getByLabel('Command', { exact: true }).fill('sleep 3600');
    await form.getByRole('button', { name: 'Create template' }).click();
    await expect(page.getByRole('heading', { name: `Template ${name}`, level: 1 })).toBeVisible();
  });

  await test.step('create version 2 and compare it with version 1', async () => {
    const form = page.getByRole('region', { name: 'New version' });
    await form.getByLabel('Environment').fill('RELEASE=two');
    await form.getByRole('button', { name: 'Create version' }).click();
    await expect(form.getByText('Created version v2.')).toBeVisible();
    const compare = page.getByRole('region', { name: 'Versions side by side' });
    await compare.getByLabel('Left version').selectOption('1');
    await compare.getByLabel('Right version').selectOption('2');
    const changed = compare.getByRole('row').filter({ hasText: '(changed)' });
    await expect(changed).toHaveCount(1);
    await expect(changed).toContainText('RELEASE=two');
    await snap('template-versions');
  });

  await test.step('deploy version 1 with one replica', async () => {
    await page.getByRole('link', { name: 'Deploy', exact: true }).click();
    const form = page.getByRole('region', { name: 'New deployment' });
    await form.getByLabel('Name').fill(name);
    await form.getByLabel('Template version').fill('1');
    await form.getByLabel('Replicas').fill('1');
    await form.getByRole('button', { name: 'Create deployment' }).click();
    await expect(page.getByRole('heading', { name: `Deployment ${name}`, level: 1 })).toBeVisible();
    await expect(page.getByRole('region', { name: 'Replica health' })).toContainText('1 of 1 running', {
      timeout: BOOT_TIMEOUT_MS,
    });
  });

  await test.step('start a rollout to version 2 and watch it complete live', async () => {
    const navigations = countNavigations(page);
    const start = page.getByRole('region', { name: 'Start a rollout' });
    await start.getByLabel('To version').selectOption('2');
    await start.getByRole('button', { name: 'Start rollout' }).click();
    const rollout = page.getByRole('region', { name: /Rollout v1 → v2/ });
    await expect(rollout).toBeVisible();
    await expect(rollout.getByRole('listitem').first()).toBeVisible();
    await snap('rollout-progress');
    await expect(rollout).toContainText('completed', { timeout: 8 * 60_000 });
    await expect(rollout).toContainText(/1 new, 0 old/);
    expect(navigations()).toBe(0);
    const history = page.getByRole('table', { name: 'Rollouts' });
    await expect(history.getByRole('row').filter({ hasText: 'v1 → v2' })).toContainText('completed');
    await snap('rollout-done');
  });

  await test.step('clean up', async () => {
    const deployments = await api<{ id: string; name: string }[]>('GET', '/v1/deployments');
    const mine = deployments.body.find((d) => d.name === name);
    if (mine) expect((await api('DELETE', `/v1/deployments/${mine.id}`)).status).toBe(202);
  });
});
