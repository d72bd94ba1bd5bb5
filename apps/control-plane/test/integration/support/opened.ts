import { afterAll, afterEach, expect } from '@jest/globals';
import { UI_NAMESPACE } from '@moat/proto';
import { eventually } from '@moat/test-support';
import { io, type Socket } from 'socket.io-client';
import { bodyOf, type TestApp } from './harness';

/** What a test opens and has to close again: an app, a node agent, a dashboard socket. */
export interface Closable {
  close(): unknown;
}

/**
 * For a `describe` body: registers an `afterEach` that closes, newest first, everything the test
 * passed to the returned function (so the agents and dashboards go before the app they talk to),
 * and then forgets them. The function returns what it is given: `t = closeAfterTest(await startApp(kind))`.
 */
export function closeAfterEachTest(): <T extends Closable>(opened: T) => T {
  let opened: Closable[] = [];
  afterEach(async () => {
    const closing = opened.reverse();
    opened = [];
    for (const o of closing) await o.close();
  });
  return (o) => {
    opened.push(o);
    return o;
  };
}

/**
 * A dashboard socket of `t`'s operator, once connected; `listen` adds its event handlers before it
 * connects. Rejects with the handshake's error, the socket closed.
 */
export async function connectDashboard(t: TestApp, listen: (socket: Socket) => void): Promise<Socket> {
  const socket = io(`${t.baseUrl}${UI_NAMESPACE}`, { transports: ['websocket'], auth: { token: t.adminToken }, forceNew: true });
  listen(socket);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', (err) => {
      socket.close();
      reject(err);
    });
  });
  return socket;
}

/**
 * After a test whose node agents are closed: waits until the control plane has every node down,
 * then deletes every sandbox, so the next test's sandboxes go to its own nodes only.
 */
export async function awaitNodesDownAndDeleteSandboxes(t: TestApp): Promise<void> {
  await eventually(async () => {
    const nodes = bodyOf<{ state: string }[]>(await t.api().get('/v1/nodes').set(t.admin()).expect(200));
    expect(nodes.filter((n) => n.state !== 'down')).toEqual([]);
  }, { timeout: 15_000 });
  for (const s of bodyOf<{ id: string }[]>(await t.api().get('/v1/sandboxes').set(t.admin()).expect(200))) {
    await t.api().delete(`/v1/sandboxes/${s.id}`).set(t.admin()).expect(202);
  }
}

/** A tenant's API key as the header the API wants. */
export function bearer(who: { apiKey: string }): Record<string, string> {
  return { Authorization: `Bearer ${who.apiKey}` };
}

/**
 * For a file whose tests each connect a fake node to one app: after each test that node is
 * closed and every sandbox deleted once it is seen down; after all, the app is closed.
 */
export function cleanUpNodeTests(app: () => TestApp | undefined, node: () => { close(): void } | undefined, skip: boolean): void {
  afterEach(async () => {
    node()?.close();
    const t = app();
    if (!skip && t) await awaitNodesDownAndDeleteSandboxes(t);
  });
  afterAll(async () => {
    await app()?.close();
  });
}
