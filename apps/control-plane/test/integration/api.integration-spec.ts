import { afterAll, beforeAll, describe, expect } from '@jest/globals';
import { itIf } from '@moat/test-support';
import { bodyOf, DATABASES, startApp, type TestApp } from './support/harness';

describe.each(DATABASES)('REST API on $label', ({ kind, skip }) => {
  let t: TestApp;

  beforeAll(async () => {
    if (!skip) t = await startApp(kind);
  });
  afterAll(async () => {
    await t?.close();
  });

  async function createTenant(name: string, quota?: object): Promise<{ id: string; apiKey: string }> {
    const res = await t.api().post('/v1/tenants').set(t.admin()).send({ name, quota }).expect(201);
    return bodyOf(res);
  }

  itIf(!skip)('serves /healthz without auth', async () => {
    await t.api().get('/healthz').expect(200, { status: 'ok' });
  });

  itIf(!skip)('answers 401 without a valid bearer token', async () => {
    for (const headers of [{}, { Authorization: 'Bearer nope' }, { Authorization: `Basic ${t.adminToken}` }]) {
      const res = await t.api().get('/v1/sandboxes').set(headers).expect(401);
      expect(res.body).toEqual({ error: { code: 'UNAUTHENTICATED', message: expect.any(String) } });
    }
    await t.api().get('/v1/sandboxes').set({ Authorization: 'Bearer moat_notarealkey' }).expect(401);
  });

  itIf(!skip)('creates tenants, shows the API key only once, and refuses duplicates', async () => {
    const created = await t.api()
      .post('/v1/tenants')
      .set(t.admin())
      .send({ name: 'acme', quota: { maxSandboxes: 3 } })
      .expect(201);
    expect(created.body).toMatchObject({
      name: 'acme',
      quota: { maxSandboxes: 3, maxVcpus: 16, maxMemoryMiB: 16384 },
      apiKey: expect.stringMatching(/^moat_/),
    });
    const { id } = created.body;

    const one = await t.api().get(`/v1/tenants/${id}`).set(t.admin()).expect(200);
    expect(one.body).toEqual({ id, name: 'acme', state: 'active', quota: created.body.quota, createdAt: created.body.createdAt });
    const all = await t.api().get('/v1/tenants').set(t.admin()).expect(200);
    expect(bodyOf<{ name: string }[]>(all).map((x: { name: string }) => x.name)).toEqual(expect.arrayContaining(['default', 'acme']));
    expect(JSON.stringify(all.body)).not.toContain(created.body.apiKey);

    const dup = await t.api().post('/v1/tenants').set(t.admin()).send({ name: 'acme' }).expect(409);
    expect(dup.body.error.code).toBe('CONFLICT');
    await t.api().get('/v1/tenants/00000000-0000-4000-8000-000000000000').set(t.admin()).expect(404);

    // The key works, but not for admin routes.
    const key = { Authorization: `Bearer ${created.body.apiKey}` };
    await t.api().get('/v1/sandboxes').set(key).expect(200, []);
    const forbidden = await t.api().get('/v1/tenants').set(key).expect(403);
    expect(forbidden.body.error.code).toBe('FORBIDDEN');
    await t.api().get('/v1/nodes').set(key).expect(403);
  });

  itIf(!skip)('rejects invalid bodies with VALIDATION_FAILED listing the problems', async () => {
    const cases: [string, object][] = [
      ['/v1/tenants', { name: '' }],
      ['/v1/tenants', { name: 'ok', extra: true }],
      ['/v1/tenants', { name: 'ok', quota: { maxVcpus: -1 } }],
      ['/v1/sandboxes', { vcpus: 0 }],
      ['/v1/sandboxes', { vcpus: 33 }],
      ['/v1/sandboxes', { memoryMiB: 64 }],
      ['/v1/sandboxes', { vcpus: 'two' }],
      ['/v1/sandboxes', { env: { '1BAD': 'x' } }],
      ['/v1/sandboxes', { labels: { ok: 5 } }],
      ['/v1/sandboxes', { tenantId: 'not-a-uuid' }],
      ['/v1/sandboxes', { networkModel: 'vde' }],
      ['/v1/sandboxes', { network: 'yes' }],
      ['/v1/sandboxes', { ports: [{ containerPort: 0, protocol: 'tcp' }] }],
      ['/v1/sandboxes', { ports: [{ containerPort: 80, protocol: 'sctp' }] }],
      ['/v1/sandboxes', { ports: [{ containerPort: 80, hostPort: 70000, protocol: 'tcp' }] }],
      ['/v1/sandboxes', { ports: { containerPort: 80 } }],
    ];
    for (const [path, body] of cases) {
      const res = await t.api().post(path).set(t.admin()).send(body);
      expect({ status: res.status, body }).toMatchObject({ status: 400 });
      expect(res.body.error.code).toBe('VALIDATION_FAILED');
      expect(res.body.error.message.length).toBeGreaterThan(0);
    }
    const both = await t.api().post('/v1/sandboxes').set(t.admin()).send({ vcpus: 0, memoryMiB: 1, bogus: 1 }).expect(400);
    expect(both.body.error.message).toMatch(/vcpus.*memoryMiB|memoryMiB.*vcpus/s);
    expect(both.body.error.message).toContain('bogus');
    await t.api().get('/v1/sandboxes?state=sleeping').set(t.admin()).expect(400);
  });

  itIf(!skip)('refuses a bad egress policy or dns setting, and egress without a network, with 400 in the common shape', async () => {
    const cases: [object, string | RegExp][] = [
      [{ egress: { default: 'deny', allow: ['10.0.0.0/8', '10.1.2.0/40'] } }, 'egress.allow: each value in allow must be an IPv4 CIDR such as 10.0.0.0/8 ("10.1.2.0/40" is not)'],
      [{ egress: { default: 'sometimes' } }, /^egress\.default: default must be one of the following values: allow, deny$/],
      [{ egress: { default: 'deny', deny: Array.from({ length: 65 }, (_, i) => `10.${i}.0.0/16`) } }, /^egress\.deny: deny must contain no more than 64 elements$/],
      [{ dns: { servers: ['192.0.2.300'] } }, 'dns.servers: each value in servers must be an IPv4 address such as 192.0.2.53 ("192.0.2.300" is not)'],
      [{ network: false, egress: { default: 'deny' } }, 'egress cannot be set with network: false: a sandbox without a network interface sends no traffic to fence'],
    ];
    for (const [body, message] of cases) {
      const res = await t.api().post('/v1/sandboxes').set(t.admin()).send(body);
      expect({ status: res.status, body }).toMatchObject({ status: 400 });
      expect(res.body).toEqual({ error: { code: 'VALIDATION_FAILED', message: typeof message === 'string' ? message : expect.stringMatching(message) } });
    }
    const all = bodyOf<{ egress: unknown }[]>(await t.api().get('/v1/sandboxes').set(t.admin()).expect(200));
    expect(all.filter((s) => s.egress !== null)).toEqual([]);
  });

  itIf(!skip)('answers malformed JSON with 400 and a 2 MiB body with 413', async () => {
    const bad = await t.api()
      .post('/v1/tenants')
      .set(t.admin())
      .set('content-type', 'application/json')
      .send('{"name": "x"')
      .expect(400);
    expect(bad.body.error.code).toBe('MALFORMED_JSON');

    const huge = JSON.stringify({ name: 'x', padding: 'a'.repeat(2 * 1024 * 1024) });
    const large = await t.api().post('/v1/sandboxes').set(t.admin()).set('content-type', 'application/json').send(huge);
    expect(large.status).toBe(413);
    expect(large.body.error.code).toBe('PAYLOAD_TOO_LARGE');
    // The server is still fine afterwards.
    await t.api().get('/healthz').expect(200);
  });

  itIf(!skip)('answers unknown routes with NOT_FOUND in the common shape', async () => {
    const res = await t.api().get('/v2/nothing').set(t.admin()).expect(404);
    expect(res.body.error.code).toBe('NOT_FOUND');
  });

  itIf(!skip)('hides other tenants\u2019 sandboxes behind 404', async () => {
    const a = await createTenant('tenant-a');
    const b = await createTenant('tenant-b');
    const asA = { Authorization: `Bearer ${a.apiKey}` };
    const asB = { Authorization: `Bearer ${b.apiKey}` };
    const created = await t.api().post('/v1/sandboxes').set(asA).send({ labels: { app: 'x' } }).expect(201);
    expect(created.body).toMatchObject({ tenantId: a.id, state: 'pending', nodeId: null, vcpus: 1, memoryMiB: 256 });
    const id: string = created.body.id;

    await t.api().get(`/v1/sandboxes/${id}`).set(asA).expect(200);
    for (const path of [`/v1/sandboxes/${id}`, '/v1/sandboxes/00000000-0000-4000-8000-000000000000', '/v1/sandboxes/junk']) {
      const res = await t.api().get(path).set(asB).expect(404);
      expect(res.body.error.code).toBe('NOT_FOUND');
    }
    await t.api().delete(`/v1/sandboxes/${id}`).set(asB).expect(404);
    await t.api().post(`/v1/sandboxes/${id}/exec`).set(asB).send({ command: ['true'] }).expect(404);
    await t.api().get('/v1/sandboxes').set(asB).expect(200, []);
    const adminList = await t.api().get('/v1/sandboxes').set(t.admin()).expect(200);
    expect(bodyOf<{ id: string }[]>(adminList).map((s: { id: string }) => s.id)).toContain(id);
    const tenantB = await t.api().post('/v1/sandboxes').set(asB).send({ tenantId: a.id }).expect(403);
    expect(tenantB.body.error.code).toBe('FORBIDDEN');

    // Never placed: removed at once.
    await t.api().delete(`/v1/sandboxes/${id}`).set(asA).expect(202);
    await t.api().get(`/v1/sandboxes/${id}`).set(asA).expect(404);
  });

  itIf(!skip)('enforces quotas with 403 QUOTA_EXCEEDED, also under concurrent requests', async () => {
    const tenant = await createTenant('small', { maxSandboxes: 3, maxVcpus: 4, maxMemoryMiB: 4096 });
    const auth = { Authorization: `Bearer ${tenant.apiKey}` };
    const results = await Promise.all(Array.from({ length: 6 }, () => t.api().post('/v1/sandboxes').set(auth).send({})));
    expect(results.filter((r) => r.status === 201)).toHaveLength(3);
    const refused = results.filter((r) => r.status === 403);
    expect(refused).toHaveLength(3);
    expect(refused[0].body.error.code).toBe('QUOTA_EXCEEDED');

    const list = await t.api().get('/v1/sandboxes').set(auth).expect(200);
    await t.api().delete(`/v1/sandboxes/${list.body[0].id}`).set(auth).expect(202);
    const big = await t.api().post('/v1/sandboxes').set(auth).send({ vcpus: 3 }).expect(403);
    expect(big.body.error.message).toContain('vcpus');
    await t.api().post('/v1/sandboxes').set(auth).send({ vcpus: 2 }).expect(201);
  });

  itIf(!skip)('puts admin sandboxes without tenantId into the default tenant', async () => {
    const tenants = await t.api().get('/v1/tenants').set(t.admin()).expect(200);
    const list = bodyOf<{ id: string; name: string }[]>(tenants);
    const defaultTenant = list.find((x) => x.name === 'default');
    const res = await t.api().post('/v1/sandboxes').set(t.admin()).send({ image: 'busybox' }).expect(201);
    const badRootfs = await t.api().post('/v1/sandboxes').set(t.admin()).send({ image: 'busybox', rootfs: 'nfs', command: [] }).expect(400);
    expect(badRootfs.body.error.message).toMatch(/rootfs.*command|command.*rootfs/s);
    expect(res.body.tenantId).toBe(defaultTenant?.id);
    const acme = list.find((x) => x.name === 'acme');
    const named = await t.api().post('/v1/sandboxes').set(t.admin()).send({ tenantId: acme?.id }).expect(201);
    expect(named.body.tenantId).toBe(acme?.id);
  });

  itIf(!skip)('allows cross-origin calls', async () => {
    const res = await t.api().get('/healthz').set('Origin', 'http://localhost:3000').expect(200);
    expect(res.headers['access-control-allow-origin']).toBe('*');
  });

  itIf(!skip)('serves the OpenAPI document with every route and the bearer scheme', async () => {
    const res = await t.api().get('/docs-json').expect(200);
    expect(res.body.openapi).toMatch(/^3\./);
    expect(Object.keys(bodyOf<{ paths: object }>(res).paths)).toEqual(
      expect.arrayContaining([
        '/healthz',
        '/v1/tenants',
        '/v1/tenants/{id}',
        '/v1/nodes',
        '/v1/nodes/{id}',
        '/v1/sandboxes',
        '/v1/sandboxes/{id}',
        '/v1/sandboxes/{id}/exec',
      ]),
    );
    expect(res.body.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(res.body.components.schemas).toHaveProperty('SandboxDto');

    // The fences are described field by field, not as free-form objects.
    const schemas = bodyOf<{ components: { schemas: Record<string, { properties: Record<string, unknown>; required?: string[] }> } }>(res).components.schemas;
    const cidrs = { type: 'array', items: { type: 'string', format: 'ipv4-cidr' }, maxItems: 64 };
    expect(schemas.EgressPolicyDto).toMatchObject({
      required: ['default'],
      properties: { default: { type: 'string', enum: ['allow', 'deny'] }, allow: cidrs, deny: cidrs },
    });
    expect(schemas.DnsConfigDto.required).toBeUndefined();
    expect(schemas.DnsConfigDto.properties).toMatchObject({
      servers: { type: 'array', items: { type: 'string', format: 'ipv4' }, minItems: 1, maxItems: 3 },
      search: { type: 'array', items: { type: 'string', format: 'hostname' }, maxItems: 6 },
      options: { type: 'array', items: { type: 'string' }, maxItems: 8 },
    });
    expect(schemas.SandboxIsolationDto).toMatchObject({
      required: ['jailed', 'uid', 'seccomp'],
      properties: { jailed: { type: 'boolean' }, uid: { type: 'integer', minimum: 0 }, seccomp: { type: 'boolean' }, cgroup: { type: 'string' } },
    });
    const ref = (name: string) => ({ allOf: [{ $ref: `#/components/schemas/${name}` }] });
    for (const request of ['CreateSandboxDto', 'CreateTemplateDto', 'TemplateSpecDto']) {
      expect({ request, properties: schemas[request].properties }).toMatchObject({ properties: { egress: ref('EgressPolicyDto'), dns: ref('DnsConfigDto') } });
    }
    expect(schemas.SandboxDto.properties).toMatchObject({
      egress: { nullable: true, ...ref('EgressPolicyDto') },
      dns: { nullable: true, ...ref('DnsConfigDto') },
      isolation: { nullable: true, ...ref('SandboxIsolationDto') },
    });
    expect(schemas.TemplateVersionDto.properties).toMatchObject({
      egress: { $ref: '#/components/schemas/EgressPolicyDto' },
      dns: { $ref: '#/components/schemas/DnsConfigDto' },
    });
    expect(schemas.NodeDto.properties.jailed).toMatchObject({ type: 'boolean' });
    expect(schemas.NodeDto.required).toContain('jailed');
    await t.api().get('/docs').expect(200);
  });
});
