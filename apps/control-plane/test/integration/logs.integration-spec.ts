import type { AckReply, SandboxLogsPage, SandboxLogsRequest } from '@moat/proto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { eventually } from '@moat/test-support';
import { bodyOf, startApp, type TestApp } from './support/harness';
import { TestAgent } from './support/test-agent';

const T0 = Date.parse('2026-01-02T15:04:05.000Z');
const entry = (seq: number, stream: 'stdout' | 'stderr', text: string) => ({ seq, timeMs: T0 + seq, stream, data: Buffer.from(text) });
const page = (result: SandboxLogsPage): Promise<AckReply<SandboxLogsPage>> => Promise.resolve({ ok: true, result });
const later = (ms: number, result: SandboxLogsPage): Promise<AckReply<SandboxLogsPage>> =>
  new Promise((resolve) => setTimeout(() => resolve({ ok: true, result }), ms));

// The route reads the sandbox and its node from the database like every other, so SQLite
// stands for both databases here; what it adds is the relay to the node and the streaming.
describe('GET /v1/sandboxes/:id/logs', () => {
  let t: TestApp;
  let node: TestAgent;
  let tenant: { id: string; apiKey: string };
  let asTenant: Record<string, string>;
  let id: string;

  beforeAll(async () => {
    t = await startApp('sqlite');
    tenant = bodyOf(await t.api().post('/v1/tenants').set(t.admin()).send({ name: 'logs' }).expect(201));
    asTenant = { Authorization: `Bearer ${tenant.apiKey}` };
    node = await TestAgent.connect(t.baseUrl, t.adminToken);
    expect(await node.hello()).toMatchObject({ ok: true });
    node.simulate();
    id = bodyOf<{ id: string }>(await t.api().post('/v1/sandboxes').set(asTenant).send({}).expect(201)).id;
    await eventually(async () => expect((await t.api().get(`/v1/sandboxes/${id}`).set(asTenant).expect(200)).body.state).toBe('running'));
  });
  afterEach(() => {
    node.onLogs = undefined;
    node.logRequests.length = 0;
  });
  afterAll(async () => {
    node?.close();
    await t?.close();
  });

  const get = (path: string, headers: Record<string, string> = {}, signal?: AbortSignal) =>
    fetch(`${t.baseUrl}/v1/sandboxes/${path}`, { headers: { ...asTenant, ...headers }, signal });

  it('gives the bytes of both streams in order as plain text, asking the node for the window once', async () => {
    node.onLogs = (req) =>
      req.after === undefined
        ? // More entries than socket.io carries binary parts in one message (10): the page must still arrive.
          page({ entries: Array.from({ length: 30 }, (_, i) => entry(i + 1, i % 2 ? 'stderr' : 'stdout', `${i}\n`)), cursor: 30, ended: false })
        : page({ entries: [], cursor: 30, ended: false });
    const res = await get(`${id}/logs?since=2026-01-02T15:00:00Z&tail=5`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(await res.text()).toBe(Array.from({ length: 30 }, (_, i) => `${i}\n`).join(''));
    expect(node.logRequests).toEqual([
      { sandboxId: id, sinceMs: Date.parse('2026-01-02T15:00:00Z'), tail: 5 },
      { sandboxId: id, after: 30 },
    ]);
  });

  it('gives server-sent events with seq ids, resumes right after Last-Event-ID (whatever tail says) and ends with end once the output has', async () => {
    node.onLogs = () => page({ entries: [entry(8, 'stderr', 'bye\n')], cursor: 8, ended: true, dropped: 3 });
    const res = await get(`${id}/logs?tail=1&since=1h`, { Accept: 'text/event-stream', 'Last-Event-ID': '5' });
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    expect(await res.text()).toBe(
      ': 3 entries dropped: the node keeps only the newest\n\n' +
        `id: 8\nevent: stderr\ndata: {"time":"${new Date(T0 + 8).toISOString()}","text":"bye\\n"}\n\n` +
        'event: end\ndata: {}\n\n',
    );
    expect(node.logRequests).toEqual([{ sandboxId: id, after: 5 }]);
  });

  it('follows: long-polls the node from each cursor until the output ends', async () => {
    const script: SandboxLogsPage[] = [
      { entries: [entry(1, 'stdout', 'a\n')], cursor: 1, ended: false },
      { entries: [], cursor: 1, ended: false },
      { entries: [entry(2, 'stdout', 'b\n')], cursor: 2, ended: true },
    ];
    node.onLogs = () => later(20, script.shift() ?? { entries: [], cursor: 2, ended: true });
    const res = await get(`${id}/logs?follow=true`);
    expect(await res.text()).toBe('a\nb\n');
    expect(node.logRequests.map((req) => [req.after, req.waitMs])).toEqual([
      [undefined, expect.any(Number)],
      [1, expect.any(Number)],
      [1, expect.any(Number)],
    ]);
  });

  it('ends a followed stream without end when the node fails it midway (the sandbox deleted meanwhile)', async () => {
    node.onLogs = (req) =>
      req.after === undefined
        ? page({ entries: [entry(1, 'stdout', 'a\n')], cursor: 1, ended: false })
        : Promise.resolve({ ok: false, error: { code: 'SANDBOX_NOT_FOUND', message: 'gone' } });
    const res = await get(`${id}/logs?follow=true`, { Accept: 'text/event-stream' });
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toContain('event: stdout');
    expect(text).not.toContain('event: end');
  });

  it('stops asking the node as soon as the client goes', async () => {
    node.onLogs = (req) => later(30, { entries: [], cursor: req.after ?? 0, ended: false });
    const gone = new AbortController();
    const res = await get(`${id}/logs?follow=true`, {}, gone.signal);
    expect(res.status).toBe(200);
    await eventually(() => expect(node.logRequests.length).toBeGreaterThanOrEqual(2));
    gone.abort();
    await new Promise((resolve) => setTimeout(resolve, 100));
    const asked = node.logRequests.length;
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(node.logRequests.length).toBe(asked);
  });

  it("answers with the API's errors: unknown sandbox, one on no node, a bad query, the node's refusal", async () => {
    const unknown = await get('0b5e7a4c-1d2f-4a3b-8c9d-0e1f2a3b4c5d/logs');
    expect([unknown.status, await unknown.json()]).toEqual([404, { error: { code: 'NOT_FOUND', message: expect.any(String) } }]);

    const quota = { maxSandboxes: 100, maxVcpus: 1000, maxMemoryMiB: 10_000_000 };
    const other = bodyOf<{ id: string }>(await t.api().post('/v1/tenants').set(t.admin()).send({ name: 'unplaced', quota }).expect(201));
    // More vCPUs than the node has: never placed.
    const pending = bodyOf<{ id: string }>(await t.api().post('/v1/sandboxes').set(t.admin()).send({ tenantId: other.id, vcpus: 16 }).expect(201));
    const unplaced = await fetch(`${t.baseUrl}/v1/sandboxes/${pending.id}/logs`, { headers: t.admin() });
    expect([unplaced.status, ((await unplaced.json()) as { error: { code: string } }).error.code]).toEqual([409, 'SANDBOX_NOT_RUNNING']);

    for (const query of ['since=yesterday', 'tail=-1', 'tail=1000001', 'follow=maybe', 'other=1']) {
      const bad = await get(`${id}/logs?${query}`);
      expect([query, bad.status, ((await bad.json()) as { error: { code: string } }).error.code]).toEqual([query, 400, 'VALIDATION_FAILED']);
    }

    node.onLogs = () => Promise.resolve({ ok: false, error: { code: 'SANDBOX_NOT_FOUND', message: 'deleted meanwhile' } });
    const refused = await get(`${id}/logs`);
    expect([refused.status, await refused.json()]).toEqual([409, { error: { code: 'SANDBOX_NOT_RUNNING', message: 'SANDBOX_NOT_FOUND: deleted meanwhile' } }]);
    expect(node.logRequests satisfies SandboxLogsRequest[]).toHaveLength(1);
  });
});
