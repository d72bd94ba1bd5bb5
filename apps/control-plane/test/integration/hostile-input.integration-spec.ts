import { ATTACH_NAMESPACE, type AckReply } from '@moat/proto';
import { io, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect } from '@jest/globals';
import { itIf } from '@moat/test-support';
import { bodyOf, DATABASES, startApp, type TestApp } from './support/harness';

/** JSON text nesting `levels` arrays inside each other, under `key`. */
const deepBody = (levels: number): string => `{"name":"deep","a":${'['.repeat(levels)}${']'.repeat(levels)}}`;

// Requests from the hostile-input campaign (and the API fuzzer) that once answered 5xx, a
// malformed error body, or were taken when they should have been refused.
describe.each(DATABASES)('hostile input on $label', ({ kind, skip }) => {
  let t: TestApp;
  let tenant: { id: string; apiKey: string };

  beforeAll(async () => {
    if (skip) return;
    t = await startApp(kind);
    tenant = bodyOf(await t.api().post('/v1/tenants').set(t.admin()).send({ name: 'hostile' }).expect(201));
  });
  afterAll(async () => {
    await t?.close();
  });

  const expectRefusal = (res: { status: number; body: unknown }, status: number, code: string, message?: string | RegExp): void => {
    expect(res.status).toBe(status);
    expect(res.body).toEqual({ error: { code, message: message === undefined ? expect.any(String) : typeof message === 'string' ? message : expect.stringMatching(message) } });
  };

  itIf(!skip)('refuses JSON nested 1,500 levels deep with 400 on every route, before validation overflows its stack', async () => {
    const routes: [string, string][] = [
      ['post', '/v1/tenants'],
      ['post', '/v1/sandboxes'],
      ['post', '/v1/templates'],
      ['patch', `/v1/tenants/${tenant.id}`],
      ['post', `/v1/tenants/${tenant.id}/suspend`],
    ];
    for (const [method, path] of routes) {
      const res = await t.api()[method as 'post' | 'patch'](path).set(t.admin()).set('content-type', 'application/json').send(deepBody(1500));
      expectRefusal(res, 400, 'VALIDATION_FAILED', 'request body nests deeper than 64 levels');
    }
    await t.api().get('/healthz').expect(200);
  });

  itIf(!skip)('refuses __proto__, constructor and prototype keys as unknown fields, wherever they are', async () => {
    const cases: [string, string, string][] = [
      ['/v1/tenants', '{"name":"proto-a","__proto__":{"isAdmin":true}}', 'property __proto__ should not exist'],
      ['/v1/tenants', '{"name":"proto-b","quota":{"constructor":{"prototype":{}}}}', 'quota.constructor: property constructor should not exist'],
      ['/v1/sandboxes', '{"labels":{"prototype":"x"}}', 'labels.prototype: property prototype should not exist'],
    ];
    for (const [path, body, message] of cases) {
      const res = await t.api().post(path).set(t.admin()).set('content-type', 'application/json').send(body);
      expectRefusal(res, 400, 'VALIDATION_FAILED', message);
    }
    const names = bodyOf<{ name: string }[]>(await t.api().get('/v1/tenants').set(t.admin()).expect(200)).map((x) => x.name);
    expect(names).not.toContain('proto-a');
    const query = await t.api().get('/v1/sandboxes?__proto__=x').set(t.admin());
    expectRefusal(query, 400, 'VALIDATION_FAILED', 'property __proto__ should not exist');
  });

  itIf(!skip)('refuses blank strings where a blank means nothing, naming the field', async () => {
    const key = { Authorization: `Bearer ${tenant.apiKey}` };
    expectRefusal(await t.api().post('/v1/sandboxes').set(key).send({ image: ' ' }), 400, 'VALIDATION_FAILED', 'image must not be blank');
    expectRefusal(await t.api().post('/v1/templates').set(key).send({ name: 'web', vcpus: 1, memoryMiB: 128, image: '\t' }), 400, 'VALIDATION_FAILED', 'image must not be blank');
    expectRefusal(await t.api().post(`/v1/tenants/${tenant.id}/api-keys`).set(key).send({ name: '  ' }), 400, 'VALIDATION_FAILED', 'name must not be blank');
    expectRefusal(await t.api().post('/v1/tenants').set(t.admin()).send({ name: ' ' }), 400, 'VALIDATION_FAILED', /^name must be/);
    expectRefusal(await t.api().post('/v1/sandboxes').set(key).send({ labels: { ' ': 'x' } }), 400, 'VALIDATION_FAILED', /^labels key " " is invalid/);
  });

  itIf(!skip)('refuses exec with a relative cwd or a blank program with 400 before looking for the sandbox', async () => {
    const exec = (body: object) => t.api().post('/v1/sandboxes/00000000-0000-4000-8000-000000000000/exec').set(t.admin()).send(body);
    expectRefusal(await exec({ command: ['ls'], cwd: 'tmp' }), 400, 'VALIDATION_FAILED', /^cwd must be an absolute path/);
    expectRefusal(await exec({ command: [''] }), 400, 'VALIDATION_FAILED', /^command must start with the program to run/);
    expectRefusal(await exec({ command: ['ls'], cwd: '/tmp' }), 404, 'NOT_FOUND');
  });

  itIf(!skip)('refuses null for an optional object instead of failing on it with 500', async () => {
    expectRefusal(await t.api().post('/v1/tenants').set(t.admin()).send({ name: 'nulled', quota: null }), 400, 'VALIDATION_FAILED', 'quota must not be null (leave it out instead)');
  });

  itIf(!skip)('answers a body it cannot decode, and a 20 KiB URL, in the common error shape', async () => {
    const latin1 = await t.api().post('/v1/tenants').set(t.admin()).set('content-type', 'application/json; charset=latin1').send('{"name":"x"}');
    expectRefusal(latin1, 415, 'UNSUPPORTED_MEDIA_TYPE', 'unsupported charset "LATIN1"');
    const compressed = await t.api().post('/v1/tenants').set(t.admin()).set('content-type', 'application/json').set('content-encoding', 'compress').send('{}');
    expectRefusal(compressed, 415, 'UNSUPPORTED_MEDIA_TYPE');
    const long = await fetch(`${t.baseUrl}/v1/sandboxes/${'x'.repeat(20_000)}`, { headers: t.admin() });
    expect(long.status).toBe(431);
    expect(await long.json()).toEqual({ error: { code: 'HEADERS_TOO_LARGE', message: 'request line and headers exceed 16 KiB' } });
    await t.api().get('/healthz').expect(200);
  });

  itIf(!skip)('refuses NUL characters and integers no column holds with 400, also on PostgreSQL', async () => {
    expectRefusal(await t.api().get('/v1/sandboxes/a%00b').set(t.admin()), 400, 'VALIDATION_FAILED', 'id must not contain NUL characters');
    expectRefusal(await t.api().get('/v1/audit?actor=a%00').set(t.admin()), 400, 'VALIDATION_FAILED', 'actor must not contain NUL characters');
    expectRefusal(await t.api().post(`/v1/tenants/${tenant.id}/api-keys`).set(t.admin()).send({ name: 'a\0b' }), 400, 'VALIDATION_FAILED', 'name must not contain NUL characters');
    expectRefusal(await t.api().get('/v1/audit?before=2147483648').set(t.admin()), 400, 'VALIDATION_FAILED', /^before must not be greater than 2147483647/);
    expectRefusal(await t.api().get('/v1/audit?since=-271821-04-20T00:00:00.000Z').set(t.admin()), 400, 'VALIDATION_FAILED', /since/);
    const key = { Authorization: `Bearer ${tenant.apiKey}` };
    const template = bodyOf<{ id: string }>(await t.api().post('/v1/templates').set(key).send({ name: 'huge', vcpus: 1, memoryMiB: 128 }).expect(201));
    const deployment = { templateId: template.id, templateVersion: 2 ** 53, replicas: 0, strategy: { type: 'immediate' } };
    expectRefusal(await t.api().post('/v1/deployments').set(key).send(deployment), 400, 'VALIDATION_FAILED', /templateVersion must not be greater than 2147483647/);
    expectRefusal(await t.api().get(`/v1/templates/${template.id}/versions/99999999999`).set(key), 400, 'VALIDATION_FAILED', 'version must be a whole number from 1 to 2147483647');
    expectRefusal(await t.api().get(`/v1/templates/${template.id}/versions/0`).set(key), 400, 'VALIDATION_FAILED');
    await t.api().get(`/v1/templates/${template.id}/versions/1`).set(key).expect(200);
  });

  itIf(!skip)('keeps auditing when a request carried a NUL or an overlong id in its path', async () => {
    // Recorded in one batch with an ordinary action: a value PostgreSQL refuses would lose both.
    await t.api().post('/v1/tenants/a%00b/suspend').set(t.admin()).expect(400);
    await t.api().post(`/v1/tenants/${'t'.repeat(40)}/suspend`).set(t.admin()).expect(404);
    await t.api().post('/v1/tenants').set(t.admin()).send({ name: 'audited' }).expect(201);
    const { items } = bodyOf<{ items: { action: string; targetId: string | null; tenantId: string | null; status: number }[] }>(
      await t.api().get('/v1/audit?action=tenant.suspend').set(t.admin()).expect(200),
    );
    expect(items).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ targetId: 'a\ufffdb', status: 400 }),
        expect.objectContaining({ targetId: 't'.repeat(40), tenantId: null, status: 404 }),
      ]),
    );
    const created = bodyOf<{ items: unknown[] }>(await t.api().get('/v1/audit?action=tenant.create').set(t.admin()).expect(200));
    expect(created.items.length).toBeGreaterThan(0);
  });

  itIf(!skip)('refuses the same mistakes in attach:start as REST does', async () => {
    const socket: Socket = io(`${t.baseUrl}${ATTACH_NAMESPACE}`, {
      transports: ['websocket'],
      auth: { token: tenant.apiKey },
      reconnection: false,
      forceNew: true,
    });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('connect_error', reject);
    });
    try {
      const start = (payload: unknown) => socket.timeout(5_000).emitWithAck('attach:start', payload) as Promise<AckReply<unknown>>;
      const sandboxId = '00000000-0000-4000-8000-000000000000';
      const refused = async (payload: unknown, message: string | RegExp): Promise<void> => {
        expect(await start(payload)).toEqual({ ok: false, error: { code: 'VALIDATION_FAILED', message: typeof message === 'string' ? message : expect.stringMatching(message) } });
      };
      await refused({ sandboxId, cwd: 'relative' }, 'cwd: must be an absolute path, starting with "/" and without NUL characters');
      await refused({ sandboxId, command: [' '] }, 'command: must start with the program to run (its first element is blank)');
      await refused({ sandboxId, env: { '1BAD': 'x' } }, /^env: key "1BAD" is invalid/);
      await refused(JSON.parse(`{"sandboxId":"${sandboxId}","env":{"__proto__":"x"}}`), 'env.__proto__: property __proto__ should not exist');
      await refused(JSON.parse(`{"sandboxId":"${sandboxId}","window":${'['.repeat(1500)}${']'.repeat(1500)}}`), 'attach:start payload nests deeper than 64 levels');
      // A well-formed request gets past validation to the sandbox lookup.
      expect(await start({ sandboxId, cwd: '/tmp' })).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
    } finally {
      socket.close();
    }
  });
});
