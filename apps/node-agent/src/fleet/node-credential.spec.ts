import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import type { PostJson } from './control-plane.http';
import { nodeToken } from './node-credential';

const NODE_ID = '6f1d1c9e-1f7a-4d59-9d4e-2d6c1d0f6a11';

describe('nodeToken', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'moat-node-cred-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const unused: PostJson = () => Promise.reject(new Error('no join expected'));
  const opts = (auth: { joinToken?: string; token?: string }, post: PostJson = unused) => ({
    nodeDir: dir,
    controlPlaneUrl: 'https://cp.example:8443',
    nodeId: NODE_ID,
    nodeName: 'host-1',
    auth,
    log: pino({ level: 'silent' }),
    post,
  });

  it('exchanges the join token once, keeps the credential (0600) and uses only that afterwards', async () => {
    const post = jest.fn<PostJson>(() => Promise.resolve({ status: 201, text: JSON.stringify({ nodeId: NODE_ID, credential: 'moatn_abc' }) }));
    expect(await nodeToken(opts({ joinToken: 'moatj_x' }, post))).toBe('moatn_abc');
    expect(post).toHaveBeenCalledTimes(1);
    const [url, body] = post.mock.calls[0];
    expect(url.toString()).toBe('https://cp.example:8443/v1/nodes/join');
    expect(JSON.parse(body)).toEqual({ token: 'moatj_x', nodeId: NODE_ID, name: 'host-1' });
    const file = join(dir, 'credential');
    expect(readFileSync(file, 'utf8').trim()).toBe('moatn_abc');
    expect(statSync(file).mode & 0o777).toBe(0o600);

    // A restart with the (spent) join token still set never sends it again.
    expect(await nodeToken(opts({ joinToken: 'moatj_x' }, post))).toBe('moatn_abc');
    expect(post).toHaveBeenCalledTimes(1);
  });

  it('reports a refused join with the control plane answer', async () => {
    const post: PostJson = () => Promise.resolve({ status: 401, text: '{"error":{"code":"UNAUTHENTICATED","message":"used"}}' });
    await expect(nodeToken(opts({ joinToken: 'moatj_x' }, post))).rejects.toThrow(/\(401\).*UNAUTHENTICATED/);
  });

  it('refuses to join when the control plane is not trusted, saying the token was not sent', async () => {
    const untrusted = Object.assign(new Error('unable to verify the first certificate'), { code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' });
    await expect(nodeToken(opts({ joinToken: 'moatj_x' }, () => Promise.reject(untrusted)))).rejects.toThrow(
      /^refusing to join https:\/\/cp\.example:8443: the control plane's TLS certificate is not trusted \(UNABLE_TO_VERIFY_LEAF_SIGNATURE.*MOAT_TLS_CA.*the join token was not sent$/,
    );
  });

  it('falls back to the fixed token without a join token', async () => {
    expect(await nodeToken(opts({ token: 'admin-token-value' }))).toBe('admin-token-value');
  });
});
