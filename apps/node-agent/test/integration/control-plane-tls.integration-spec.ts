import { AGENTS_NAMESPACE, NODE_JOIN_PATH, type AckReply, type NodeHello } from '@moat/proto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { Server } from 'socket.io';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { eventually, testCertificates } from '@moat/test-support';
import { controlPlanePost } from '../../src/fleet/control-plane.http';
import { FleetConnection } from '../../src/fleet/fleet.connection';
import { idleFleetHandlers } from '../../src/fleet/testing/idle-handlers';
import { nodeToken } from '../../src/fleet/node-credential';

const NODE_ID = '6f1d1c9e-1f7a-4d59-9d4e-2d6c1d0f6a11';

/** A pino logger whose lines the test reads. */
function capturedLog(): { log: pino.Logger; lines: string[] } {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString('utf8'));
      done();
    },
  });
  return { log: pino({ level: 'info' }, sink), lines };
}

// A stand-in control plane on https://127.0.0.1: the join route and the /agents namespace,
// recording every token that reaches it.
describe('the node agent and a control plane behind TLS', () => {
  let dir: string;
  let ca: string;
  let wrongCa: string;
  let server: HttpsServer;
  let io: Server;
  let url: string;
  const joinTokens: string[] = [];
  const agentTokens: unknown[] = [];
  const hellos: NodeHello[] = [];
  const cleanups: (() => void)[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'moat-agent-tls-it-'));
    const pki = testCertificates(join(dir, 'pki'));
    ca = readFileSync(pki.caFile, 'utf8');
    wrongCa = readFileSync(testCertificates(join(dir, 'other')).caFile, 'utf8');
    server = createServer({ cert: readFileSync(pki.certFile), key: readFileSync(pki.keyFile) }, (req, res) => {
      if (req.method !== 'POST' || req.url !== NODE_JOIN_PATH) return;
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
      req.on('end', () => {
        joinTokens.push((JSON.parse(body) as { token: string }).token);
        res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify({ nodeId: NODE_ID, credential: 'moatn_abc' }));
      });
    });
    io = new Server(server);
    io.of(AGENTS_NAMESPACE).use((socket, next) => {
      agentTokens.push((socket.handshake.auth as { token?: unknown }).token);
      next();
    });
    io.of(AGENTS_NAMESPACE).on('connection', (socket) => {
      socket.on('node:hello', (payload: NodeHello, ack: (reply: AckReply<{ nodeId: string }>) => void) => {
        hellos.push(payload);
        ack({ ok: true, result: { nodeId: NODE_ID } });
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterEach(() => cleanups.splice(0).forEach((cleanup) => cleanup()));
  afterAll(async () => {
    await io.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const joinWith = (caPem: string | undefined, nodeDir: string) =>
    nodeToken({
      nodeDir,
      controlPlaneUrl: url,
      nodeId: NODE_ID,
      nodeName: 'host-1',
      auth: { joinToken: 'moatj_secret' },
      log: pino({ level: 'silent' }),
      post: controlPlanePost(caPem),
    });

  it('joins over HTTPS when it trusts the CA', async () => {
    const nodeDir = mkdtempSync(join(dir, 'node-'));
    expect(await joinWith(ca, nodeDir)).toBe('moatn_abc');
    expect(joinTokens).toEqual(['moatj_secret']);
  });

  it('refuses to join with the wrong CA or the system store, and the join token never reaches the server', async () => {
    const before = joinTokens.length;
    for (const caPem of [wrongCa, undefined]) {
      const nodeDir = mkdtempSync(join(dir, 'node-'));
      await expect(joinWith(caPem, nodeDir)).rejects.toThrow(/not trusted \(UNABLE_TO_VERIFY_LEAF_SIGNATURE.*the join token was not sent/);
    }
    expect(joinTokens).toHaveLength(before);
  });

  it('connects over WSS and says hello when it trusts the CA', async () => {
    const { log } = capturedLog();
    const connection = new FleetConnection({ url, ca, token: 'moatn_abc', nodeId: NODE_ID, heartbeatMs: 60_000 }, idleFleetHandlers, log);
    cleanups.push(() => connection.close());
    await eventually(() => expect(hellos).toHaveLength(1));
    expect(agentTokens).toContain('moatn_abc');
  });

  it('with the wrong CA logs why it does not connect, and its credential never reaches the server', async () => {
    const before = agentTokens.length;
    const { log, lines } = capturedLog();
    const connection = new FleetConnection({ url, ca: wrongCa, token: 'moatn_wrong', nodeId: NODE_ID, heartbeatMs: 60_000 }, idleFleetHandlers, log);
    cleanups.push(() => connection.close());
    await eventually(() => expect(lines.join('')).toContain("not connecting: the control plane's TLS certificate is not trusted (UNABLE_TO_VERIFY_LEAF_SIGNATURE"));
    expect(JSON.parse(lines[0]) as { level: number }).toMatchObject({ level: 50 });
    expect(agentTokens).toHaveLength(before);
  });
});
