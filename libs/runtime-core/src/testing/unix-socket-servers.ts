import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach } from '@jest/globals';

/** Where a spec's fake peers listen: socket paths in a fresh directory for each test. */
export interface UnixSocketServers {
  path(name: string): string;
  /** Starts `server` on the socket `name`; it is closed after the test. */
  listen(name: string, server: Server): Promise<Server>;
}

/**
 * For specs that talk to a fake peer (QEMU's QMP, a guest's virtio-serial port) over a Unix
 * socket: a directory per test, and after each test its servers closed and the directory gone.
 */
export function unixSocketServers(prefix: string): UnixSocketServers {
  let dir = '';
  const servers: Server[] = [];
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), prefix));
  });
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
    rmSync(dir, { recursive: true, force: true });
  });
  return {
    path: (name) => join(dir, name),
    listen: (name, server) => {
      servers.push(server);
      return new Promise((resolve) => server.listen(join(dir, name), () => resolve(server)));
    },
  };
}
