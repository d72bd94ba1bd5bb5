import { describe, expect, it } from '@jest/globals';
import { MoatApiError } from '@moat/sdk';
import { FakeApi, nodeOf, sandboxOf } from '@moat/sdk/testing';
import { ApiClient } from './api.client';

const clientOn = (fake: FakeApi) => new ApiClient('http://api.test:8080', 'admin-token', fake.fetch);

describe('ApiClient', () => {
  it('sends each call to its route with the token, ids in the path', async () => {
    const node = nodeOf({ id: 'n/1', state: 'draining' });
    const fake = new FakeApi()
      .reply('POST /v1/nodes/n%2F1/drain', { status: 200, body: node })
      .reply('POST /v1/tenants/t1/api-keys', { status: 201, body: { id: 'k', name: null, prefix: 'moat_ab', key: 'moat_abc', createdAt: 'x' } })
      .reply('DELETE /v1/tenants/t1/api-keys/k', { status: 204 });
    const api = clientOn(fake);
    expect(await api.nodeAction('n/1', 'drain')).toEqual(node);
    await api.createApiKey('t1');
    await api.revokeApiKey('t1', 'k');
    expect(fake.seen.map(({ method, path, authorization, body }) => ({ method, path, authorization, body }))).toEqual([
      { method: 'POST', path: '/v1/nodes/n%2F1/drain', authorization: 'Bearer admin-token', body: undefined },
      { method: 'POST', path: '/v1/tenants/t1/api-keys', authorization: 'Bearer admin-token', body: {} },
      { method: 'DELETE', path: '/v1/tenants/t1/api-keys/k', authorization: 'Bearer admin-token', body: undefined },
    ]);
  });

  it('drains with the mode chosen, migrates to the node chosen or where the scheduler chooses', async () => {
    const fake = new FakeApi()
      .reply('POST /v1/nodes/n1/drain', { status: 200, body: nodeOf({ id: 'n1', state: 'draining' }) })
      .reply('POST /v1/nodes/n1/cordon', { status: 200, body: nodeOf({ id: 'n1', state: 'cordoned' }) })
      .reply('POST /v1/sandboxes/s1/migrate', { status: 202, body: sandboxOf({ id: 's1', state: 'migrating' }) });
    const api = clientOn(fake);
    expect((await api.nodeAction('n1', 'drain', { mode: 'migrate' })).state).toBe('draining');
    expect((await api.nodeAction('n1', 'cordon')).state).toBe('cordoned');
    expect((await api.migrateSandbox('s1', 'n2')).state).toBe('migrating');
    await api.migrateSandbox('s1');
    expect(fake.seen.map(({ method, path, body }) => ({ method, path, body }))).toEqual([
      { method: 'POST', path: '/v1/nodes/n1/drain', body: { mode: 'migrate' } },
      { method: 'POST', path: '/v1/nodes/n1/cordon', body: undefined },
      { method: 'POST', path: '/v1/sandboxes/s1/migrate', body: { nodeId: 'n2' } },
      { method: 'POST', path: '/v1/sandboxes/s1/migrate', body: {} },
    ]);
  });

  it("leaves the audit filter's blank fields out of the query", async () => {
    const fake = new FakeApi().reply('GET /v1/audit', { status: 200, body: { items: [], nextBefore: null } });
    await clientOn(fake).audit({ actor: 'admin', action: '', targetType: undefined, limit: 50, before: 12 });
    expect(Object.fromEntries(fake.seen[0]?.query ?? [])).toEqual({ actor: 'admin', limit: '50', before: '12' });
  });

  it('resolves a delete once accepted and throws refusals as MoatApiError', async () => {
    const fake = new FakeApi()
      .reply('DELETE /v1/sandboxes/s1', { status: 202, body: sandboxOf({ id: 's1', state: 'stopping' }) })
      .reply('GET /v1/me', { status: 401, body: { error: { code: 'UNAUTHENTICATED', message: 'missing or unknown bearer token' } } });
    const api = clientOn(fake);
    await expect(api.deleteSandbox('s1')).resolves.toBeUndefined();
    const refused = await api.me().catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(MoatApiError);
    expect(refused).toMatchObject({ status: 401, code: 'UNAUTHENTICATED' });
  });
});
