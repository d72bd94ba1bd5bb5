import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { startStack } from '../support/stack.mjs';
import { DATA_DIR } from '../support/api';
import { findLeaks } from '../support/leaks.mjs';
import { freePort, freshDataDir } from '../support/own-stack.mjs';

const PREFIX = 'mtshut';

/**
 * Stopping Moat (what Ctrl-C of `npm start` does: SIGTERM to each process, the node agent first)
 * in the middle of a burst of creates and deletes leaves nothing behind: the node agent abandons
 * the starts in progress and deletes every sandbox before it exits. A stack of its own, with its
 * own bridges and data dir, so that the suite's stack is not touched.
 */
describe('shutdown during a burst', () => {
  it('leaves no VMM, jail, cgroup, netns, link, RAM file or rule behind', async () => {
    const dataDir = freshDataDir(resolve(DATA_DIR, '..'), 'e2e-shutdown-');
    const stack = await startStack({
      dataDir,
      apiPort: await freePort(),
      webPort: await freePort(),
      web: false,
      output: 'file',
      env: { MOAT_NET_BRIDGE_PREFIX: PREFIX, MOAT_NET_SUBNET_POOL: '10.246.0.0/16', MOAT_DNS_SERVERS: '' },
      log: () => undefined,
    });
    const call = (method: string, path: string, body?: unknown) =>
      fetch(`${stack.apiUrl}${path}`, {
        method,
        headers: { authorization: `Bearer ${stack.adminToken}`, 'content-type': 'application/json' },
        ...(body !== undefined && { body: JSON.stringify(body) }),
      });
    const ids: string[] = [];
    try {
      // Six creates (more than the node runs at once) and deletes of some while they start.
      for (let i = 0; i < 6; i++) {
        const res = await call('POST', '/v1/sandboxes', { vcpus: 1, memoryMiB: 128, networkModel: i % 2 ? 'bridge' : 'tcfilter' });
        expect(res.status).toBe(201);
        ids.push(((await res.json()) as { id: string }).id);
      }
      // Until the first VMs are starting.
      const deadline = Date.now() + 120_000;
      while (Date.now() < deadline) {
        const list = (await (await call('GET', '/v1/sandboxes')).json()) as { state: string }[];
        if (list.some((s) => s.state === 'creating')) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      for (const id of ids.slice(0, 2)) await call('DELETE', `/v1/sandboxes/${id}`);
    } finally {
      await stack.stop();
    }
    expect(findLeaks(dataDir, ids)).toEqual([]);
    expect(readdirSync('/sys/class/net').filter((link) => link.startsWith(PREFIX))).toEqual([]);
    expect(execFileSync('nft', ['list', 'tables'], { encoding: 'utf8' })).not.toContain(` ${PREFIX}`);
  }, 600_000);
});
