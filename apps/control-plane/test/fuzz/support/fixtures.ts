import { randomUUID } from 'node:crypto';
import type { Fixtures } from './requests';

/** The fuzzer's own credentials, and the resources its requests aim at. */
export interface Setup {
  tenantKey: string;
  otherTenantKey: string;
  fixtures: Fixtures;
}

interface Created {
  id: string;
}

/**
 * Creates what generated requests should find: tenants with keys, templates with two
 * versions, deployments with a rollout, pending sandboxes, a node that joined but never
 * connected. Everything through the API, as a client would.
 */
export async function createFixtures(baseUrl: string, adminToken: string): Promise<Setup> {
  const call = async <T>(method: string, path: string, token: string, body?: unknown): Promise<T> => {
    const res = await fetch(`${baseUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`fixture ${method} ${path} answered ${res.status}: ${text}`);
    return (text ? JSON.parse(text) : undefined) as T;
  };
  const admin = <T>(method: string, path: string, body?: unknown): Promise<T> => call<T>(method, path, adminToken, body);

  const quota = { maxSandboxes: 200, maxVcpus: 400, maxMemoryMiB: 400_000 };
  const own = await admin<Created & { apiKey: string }>('POST', '/v1/tenants', { name: 'fuzz', quota });
  const other = await admin<Created & { apiKey: string }>('POST', '/v1/tenants', { name: 'fuzz-other', quota });
  const spare = await admin<Created>('POST', '/v1/tenants', { name: 'fuzz-spare' });
  const tenant = <T>(method: string, path: string, body?: unknown): Promise<T> => call<T>(method, path, own.apiKey, body);
  const spareKeys = await Promise.all(['a', 'b', 'c'].map((name) => tenant<Created>('POST', `/v1/tenants/${own.id}/api-keys`, { name })));

  const templates: string[] = [];
  const deployments: string[] = [];
  const rollouts: string[] = [];
  const doomed = { sandboxes: [] as string[], deployments: [] as string[] };
  for (const [i, token] of [own.apiKey, other.apiKey].entries()) {
    const template = await call<Created>('POST', '/v1/templates', token, { name: `fuzz-${i}`, vcpus: 1, memoryMiB: 128 });
    await call('POST', `/v1/templates/${template.id}/versions`, token, { vcpus: 1, memoryMiB: 256, image: 'busybox' });
    templates.push(template.id);
    for (const type of ['rolling', 'canary'] as const) {
      const deployment = await call<Created>('POST', '/v1/deployments', token, {
        name: `fuzz-${i}-${type}`,
        templateId: template.id,
        templateVersion: 1,
        replicas: 1,
        strategy: { type },
      });
      deployments.push(deployment.id);
      rollouts.push((await call<Created>('POST', `/v1/deployments/${deployment.id}/rollouts`, token, { templateVersion: 2 })).id);
    }
    const spareDeployment = { name: `fuzz-${i}-doomed`, templateId: template.id, replicas: 0, strategy: { type: 'immediate' } };
    doomed.deployments.push((await call<Created>('POST', '/v1/deployments', token, spareDeployment)).id);
  }

  const sandboxes: string[] = [];
  for (const token of [own.apiKey, own.apiKey, other.apiKey]) {
    sandboxes.push((await call<Created>('POST', '/v1/sandboxes', token, { vcpus: 1, memoryMiB: 128 })).id);
    doomed.sandboxes.push((await call<Created>('POST', '/v1/sandboxes', token, { vcpus: 1, memoryMiB: 128 })).id);
  }

  const nodes: string[] = [];
  for (const name of ['fuzz-node-a', 'fuzz-node-b']) {
    const { token } = await admin<{ token: string }>('POST', '/v1/nodes/join-tokens', { labels: { zone: 'fuzz' } });
    const res = await fetch(`${baseUrl}/v1/nodes/join`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token, nodeId: randomUUID(), name }),
    });
    if (!res.ok) throw new Error(`fixture node join answered ${res.status}: ${await res.text()}`);
    nodes.push(((await res.json()) as { nodeId: string }).nodeId);
  }

  const tenants = [own.id, other.id, spare.id];
  const apiKeys = spareKeys.map((key) => key.id);
  return {
    tenantKey: own.apiKey,
    otherTenantKey: other.apiKey,
    fixtures: {
      all: [...tenants, ...apiKeys, ...templates, ...deployments, ...rollouts, ...sandboxes, ...nodes],
      doomed,
      tenants,
      otherTenants: [other.id, spare.id],
      apiKeys,
      nodes,
      sandboxes,
      templates,
      deployments,
      rollouts,
    },
  };
}
