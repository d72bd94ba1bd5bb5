import { UI_NAMESPACE } from '@moat/proto';
import { io, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect } from '@jest/globals';
import { eventually, itIf } from '@moat/test-support';
import { bodyOf, DATABASES, startApp, type TestApp } from './support/harness';

interface Tenant {
  id: string;
  apiKey: string;
}
interface AuditItem {
  id: string;
  actor: { kind: string; id: string };
  tenantId: string | null;
  action: string;
  targetType: string;
  targetId: string | null;
  result: string;
  status: number;
  message: string | null;
}

describe.each(DATABASES)('tenants, audit and metrics on $label', ({ kind, skip }) => {
  let t: TestApp;
  const bearer = (key: string): Record<string, string> => ({ Authorization: `Bearer ${key}` });

  beforeAll(async () => {
    if (!skip) t = await startApp(kind);
  });
  afterAll(async () => {
    await t?.close();
  });

  async function tenant(name: string, quota?: object): Promise<Tenant> {
    return bodyOf(await t.api().post('/v1/tenants').set(t.admin()).send({ name, quota }).expect(201));
  }

  itIf(!skip)('enforces quotas atomically under racing creates, and reports usage', async () => {
    const racer = await tenant('racer', { maxSandboxes: 50, maxVcpus: 7, maxMemoryMiB: 100_000 });
    // 20 concurrent creates of 1 vCPU each against 7 vCPUs: exactly 7 win.
    const results = await Promise.all(
      Array.from({ length: 20 }, () => t.api().post('/v1/sandboxes').set(bearer(racer.apiKey)).send({ vcpus: 1 })),
    );
    const statuses = results.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 201)).toHaveLength(7);
    expect(statuses.filter((s) => s === 403)).toHaveLength(13);
    const refused = results.find((r) => r.status === 403);
    expect(refused?.body.error).toEqual({ code: 'QUOTA_EXCEEDED', message: expect.stringContaining('vcpus: 7 in use + 1 requested > limit 7') });

    const usage = await t.api().get(`/v1/tenants/${racer.id}/usage`).set(bearer(racer.apiKey)).expect(200);
    expect(usage.body).toEqual({ sandboxes: 7, vcpus: 7, memoryMiB: 7 * 256, quota: { maxSandboxes: 50, maxVcpus: 7, maxMemoryMiB: 100_000 } });

    // Raising the quota lets one more in; lowering it keeps what runs but admits nothing.
    const raised = await t.api().patch(`/v1/tenants/${racer.id}`).set(t.admin()).send({ quota: { maxVcpus: 8 } }).expect(200);
    expect(raised.body.quota).toEqual({ maxSandboxes: 50, maxVcpus: 8, maxMemoryMiB: 100_000 });
    await t.api().post('/v1/sandboxes').set(bearer(racer.apiKey)).send({}).expect(201);
    await t.api().post('/v1/sandboxes').set(bearer(racer.apiKey)).send({}).expect(403);
    await t.api().patch(`/v1/tenants/${racer.id}`).set(bearer(racer.apiKey)).send({ quota: { maxVcpus: 99 } }).expect(403);
    await t.api().patch(`/v1/tenants/${racer.id}`).set(t.admin()).send({ quota: { maxVcpus: -1 } }).expect(400);

    // Another tenant's usage is not there for this one.
    const other = await tenant('other-usage');
    await t.api().get(`/v1/tenants/${other.id}/usage`).set(bearer(racer.apiKey)).expect(404);
    const adminView = await t.api().get(`/v1/tenants/${racer.id}/usage`).set(t.admin()).expect(200);
    expect(adminView.body.sandboxes).toBe(8);
  });

  itIf(!skip)('suspends a tenant: it can still read, but not create, until resumed', async () => {
    const sleepy = await tenant('sleepy');
    const suspended = await t.api().post(`/v1/tenants/${sleepy.id}/suspend`).set(t.admin()).expect(200);
    expect(suspended.body).toMatchObject({ id: sleepy.id, state: 'suspended' });
    const refused = await t.api().post('/v1/sandboxes').set(bearer(sleepy.apiKey)).send({}).expect(403);
    expect(refused.body.error.code).toBe('TENANT_SUSPENDED');
    await t.api().post('/v1/sandboxes').set(t.admin()).send({ tenantId: sleepy.id }).expect(403);
    const me = await t.api().get('/v1/me').set(bearer(sleepy.apiKey)).expect(200);
    expect(me.body).toEqual({
      kind: 'tenant',
      tenant: { id: sleepy.id, name: 'sleepy', state: 'suspended', quota: expect.any(Object), createdAt: expect.any(String) },
    });
    await t.api().get('/v1/sandboxes').set(bearer(sleepy.apiKey)).expect(200);
    await t.api().post(`/v1/tenants/${sleepy.id}/resume`).set(bearer(sleepy.apiKey)).expect(403);

    const resumed = await t.api().post(`/v1/tenants/${sleepy.id}/resume`).set(t.admin()).expect(200);
    expect(resumed.body.state).toBe('active');
    await t.api().post('/v1/sandboxes').set(bearer(sleepy.apiKey)).send({}).expect(201);
    expect((await t.api().get('/v1/me').set(t.admin()).expect(200)).body).toEqual({ kind: 'admin' });
    await t.api().get('/v1/me').set(bearer('moat_revoked-or-unknown')).expect(401);
  });

  itIf(!skip)('lists, creates and revokes API keys; a revoked key gets 401', async () => {
    const acme = await tenant('keys-acme');
    const stranger = await tenant('keys-stranger');
    const created = await t.api().post(`/v1/tenants/${acme.id}/api-keys`).set(bearer(acme.apiKey)).send({ name: 'ci' }).expect(201);
    expect(created.body).toEqual({
      id: expect.any(String),
      name: 'ci',
      prefix: expect.stringMatching(/^moat_/),
      key: expect.stringMatching(/^moat_/),
      createdAt: expect.any(String),
    });
    const newKey = bodyOf<{ id: string; key: string; prefix: string }>(created);
    expect(newKey.key.startsWith(newKey.prefix)).toBe(true);
    const ci = bearer(newKey.key);
    expect((await t.api().get('/v1/me').set(ci).expect(200)).body.tenant.id).toBe(acme.id);

    const listed = bodyOf<{ id: string; revokedAt: string | null }[]>(await t.api().get(`/v1/tenants/${acme.id}/api-keys`).set(t.admin()).expect(200));
    expect(listed).toHaveLength(2);
    expect(JSON.stringify(listed)).not.toContain(newKey.key);
    expect(listed.find((k) => k.id === newKey.id)).toMatchObject({
      name: 'ci',
      revokedAt: null,
      lastUsedAt: expect.any(String),
    });

    // Another tenant cannot see or touch these keys.
    await t.api().get(`/v1/tenants/${acme.id}/api-keys`).set(bearer(stranger.apiKey)).expect(404);
    await t.api().delete(`/v1/tenants/${acme.id}/api-keys/${newKey.id}`).set(bearer(stranger.apiKey)).expect(404);
    await t.api().post(`/v1/tenants/${acme.id}/api-keys`).set(bearer(stranger.apiKey)).send({}).expect(404);

    await t.api().delete(`/v1/tenants/${acme.id}/api-keys/${newKey.id}`).set(bearer(acme.apiKey)).expect(204);
    await t.api().get('/v1/me').set(ci).expect(401);
    await t.api().get('/v1/sandboxes').set(ci).expect(401);
    await t.api().get('/v1/me').set(bearer(acme.apiKey)).expect(200);
    const after = bodyOf<{ id: string; revokedAt: string | null }[]>(await t.api().get(`/v1/tenants/${acme.id}/api-keys`).set(bearer(acme.apiKey)).expect(200));
    expect(after.find((k) => k.id === newKey.id)?.revokedAt).toEqual(expect.any(String));
    await t.api().delete(`/v1/tenants/${acme.id}/api-keys/00000000-0000-4000-8000-000000000000`).set(t.admin()).expect(404);
  });

  itIf(!skip)('audits every mutating request: who, what, target, result; tenants see their own', async () => {
    const ui: Socket = io(`${t.baseUrl}${UI_NAMESPACE}`, { transports: ['websocket'], auth: { token: t.adminToken }, forceNew: true });
    const pushed: AuditItem[] = [];
    ui.on('audit:appended' as never, (entry: AuditItem) => {
      pushed.push(entry);
    });
    await new Promise((resolve) => ui.once('connect', () => resolve(undefined)));
    try {
      const auditee = await tenant('auditee');
      const keys = bodyOf<{ id: string }[]>(await t.api().get(`/v1/tenants/${auditee.id}/api-keys`).set(t.admin()).expect(200));
      const keyId = keys[0].id;
      const created = await t.api().post('/v1/sandboxes').set(bearer(auditee.apiKey)).send({ env: { SECRET: 'x' } }).expect(201);
      await t.api().post('/v1/tenants').set(bearer(auditee.apiKey)).send({ name: 'sneaky' }).expect(403);
      await t.api().post(`/v1/tenants/${auditee.id}/suspend`).set(t.admin()).expect(200);
      await t.api().post('/v1/sandboxes').set(bearer(auditee.apiKey)).send({}).expect(403);
      await t.api().get('/v1/sandboxes').set(bearer(auditee.apiKey)).expect(200);

      const all = bodyOf<{ items: AuditItem[] }>(await t.api().get('/v1/audit?limit=1000').set(t.admin()).expect(200)).items;
      const sandboxCreate = all.find((e) => e.action === 'sandbox.create' && e.targetId === created.body.id);
      expect(sandboxCreate).toMatchObject({
        actor: { kind: 'tenant', id: keyId },
        tenantId: auditee.id,
        targetType: 'sandbox',
        result: 'success',
        status: 201,
      });
      expect(all.find((e) => e.action === 'tenant.create' && e.actor.id === keyId)).toMatchObject({
        result: 'failure',
        status: 403,
      });
      expect(all.find((e) => e.action === 'tenant.suspend' && e.targetId === auditee.id)).toMatchObject({
        actor: { kind: 'admin', id: 'admin' },
        tenantId: auditee.id,
        result: 'success',
      });
      expect(all.find((e) => e.action === 'sandbox.create' && e.actor.id === keyId && e.result === 'failure')).toMatchObject({
        status: 403,
        message: expect.stringContaining('suspended'),
      });
      // Reads are not audited, and a request body never is.
      expect(all.some((e) => e.action.endsWith('.get') || e.action.endsWith('.list'))).toBe(false);
      expect(JSON.stringify(all)).not.toContain('SECRET');

      // The tenant sees its own entries only, with filters and paging.
      const own = bodyOf<{ items: AuditItem[] }>(await t.api().get('/v1/audit').set(bearer(auditee.apiKey)).expect(200)).items;
      expect(own.length).toBeGreaterThanOrEqual(4);
      expect(own.every((e) => e.tenantId === auditee.id)).toBe(true);
      const page1 = bodyOf<{ items: AuditItem[]; nextBefore: string | null }>(
        await t.api().get(`/v1/audit?limit=2&actor=${keyId}`).set(t.admin()).expect(200),
      );
      expect(page1.items).toHaveLength(2);
      expect(page1.nextBefore).toBe(page1.items[1].id);
      const page2 = bodyOf<{ items: AuditItem[] }>(
        await t.api().get(`/v1/audit?limit=2&actor=${keyId}&before=${page1.nextBefore}`).set(t.admin()).expect(200),
      );
      expect(Number(page2.items[0].id)).toBeLessThan(Number(page1.items[1].id));
      const failures = bodyOf<{ items: AuditItem[] }>(
        await t.api().get(`/v1/audit?action=sandbox.create&actor=tenant&since=${new Date(Date.now() - 60_000).toISOString()}`).set(t.admin()).expect(200),
      ).items;
      expect(failures.every((e) => e.action === 'sandbox.create' && e.actor.kind === 'tenant')).toBe(true);
      await t.api().get('/v1/audit?limit=0').set(t.admin()).expect(400);
      await t.api().get(`/v1/audit?until=${new Date(0).toISOString()}`).set(t.admin()).expect(200, { items: [], nextBefore: null });

      // Dashboards hear about new entries as they are written.
      await eventually(() => Promise.resolve(expect(pushed.some((e) => e.action === 'tenant.suspend' && e.targetId === auditee.id)).toBe(true)));
    } finally {
      ui.close();
    }
  });

  itIf(!skip)('serves Prometheus metrics on loopback: fleet, sandboxes by state, scheduling and API latency', async () => {
    await t.api().post('/v1/sandboxes').set(t.admin()).send({}).expect(201);
    const res = await t.api().get('/metrics').expect(200);
    expect(res.headers['content-type']).toContain('text/plain');
    expect(res.text).toMatch(/^moat_sandboxes\{state="pending"\} [1-9]\d*$/m);
    expect(res.text).toMatch(/^moat_nodes\{state="ready"\} 0$/m);
    expect(res.text).toContain('moat_agents_connected 0');
    expect(res.text).toMatch(/^moat_http_request_duration_seconds_count\{method="POST",route="\/v1\/sandboxes",status="201"\} [1-9]/m);
    expect(res.text).toContain('moat_scheduling_duration_seconds_bucket');
    expect(res.text).toMatch(/^process_resident_memory_bytes [1-9]/m);
    expect(res.text).toMatch(/^moat_build_info\{component="control-plane",version="\d+\.\d+\.\d+",nodejs_version="v\d+[^"]*"\} 1$/m);
  });
});
