import { createWriteStream, openSync, type WriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { AGENT_SERVING_MESSAGE } from '@moat/proto';
import { RuntimeError, RuntimeErrorCode } from '../../errors/runtime.errors';
import type { HibernatedVm, VmConfig } from '../hypervisor';
import { LIVE_MIGRATION_TIMEOUT_MS } from './qemu.migration';
import { esc, HOTPLUG_IDS, HOTPLUG_PORTS, type HotplugDevices } from './qemu-cmdline';
import type { QmpClient } from './qmp.client';

/**
 * Boot snapshots with QEMU: Kata's VM templating, done with QEMU 7.2's migration to a file.
 *  - save: a VM of one shape boots with its RAM in a shared tmpfs file and none of a sandbox's
 *    own devices. Once its agent serves it is paused and migrated with `x-ignore-shared`, so the
 *    state file holds only device state; a sparse copy of the RAM file is the memory.
 *  - restore: a sparse copy of that memory becomes the new VM's RAM file, QEMU starts paused
 *    waiting for the state (`-S -incoming defer`), loads it, the sandbox's share and NIC are
 *    hot-plugged into the empty root ports, and the guest continues where the snapshot stopped.
 * vhost-user-fs cannot be migrated at all, and 9p only while unmounted, which is why the share
 * is plugged (or, for 9p, mounted) after the restore.
 */

/** Each monitor command of a save or load: QEMU answers within milliseconds, a starved host may hold it off for seconds. */
const QMP_TIMEOUT_MS = 15_000;
/** Loading a snapshot's device state, or saving it: both move well under a megabyte. */
export const SNAPSHOT_STATE_TIMEOUT_MS = 30_000;
/** Saving or loading a hibernated VM's whole RAM: a few hundred MiB at disk speed, with room for a slow disk. */
export const HIBERNATE_TIMEOUT_MS = 120_000;
const POLL_MS = 10;

/** Polls until `done` says yes, failing after `timeoutMs` or as soon as the VMM is gone. */
async function pollUntil(what: string, timeoutMs: number, isAlive: () => Promise<boolean>, done: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await done())) {
    if (!(await isAlive())) throw new RuntimeError(RuntimeErrorCode.SNAPSHOT_FAILED, `QEMU exited while ${what}`);
    if (Date.now() > deadline) throw new RuntimeError(RuntimeErrorCode.SNAPSHOT_FAILED, `${what} took longer than ${timeoutMs} ms`);
    await sleep(POLL_MS);
  }
}

/** Waits for the guest agent's serving line on the console: the moment a snapshot is taken. */
export async function waitForAgentServing(consoleLog: string, timeoutMs: number, isAlive: () => Promise<boolean>, signal: AbortSignal): Promise<void> {
  const marker = `"msg":${JSON.stringify(AGENT_SERVING_MESSAGE)}`;
  await pollUntil('booting the snapshot VM to a serving agent', timeoutMs, isAlive, async () => {
    signal.throwIfAborted();
    const text = await readFile(consoleLog, 'utf8').catch(() => '');
    return text.includes(marker);
  });
}

/**
 * Where a saved VM's RAM is: `shared-file` (a boot snapshot) leaves it in its shared file and
 * migrates only device state; `stream` (a hibernated VM) writes it into the stream too, the
 * pages the guest never touched as zero-page markers.
 */
export type SavedMemory = 'shared-file' | 'stream';

const capabilitiesFor = (memory: SavedMemory) => ({ capabilities: [{ capability: 'x-ignore-shared', state: memory === 'shared-file' }] });

/** A state file being written: flushed, so on disk before it is vouched for (a hibernated VM's state outlives a power cut). */
export function stateFileSink(path: string): WriteStream {
  return createWriteStream(path, { mode: 0o600, flush: true });
}

/** Pauses the guest and migrates its state to `uri` (a MigrationSocket). */
export async function saveState(qmp: QmpClient, uri: string, memory: SavedMemory, timeoutMs: number, isAlive: () => Promise<boolean>): Promise<void> {
  await qmp.execute('migrate-set-capabilities', capabilitiesFor(memory), QMP_TIMEOUT_MS);
  await qmp.execute('stop', undefined, QMP_TIMEOUT_MS);
  await qmp.execute('migrate', { uri }, QMP_TIMEOUT_MS);
  await pollUntil('saving the VM', timeoutMs, isAlive, async () => {
    const reply = (await qmp.execute('query-migrate', undefined, QMP_TIMEOUT_MS)) as { status?: string; 'error-desc'?: string };
    if (reply.status === 'failed' || reply.status === 'cancelled') {
      throw new RuntimeError(RuntimeErrorCode.SNAPSHOT_FAILED, `migration of the VM's state ${reply.status}: ${reply['error-desc'] ?? 'no reason given'}`);
    }
    return reply.status === 'completed';
  });
}

/**
 * Loads the saved state from `uri` (`fd:N`, an inherited descriptor of the state file, or
 * `unix:path`, where QEMU listens for a live migration's stream); the guest stays paused.
 * `begun` runs once QEMU takes the stream (a live one is connected then).
 */
