import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { OpenApiDocument } from '../fuzz/support/openapi';
import { bodyOf, startApp, type TestApp } from './support/harness';
import { differences, documentedRoutes, servedRoutes, vaguePlaces } from './support/openapi-conformance';

// The OpenAPI document is the contract the SDK's types are generated from: these tests fail when
// it and the controllers part ways. On SQLite only: the document does not depend on the database.
describe('the OpenAPI document', () => {
  let t: TestApp;
  let doc: OpenApiDocument;

  beforeAll(async () => {
    t = await startApp('sqlite');
    doc = bodyOf<OpenApiDocument>(await t.api().get('/docs-json').expect(200));
  });
  afterAll(async () => {
    await t?.close();
  });

  it('describes every route the application serves, and no other', () => {
    expect(documentedRoutes(doc).sort()).toEqual(servedRoutes(t.app).sort());
  });

  it('describes every request body and JSON answer as an object with its properties', () => {
    expect(vaguePlaces(doc)).toEqual([]);
  });

  it('describes real answers exactly: no field more or less, no undocumented null', async () => {
    const found: string[] = [];
    const call = async <T>(
      method: 'get' | 'post' | 'delete',
      template: string,
      { params = {}, body, as = t.admin() }: { params?: Record<string, string>; body?: object; as?: Record<string, string> } = {},
    ): Promise<T> => {
      const res = await t.api()[method](template.replace(/\{(\w+)\}/g, (_, name: string) => params[name] ?? name)).set(as).send(body);
      const route = `${method.toUpperCase()} ${template} ${res.status}`;
      const schema = doc.paths[template]?.[method]?.responses[String(res.status)]?.content?.['application/json']?.schema;
      if (res.status >= 300 || !schema) found.push(`${route}: not a documented success`);
      else found.push(...differences(doc, schema, res.body, route));
      return bodyOf<T>(res);
    };

    const tenant = await call<{ id: string; apiKey: string }>('post', '/v1/tenants', { body: { name: 'drift' } });
    await call('get', '/v1/tenants/{id}', { params: tenant });
    await call('get', '/v1/tenants/{id}/usage', { params: tenant });
    await call('get', '/v1/me');
    await call('get', '/v1/me', { as: { Authorization: `Bearer ${tenant.apiKey}` } });
    const sandbox = await call<{ id: string }>('post', '/v1/sandboxes', {
      body: { tenantId: tenant.id, image: 'docker.io/library/busybox:latest', labels: { team: 'a' }, egress: { default: 'deny' }, dns: { servers: ['192.0.2.53'] } },
    });
    await call('get', '/v1/sandboxes');
    await call('get', '/v1/sandboxes/{id}', { params: sandbox });
    await call('delete', '/v1/sandboxes/{id}', { params: sandbox });
    await call('get', '/v1/audit');
    expect(found).toEqual([]);
  });

  it('tells an answer that differs from its schema', () => {
    const schema = { $ref: '#/components/schemas/PendingReasonDto' };
    expect(differences(doc, schema, { code: 'NO_READY_NODE', message: 'no node', extra: 1 }, '$')).toEqual(['$.extra is not in the document']);
    expect(differences(doc, schema, { code: 'NO_READY_NODE' }, '$')).toEqual(['$.message is required but absent']);
    expect(differences(doc, schema, null, '$')).toEqual(['$ is null, which the document does not allow']);
    const me = doc.paths['/v1/me']?.get?.responses['200']?.content?.['application/json']?.schema ?? {};
    expect(differences(doc, me, { kind: 'admin' }, '$')).toEqual([]);
    expect(differences(doc, me, { kind: 'tenant' }, '$')).toEqual([expect.stringMatching(/^\$ has none of its documented forms: .*\$\.tenant is required but absent/)]);
  });
});
