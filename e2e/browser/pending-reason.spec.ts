import { api } from '../support/api';
import { BOOT_TIMEOUT_MS, countNavigations, createTenant, expect, signInAsAdmin, test } from './fixtures';
import type { FleetNode, Sandbox } from '@moat/sdk';

let nodeId = '';
let sandboxId = '';

// A failed step must leave neither the stack's only node cordoned nor a VM holding its capacity.
test.afterEach(async () => {
  if (nodeId) await api('POST', `/v1/nodes/${nodeId}/uncordon`);
  if (sandboxId) await api('DELETE', `/v1/sandboxes/${sandboxId}`);
});

test('a sandbox no node can take says why on the dashboard, and is placed by itself once a node can', async ({ page, snap }) => {
  const nodes = await api<FleetNode[]>('GET', '/v1/nodes');
  const ready = nodes.body.filter((n) => n.state === 'ready');
  expect(ready, 'the stack runs one ready node').toHaveLength(1);
  nodeId = ready[0]?.id ?? '';
  expect((await api('POST', `/v1/nodes/${nodeId}/cordon`)).status).toBe(200);

  const tenant = await createTenant('e2e-pending');
  // Its main process prints a numbered line a second: the page's Logs panel follows it.
  const ticker = ['sh', '-c', 'i=0; while :; do echo "line $i"; i=$((i+1)); sleep 1; done'];
  const created = await api<Sandbox>('POST', '/v1/sandboxes', { token: tenant.apiKey, body: { vcpus: 1, memoryMiB: 256, command: ticker } });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  sandboxId = created.body.id;

  await signInAsAdmin(page);
  await page.goto(`/sandboxes/${sandboxId}`);
  const reason = page.locator('[data-pending-reason="NO_READY_NODE"]');
  await expect(reason).toContainText('Not placed yet (NO_READY_NODE): no node is ready');
  await snap('sandbox-pending-reason');
  const navigations = countNavigations(page);

  // Room appears: the sandbox is placed without anyone asking again, and the page follows live.
  expect((await api('POST', `/v1/nodes/${nodeId}/uncordon`)).status).toBe(200);
  await expect(page.getByRole('region', { name: 'State history' })).toContainText('running', { timeout: BOOT_TIMEOUT_MS });
  await expect(reason).toHaveCount(0);
  expect(navigations(), 'page navigations while waiting').toBe(0);
  const placed = await api<Sandbox>('GET', `/v1/sandboxes/${sandboxId}`);
  expect(placed.body.state).toBe('running');
  expect(placed.body.pendingReason ?? null).toBeNull();

  await test.step('the Logs panel shows the main process writing, live', async () => {
    const logs = page.getByRole('region', { name: 'Logs' });
    const output = logs.getByLabel('Standard output and error of the main process');
    await expect(output.locator('[data-stream="stdout"]').first()).toContainText('line 0', { timeout: BOOT_TIMEOUT_MS });
    await expect(output).toContainText('line 3');
    await snap('sandbox-logs');
    expect(navigations(), 'page navigations while following').toBe(0);
  });
});