export async function loadState(
  qmp: QmpClient,
  uri: string,
  memory: SavedMemory,
  timeoutMs: number,
  isAlive: () => Promise<boolean>,
  begun: () => Promise<void> = () => Promise.resolve(),
): Promise<void> {
  await qmp.execute('migrate-set-capabilities', capabilitiesFor(memory), QMP_TIMEOUT_MS);
  await qmp.execute('migrate-incoming', { uri }, QMP_TIMEOUT_MS);
  await begun();
  // A failed load makes QEMU exit, which pollUntil notices.
  await pollUntil('loading the VM', timeoutMs, isAlive, async () => (await qmp.queryStatus(QMP_TIMEOUT_MS)).status !== 'inmigrate');
}

/** Plugs a VM's own share (unless 9p, which is part of the snapshot) and NIC into its root ports. */
export async function plugSandboxDevices(qmp: QmpClient, hotplug: HotplugDevices): Promise<void> {
  const share = hotplug.share;
  if (share?.kind === 'virtiofs') {
    await qmp.execute(
      'chardev-add',
      { id: 'vfs', backend: { type: 'socket', data: { addr: { type: 'unix', data: { path: share.socketPath } }, server: false } } },
      QMP_TIMEOUT_MS,
    );
    await qmp.execute('device_add', { driver: 'vhost-user-fs-pci', id: HOTPLUG_IDS.share, chardev: 'vfs', tag: share.mountTag, bus: HOTPLUG_PORTS.share }, QMP_TIMEOUT_MS);
  } else if (share?.kind === 'block') {
    // The guest sees it as /dev/vda, as on a cold boot: its only virtio-blk disk. A drive named
    // as `-drive id=ctr-rootfs` names it on a command line: block migration (a live migration's
    // disk) carries only named drives, and QMP's blockdev-add makes an anonymous one; HMP's
    // drive_add (answered "OK" or the reason) does not.
    const added = await qmp.execute('human-monitor-command', { 'command-line': `drive_add 0 file=${esc(share.imagePath)},if=none,id=ctr-rootfs,format=raw` }, QMP_TIMEOUT_MS);
    if (typeof added !== 'string' || added.trim() !== 'OK') throw new RuntimeError(RuntimeErrorCode.SNAPSHOT_FAILED, `drive_add of the disk: ${String(added).trim()}`);
    await qmp.execute('device_add', { driver: 'virtio-blk-pci', id: HOTPLUG_IDS.share, drive: 'ctr-rootfs', bus: HOTPLUG_PORTS.share }, QMP_TIMEOUT_MS);
  }
  const nic = hotplug.nic;
  if (nic) {
    await qmp.execute('netdev_add', { type: 'tap', id: 'net0', vhost: false, fd: String(nic.fd) }, QMP_TIMEOUT_MS);
    await qmp.execute('device_add', { driver: 'virtio-net-pci', id: HOTPLUG_IDS.nic, netdev: 'net0', mac: nic.mac, romfile: '', bus: HOTPLUG_PORTS.nic }, QMP_TIMEOUT_MS);
  }
}


/** A state a VM starts from instead of booting: a boot snapshot's, a hibernated VM's own, or a live migration's. */
export interface SavedState {
  from: HibernatedVm['state'];
  timeoutMs: number;
  failureCode: RuntimeErrorCode;
  /** Names the operation in an error. */
  what: string;
}

/** The RAM file saved beside the state, when there is one (a boot snapshot's; a restored VM's hibernation or fork capture); else the RAM is in the stream. */
export function savedMemoryFile(from: HibernatedVm['state']): string | undefined {
  return 'live' in from ? undefined : from.memory;
}

export function savedStateOf(config: VmConfig): SavedState | undefined {
  if (config.restoreFrom) {
    return { from: config.restoreFrom, timeoutMs: SNAPSHOT_STATE_TIMEOUT_MS, failureCode: RuntimeErrorCode.SNAPSHOT_FAILED, what: 'restore from boot snapshot' };
  }
  if (config.wakeFrom) {
    const { state, restoredLayout } = config.wakeFrom;
    const live = 'live' in state;
    // Its RAM goes back into a file: a VM whose RAM is anonymous has none.
    if (!live && state.memory !== undefined && !restoredLayout) throw new RuntimeError(RuntimeErrorCode.HIBERNATE_FAILED, 'a saved RAM file can only wake a VM whose RAM is a file (a restored one)');
    return {
      from: state,
      timeoutMs: live ? LIVE_MIGRATION_TIMEOUT_MS : HIBERNATE_TIMEOUT_MS,
      failureCode: live ? RuntimeErrorCode.MIGRATION_FAILED : RuntimeErrorCode.HIBERNATE_FAILED,
      what: live ? 'receive live-migrated VM' : 'wake hibernated VM',
    };
  }
  return undefined;
}

export function openSavedState(path: string, failureCode: RuntimeErrorCode, sandboxId: string): number {
  try {
    return openSync(path, 'r');
  } catch (cause) {
    throw new RuntimeError(failureCode, `open saved VM state ${path}`, { cause, context: { sandboxId } });
  }
}
