import { UI_NAMESPACE } from '@moat/proto';
import { randomBytes } from 'node:crypto';
import { io, type Socket } from 'socket.io-client';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect } from '@jest/globals';
import { eventually, itIf } from '@moat/test-support';
import { bodyOf, DATABASES, startApp, startReplica, type TestApp } from './support/harness';
import { TestAgent } from './support/test-agent';

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

describe.each(DATABASES)('two control-plane replicas sharing Redis on $label', ({ kind, skip }) => {
  let one: TestApp;
  let two: TestApp;
  const opened: { close(): unknown }[] = [];

  beforeAll(async () => {
    if (skip) return;
    // A channel prefix of its own, so parallel runs on the same Redis never hear each other.
    const env = { REDIS_URL, MOAT_REDIS_KEY_PREFIX: `moat-it-${randomBytes(6).toString('hex')}` };
    one = await startApp(kind, env);
    two = await startReplica(one);
  });
  afterAll(async () => {
    opened.forEach((o) => o.close());
    await two?.close();
    await one?.close();
  });

  itIf(!skip)('a change made through one replica reaches an agent and a dashboard connected to the other', async () => {
    const admin = { Authorization: `Bearer ${one.adminToken}` };
    const agent = await TestAgent.connect(two.baseUrl, two.adminToken);
    opened.push(agent);
    await agent.hello();
    await agent.desiredWhere((ids) => ids.length === 0);
    const ui: Socket = io(`${two.baseUrl}${UI_NAMESPACE}`, { transports: ['websocket'], auth: { token: one.adminToken }, forceNew: true });
    opened.push(ui);
    const seen: { id: string; state: string }[] = [];
    ui.on('sandbox:updated' as never, (s: { id: string; state: string }) => {
      seen.push(s);
    });
    await new Promise((resolve) => ui.once('connect', () => resolve(undefined)));

    const created = bodyOf<{ id: string; nodeId: string }>(
      await request(one.baseUrl).post('/v1/sandboxes').set(admin).send({}).expect(201),
    );
    expect(created.nodeId).toBe(agent.nodeId);
    await agent.desiredWhere((ids) => ids.includes(created.id));
    await eventually(() => Promise.resolve(expect(seen.map((s) => s.id)).toContain(created.id)));

    // Status through replica two is visible through replica one; exec through one reaches the agent on two.
    agent.status({ id: created.id, state: 'running', timings: [] });
    await eventually(async () => {
      const res = await request(one.baseUrl).get(`/v1/sandboxes/${created.id}`).set(admin).expect(200);
      expect(res.body.state).toBe('running');
    });
    agent.onExec = (req) => ({ ok: true, result: { exitCode: 0, stdout: `ran ${req.command.join(' ')}`, stderr: '' } });
    // A short timeout: the Redis adapter keeps a timer for each acknowledged emit as long as the
    // reply wait (timeoutMs + EXEC_REPLY_MARGIN_MS; 75 s by default), which holds Jest open after
    // the tests end (16 s with this one).
    const exec = await request(one.baseUrl).post(`/v1/sandboxes/${created.id}/exec`).set(admin).send({ command: ['id'], timeoutMs: 1_000 }).expect(200);
    expect(exec.body.stdout).toBe('ran id');

    // A cordon through replica one is seen by the agent's replica: nothing new goes there.
    await request(one.baseUrl).post(`/v1/nodes/${agent.nodeId}/cordon`).set(admin).expect(200);
    const next = bodyOf<{ nodeId: string | null }>(await request(two.baseUrl).post('/v1/sandboxes').set(admin).send({}).expect(201));
    expect(next.nodeId).toBeNull();
  });
});
