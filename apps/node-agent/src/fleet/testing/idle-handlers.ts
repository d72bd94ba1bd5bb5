// Test support: what a FleetConnection needs from the rest of the node agent, for tests that
// exercise only the connection itself (hello, join, TLS) and never run a sandbox.
import type { NodeHello } from '@moat/proto';
import { FileTransfers } from '../../files/file-transfers';
import { CountingActivity } from '../../idle/testing/counting-activity';
import type { SessionManager } from '../../sessions/session.manager';
import type { FleetHandlers } from '../fleet.connection';

export const TEST_HELLO: NodeHello = { name: 'n1', capacity: { vcpus: 2, memoryMiB: 2048 }, accel: 'tcg', hypervisors: ['qemu'], agentVersion: 'test', jailed: true };

const notInThisTest = () => Promise.reject(new Error('not in this test'));

/** Handlers of a node with no sandboxes that says `TEST_HELLO`; any sandbox call fails. */
export const idleFleetHandlers: FleetHandlers = {
  hello: () => TEST_HELLO,
  heartbeat: () => ({ sandboxIds: [], containerd: [] }),
  onDesired: () => undefined,
  onTenantPeers: () => undefined,
  exec: notInThisTest,
  stats: notInThisTest,
  setPaused: notInThisTest,
  logs: notInThisTest,
  moves: { receive: notInThisTest, send: notInThisTest },
  migrations: { migrateIn: notInThisTest, migrateOut: notInThisTest },
  sessions: { closeAll: () => undefined } as unknown as SessionManager,
  files: new FileTransfers(
    {
      files: () => {
        throw new Error('not in this test');
      },
    },
    new CountingActivity(),
  ),
};
