import { afterAll, beforeAll, describe, expect } from '@jest/globals';
import { itIf } from '@moat/test-support';
import { bodyOf, DATABASES, startApp, type TestApp } from './support/harness';

describe.each(DATABASES)('templates on $label', ({ kind, skip }) => {
  let t: TestApp;
  let keys: { a: string; b: string };
  const as = (key: string): Record<string, string> => ({ Authorization: `Bearer ${key}` });

  beforeAll(async () => {
    if (skip) return;
    t = await startApp(kind);
    const tenant = async (name: string): Promise<string> =>
      bodyOf<{ apiKey: string }>(await t.api().post('/v1/tenants').set(as(t.adminToken)).send({ name }).expect(201)).apiKey;
    keys = { a: await tenant('a'), b: await tenant('b') };
  });
  afterAll(async () => {
    await t?.close();
  });

  itIf(!skip)('numbers immutable versions and keeps every one readable', async () => {
    const v1 = { vcpus: 1, memoryMiB: 256, env: { A: '1' }, healthCheck: { command: ['true'] } };
    const created = bodyOf<{ id: string; version: number }>(
      await t.api().post('/v1/templates').set(as(keys.a)).send({ name: 'api', ...v1 }).expect(201),
    );
    expect(created).toMatchObject({ name: 'api', version: 1, ...v1 });
    const v2 = { vcpus: 2, memoryMiB: 512, image: 'docker.io/library/busybox:latest' };
    const second = await t.api().post(`/v1/templates/${created.id}/versions`).set(as(keys.a)).send(v2).expect(201);
    expect(second.body).toMatchObject({ id: created.id, version: 2, ...v2 });
    expect(second.body).not.toHaveProperty('env');

    const detail = (await t.api().get(`/v1/templates/${created.id}`).set(as(keys.a)).expect(200)).body;
    expect(detail).toMatchObject({ id: created.id, latestVersion: 2, versions: [{ version: 1, ...v1 }, { version: 2, ...v2 }] });
    const one = await t.api().get(`/v1/templates/${created.id}/versions/1`).set(as(keys.a)).expect(200);
    expect(one.body).toMatchObject({ version: 1, env: { A: '1' } });
    await t.api().get(`/v1/templates/${created.id}/versions/3`).set(as(keys.a)).expect(404);
    await t.api().post('/v1/templates').set(as(keys.a)).send({ name: 'api', ...v1 }).expect(409);
  });

  itIf(!skip)('keeps an egress policy and dns settings in a version', async () => {
    const egress = { default: 'allow', deny: ['203.0.113.0/24'] };
    const dns = { servers: ['192.0.2.53'] };
    const created = bodyOf<{ id: string }>(
      await t.api().post('/v1/templates').set(as(keys.a)).send({ name: 'fenced', vcpus: 1, memoryMiB: 128, egress, dns }).expect(201),
    );
    expect(created).toMatchObject({ version: 1, egress, dns });
    const second = await t.api().post(`/v1/templates/${created.id}/versions`).set(as(keys.a)).send({ vcpus: 1, memoryMiB: 128 }).expect(201);
    expect(second.body).not.toHaveProperty('egress');
    expect(second.body).not.toHaveProperty('dns');
    const one = await t.api().get(`/v1/templates/${created.id}/versions/1`).set(as(keys.a)).expect(200);
    expect(one.body).toMatchObject({ egress, dns });
  });

  itIf(!skip)('keeps templates to their tenant; the admin sees all', async () => {
    const own = bodyOf<{ id: string }>(
      await t.api().post('/v1/templates').set(as(keys.b)).send({ name: 'worker', vcpus: 1, memoryMiB: 128 }).expect(201),
    );
    await t.api().get(`/v1/templates/${own.id}`).set(as(keys.a)).expect(404);
    await t.api().post(`/v1/templates/${own.id}/versions`).set(as(keys.a)).send({ vcpus: 1, memoryMiB: 128 }).expect(404);
    const listed = (await t.api().get('/v1/templates').set(as(keys.a)).expect(200)).body as { id: string }[];
    expect(listed.map((x) => x.id)).not.toContain(own.id);
    const all = (await t.api().get('/v1/templates').set(as(t.adminToken)).expect(200)).body as { id: string }[];
    expect(all.map((x) => x.id)).toContain(own.id);
  });

  itIf(!skip)('rejects invalid specs', async () => {
    const bad = [
      { name: 'x', vcpus: 0, memoryMiB: 128 },
      { name: 'x', vcpus: 1 },
      { name: 'Bad Name', vcpus: 1, memoryMiB: 128 },
      { name: 'x', vcpus: 1, memoryMiB: 128, healthCheck: { command: [] } },
      { name: 'x', vcpus: 1, memoryMiB: 128, rootfs: 'nfs' },
      { name: 'x', vcpus: 1, memoryMiB: 128, egress: { default: 'deny', allow: ['10.0.0/8'] } },
      { name: 'x', vcpus: 1, memoryMiB: 128, egress: { default: 'maybe' } },
      { name: 'x', vcpus: 1, memoryMiB: 128, dns: { servers: ['dns.example.com'] } },
    ];
    for (const body of bad) {
      const res = await t.api().post('/v1/templates').set(as(keys.a)).send(body).expect(400);
      expect(res.body.error.code).toBe('VALIDATION_FAILED');
    }
  });
});
