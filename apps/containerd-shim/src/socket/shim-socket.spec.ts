import { describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import { MAX_SOCKET_PATH_BYTES, MIN_DIGEST_HEX, shimSocketPath, socketAddressOf, socketPathOf } from './shim-socket';

const INPUT = { socketDir: '/run/moat/s', containerdAddress: '/run/containerd/containerd.sock', namespace: 'default', group: 'web' };

describe('shimSocketPath', () => {
  it('names the socket as containerd’s SocketAddress does: sha256 of <address>/<namespace>/<id>, in hex', () => {
    // What containerd's shim.SocketAddress hashes for this task (filepath.Join of the three).
    const digest = createHash('sha256').update('/run/containerd/containerd.sock/default/web').digest('hex');
    expect(shimSocketPath(INPUT)).toBe(`/run/moat/s/${digest}`);
    expect(socketAddressOf(shimSocketPath(INPUT))).toBe(`unix:///run/moat/s/${digest}`);
  });

  it('reads the path back from a unix:// address, and nothing from another kind', () => {
    expect(socketPathOf(socketAddressOf('/run/moat/s/ab'))).toBe('/run/moat/s/ab');
    expect(socketPathOf('/run/moat/s/ab')).toBeUndefined();
  });

  it('gives every namespace and task a socket of its own', () => {
    const paths = new Set([shimSocketPath(INPUT), shimSocketPath({ ...INPUT, namespace: 'k8s.io' }), shimSocketPath({ ...INPUT, group: 'db' })]);
    expect(paths.size).toBe(3);
  });

  it('cuts the digest to keep the path within a unix socket address under a long run dir', () => {
    const socketDir = `/tmp/${'d'.repeat(60)}/s`;
    const path = shimSocketPath({ ...INPUT, socketDir });
    expect(Buffer.byteLength(path)).toBe(MAX_SOCKET_PATH_BYTES);
    expect(path.startsWith(`${socketDir}/`)).toBe(true);
    const fullDigest = shimSocketPath(INPUT).slice('/run/moat/s/'.length);
    expect(fullDigest.startsWith(path.slice(socketDir.length + 1))).toBe(true);
  });

  it('refuses a run dir too long to leave room for a safe name', () => {
    // The longest directory that still leaves MIN_DIGEST_HEX characters after its slash, and one more.
    const longest = `/${'d'.repeat(MAX_SOCKET_PATH_BYTES - MIN_DIGEST_HEX - 2)}`;
    expect(Buffer.byteLength(shimSocketPath({ ...INPUT, socketDir: longest }))).toBe(MAX_SOCKET_PATH_BYTES);
    expect(() => shimSocketPath({ ...INPUT, socketDir: `${longest}d` })).toThrow(expect.objectContaining({ code: 'SOCKET_PATH_TOO_LONG' }));
  });
});
