import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { nodeToken } from './node-credential';

const NODE_ID = '6f1d1c9e-1f7a-4d59-9d4e-2d6c1d0f6a11';

describe('nodeToken', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'moat-node-cred-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const opts = (auth: { joinToken?: string; token?: string }, fetchImpl?: typeof fetch) => ({
    nodeDir: dir,
    controlPlaneUrl: 'http://cp.example:8080',
    nodeId: NODE_ID,
    nodeName: 'host-1',
    auth,
    log: pino({ level: 'silent' }),
    fetchImpl,
  });

  it('exchanges the join token once, keeps the credential (0600) and uses only that afterwards', async () => {
    const fetchImpl = jest.fn(() => Promise.resolve(new Response(JSON.stringify({ nodeId: NODE_ID, credential: 'moatn_abc' }), { status: 201 })));
    expect(await nodeToken(opts({ joinToken: 'moatj_x' }, fetchImpl as unknown as typeof fetch))).toBe('moatn_abc');
    expect(fetchImpl).toHaveBeenCalledTimes(1);
    const [url, init] = fetchImpl.mock.calls[0] as unknown as [URL, RequestInit];
    expect(url.toString()).toBe('http://cp.example:8080/v1/nodes/join');
    expect(JSON.parse(init.body as string)).toEqual({ token: 'moatj_x', nodeId: NODE_ID, name: 'host-1' });
    const file = join(dir, 'credential');
    expect(readFileSync(file, 'utf8').trim()).toBe('moatn_abc');
    expect(statSync(file).mode & 0o777).toBe(0o600);

    // A restart with the (spent) join token still set never sends it again.
    expect(await nodeToken(opts({ joinToken: 'moatj_x' }, fetchImpl as unknown as typeof fetch))).toBe('moatn_abc');
    expect(fetchImpl).toHaveBeenCalledTimes(1);
  });

  it('reports a refused join with the control plane answer', async () => {
    const fetchImpl = () => Promise.resolve(new Response('{"error":{"code":"UNAUTHENTICATED","message":"used"}}', { status: 401 }));
    await expect(nodeToken(opts({ joinToken: 'moatj_x' }, fetchImpl))).rejects.toThrow(/\(401\).*UNAUTHENTICATED/);
  });

  it('falls back to the fixed token without a join token', async () => {
    expect(await nodeToken(opts({ token: 'admin-token-value' }))).toBe('admin-token-value');
  });
});
