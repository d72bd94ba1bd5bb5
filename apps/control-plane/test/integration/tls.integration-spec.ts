import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Server as TlsServer } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { testCertificates } from '@moat/test-support';
import { startApp, type TestApp } from './support/harness';
import { TestAgent } from './support/test-agent';

/** What a client gets back for `bytes` written on a raw TCP connection to the port, until it closes. */
function rawExchange(port: number, bytes: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(bytes));
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')));
    socket.on('error', (err: NodeJS.ErrnoException) => (err.code === 'ECONNRESET' ? undefined : reject(err)));
    socket.setTimeout(10_000, () => reject(new Error('the server neither answered nor closed')));
  });
}

/** The TLS failure under a socket.io connect_error (engine.io keeps the WebSocket's error event). */
function tlsCode(err: unknown): string | undefined {
  return (err as { description?: { error?: NodeJS.ErrnoException } }).description?.error?.code;
}

// TLS is the transport's business, so one database is enough here.
describe('the API port with MOAT_TLS_CERT and MOAT_TLS_KEY', () => {
  let dir: string;
  let t: TestApp;
  let ca: string;
  let wrongCa: string;
  let port: number;
  const secureConnections = { count: 0 };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'moat-cp-tls-'));
    const pki = testCertificates(join(dir, 'pki'));
    ca = readFileSync(pki.caFile, 'utf8');
    wrongCa = readFileSync(testCertificates(join(dir, 'other')).caFile, 'utf8');
    t = await startApp('sqlite', { MOAT_TLS_CERT: pki.certFile, MOAT_TLS_KEY: pki.keyFile });
    port = Number(new URL(t.baseUrl).port);
    (t.app.getHttpServer() as TlsServer).on('secureConnection', () => secureConnections.count++);
  });
  afterAll(async () => {
    await t?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves REST, OpenAPI and metrics over HTTPS to a client trusting the CA', async () => {
    expect(t.baseUrl).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      await t.api().get('/healthz').ca(ca).expect(200);
    await t.api().get('/v1/nodes').ca(ca).set('Authorization', `Bearer ${t.adminToken}`).expect(200);
    await t.api().get('/docs-json').ca(ca).expect(200);
    await t.api().get('/metrics').ca(ca).expect(200);
  });

  it('is not trusted by a client without the CA', async () => {
    await expect(fetch(`${t.baseUrl}/healthz`)).rejects.toMatchObject({ cause: { code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' } });
  });

  it('refuses plain HTTP: the request fails and no HTTP answer comes back', async () => {
    await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow();
    const answer = await rawExchange(port, 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    expect(answer).not.toContain('HTTP/1.1');
  });

  it('lets an agent trusting the CA connect over WSS, authenticate and say hello', async () => {
    const before = secureConnections.count;
    const agent = await TestAgent.connect(t.baseUrl, t.adminToken, randomUUID(), ca);
    try {
      expect(secureConnections.count).toBe(before + 1);
      expect(await agent.hello()).toMatchObject({ ok: true });
    } finally {
      agent.close();
    }
  });

  it('refuses an agent with the wrong CA before the TLS session exists, so no token is sent', async () => {
    const before = secureConnections.count;
    const failure = await TestAgent.connect(t.baseUrl, t.adminToken, randomUUID(), wrongCa).then(
      (agent) => {
        agent.close();
        throw new Error('connected with the wrong CA');
      },
      (err: unknown) => err,
    );
    expect(tlsCode(failure)).toBe('UNABLE_TO_VERIFY_LEAF_SIGNATURE');
    expect(secureConnections.count).toBe(before);
  });
});
