import { chown, rm } from 'node:fs/promises';
import { connect, createServer, type Server } from 'node:net';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { RuntimeError, RuntimeErrorCode } from '../../errors/runtime.errors';
import type { HibernatedVm, LiveMigration, RunningVm, VmPaths } from '../hypervisor';
import { jailSocketPath } from './qemu.jail';
import { QmpClient } from './qmp.client';

/**
 * Live migration with QEMU 7.2's pre-copy: the source sends the guest's RAM while it runs, again
 * what it dirtied meanwhile, until what is left fits the downtime limit; then it pauses the guest,
 * sends the rest with the device state, and the target runs it. Block migration (the `block`
 * capability, still in 7.2) carries the writable disk in the same stream, so nothing else has
 * to move and no NBD server is needed; unallocated and zero blocks travel as markers.
 */

/** A whole live migration (RAM and a disk of up to a few GiB) between two hosts. */
export const LIVE_MIGRATION_TIMEOUT_MS = 10 * 60_000;
/** The pause the source aims for at the end (QEMU's `downtime-limit`). */
export const LIVE_DOWNTIME_LIMIT_MS = 300;
/**
 * QEMU 7.2's default of 32 MiB/s would make a 1 GiB guest take half a minute, but the cap is also
 * what bounds block migration's memory: each iteration reads ahead up to a tenth of a second of
 * bandwidth into 1 MiB buffers in the VMM, inside its cgroup's memory limit. At 4 GiB/s that was
 * ~410 MiB, and a slow link let it fill: the source was OOM-killed midway. At 256 MiB/s it stays
 * under 26 MiB, well within the VMM's overhead; the final pause is not rate-limited.
 */
const MAX_BANDWIDTH_BYTES_PER_S = 256 * 1024 ** 2;
const QMP_TIMEOUT_MS = 15_000;
const POLL_MS = 20;

interface MigrateStatus {
  status?: string;
  'error-desc'?: string;
  downtime?: number;
  'total-time'?: number;
  ram?: { transferred?: number };
  disk?: { transferred?: number };
}

/** Starts migrating the running guest to `uri` and waits until QEMU says it completed; the guest is paused then. */
export async function migrateLive(qmp: QmpClient, uri: string, isAlive: () => Promise<boolean>): Promise<LiveMigration> {
  await qmp.execute('migrate-set-capabilities', { capabilities: [{ capability: 'x-ignore-shared', state: false }, { capability: 'zero-blocks', state: true }] }, QMP_TIMEOUT_MS);
  await qmp.execute('migrate-set-parameters', { 'downtime-limit': LIVE_DOWNTIME_LIMIT_MS, 'max-bandwidth': MAX_BANDWIDTH_BYTES_PER_S }, QMP_TIMEOUT_MS);
  await qmp.execute('migrate', { uri, blk: true }, QMP_TIMEOUT_MS);
  const deadline = Date.now() + LIVE_MIGRATION_TIMEOUT_MS;
  for (;;) {
    const reply = (await qmp.execute('query-migrate', undefined, QMP_TIMEOUT_MS)) as MigrateStatus;
    if (reply.status === 'completed') {
      return {
        bytes: (reply.ram?.transferred ?? 0) + (reply.disk?.transferred ?? 0),
        downtimeMs: reply.downtime ?? 0,
        totalMs: reply['total-time'] ?? 0,
      };
    }
    if (reply.status === 'failed' || reply.status === 'cancelled') {
      throw new RuntimeError(RuntimeErrorCode.MIGRATION_FAILED, `live migration ${reply.status}: ${reply['error-desc'] ?? 'no reason given'}`);
    }
    if (!(await isAlive())) throw new RuntimeError(RuntimeErrorCode.MIGRATION_FAILED, 'QEMU exited while migrating');
    if (Date.now() > deadline) throw new RuntimeError(RuntimeErrorCode.MIGRATION_FAILED, `the live migration took longer than ${LIVE_MIGRATION_TIMEOUT_MS} ms`);
    await sleep(POLL_MS);
  }
}

/**
 * Where a VM migrating out sends its stream: a unix socket the host listens on in the VM's socket
 * dir, piped into `sink` (a state file, or a live migration's channel to the target) as it
 * arrives. QEMU 7.2 migrates out only to a named descriptor (passed over the monitor with
 * SCM_RIGHTS), a command (which the seccomp filter forbids) or a socket; the socket needs
 * nothing from the jail but the dir it already has.
 */
export class MigrationSocket {
  private constructor(
    private readonly server: Server,
    private readonly socketPath: string,
    private readonly sink: Writable,
    /** Resolves once the whole stream went into the sink. */
    readonly done: Promise<void>,
  ) {}

  /** Listens on `socketPath` (made the VMM's own when it is jailed) for one stream into `sink`. */
  static async listen(socketPath: string, sink: Writable, owner?: { uid: number; gid: number }): Promise<MigrationSocket> {
    await rm(socketPath, { force: true });
    let settle!: { resolve: () => void; reject: (error: unknown) => void };
    const done = new Promise<void>((resolve, reject) => {
      settle = { resolve, reject };
    });
    // Handled where it is awaited; an abandoned migration must not become an unhandled rejection.
    done.catch(() => undefined);
    const server = createServer({ allowHalfOpen: false }, (connection) => {
      server.close();
      pipeline(connection, sink).then(settle.resolve, settle.reject);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(socketPath, resolve);
    });
    if (owner) await chown(socketPath, owner.uid, owner.gid);
    return new MigrationSocket(server, socketPath, sink, done);
  }

  /** Stops listening; a sink no stream reached is closed too. */
  async close(): Promise<void> {
    this.server.close();
    if (!this.sink.writableFinished) this.sink.destroy();
    await rm(this.socketPath, { force: true });
  }
}

/**
 * Sends the running VM's migration stream into `sink`: `steps.migrate` starts the migration to
 * the URI of a MigrationSocket in the VM's socket dir (the jail's view of it for a jailed VMM)
 * and waits for it; `steps.settle` runs on the monitor after, told whether QEMU sent it all and
 * how the sink failed if it did, before the monitor and socket close.
 */
export async function streamVmOut<T>(
  vm: RunningVm,
  sink: Writable,
  steps: { migrate: (qmp: QmpClient, uri: string) => Promise<T>; settle: (qmp: QmpClient, sent: boolean, sinkFailure?: Error) => Promise<void> },
): Promise<T> {
  const { paths } = vm;
  const jail = vm.isolation?.jail;
  const socketPath = join(paths.socketDir, 'migrate.sock');
  const out = await MigrationSocket.listen(socketPath, sink, jail);
  let qmp: QmpClient | undefined;
  let sent = false;
  try {
    qmp = await QmpClient.connect(paths.qmpSocket, QMP_TIMEOUT_MS);
    const result = await steps.migrate(qmp, `unix:${jail ? jailSocketPath(socketPath, paths.socketDir) : socketPath}`);
    // QEMU sent it all; whether it all arrived is for `settle` to judge: a file that failed to be
    // written is lost, while a live migration's target says itself whether it runs the VM.
    const sinkFailure = await out.done.then(() => undefined, (error: unknown) => (error instanceof Error ? error : new Error(String(error))));
    sent = true;
    await steps.settle(qmp, sent, sinkFailure);
    return result;
  } catch (error) {
    if (qmp && !sent) await steps.settle(qmp, false);
    throw error;
  } finally {
    qmp?.close();
    await out.close();
  }
}

/**
 * Where a VM being started takes its saved state from (`migrate-incoming`'s URI): the inherited
 * descriptor `stateFd` of its file, or for a live migration a socket in its socket dir that QEMU
 * listens on, fed the stream once it does (`begun`).
 */
export function incomingState(from: HibernatedVm['state'], stateFd: number, paths: VmPaths, jailed: boolean): { uri: string; begun?: () => Promise<void> } {
  if ('state' in from) return { uri: `fd:${stateFd}` };
  const socketPath = join(paths.socketDir, 'incoming.sock');
  return { uri: `unix:${jailed ? jailSocketPath(socketPath, paths.socketDir) : socketPath}`, begun: () => feedIncoming(socketPath, from.live) };
}

/** Feeds a live migration's stream into the socket an incoming QEMU listens on (`migrate-incoming unix:…`). */
async function feedIncoming(socketPath: string, source: Readable): Promise<void> {
  const socket = connect(socketPath);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  socket.on('error', () => undefined);
  // A stream that breaks breaks the load, which its own polling notices (QEMU fails it and exits).
  source.once('error', () => socket.destroy());
  source.pipe(socket);
  // QEMU closes the socket once it has the whole state, maybe before the sender's stream has
  // ended: the rest is read and dropped, so the sender finishes cleanly rather than see its
  // stream cut (which would make it take the VM back while the target runs it).
  socket.once('close', () => {
    source.unpipe(socket);
    source.resume();
  });
}
