import { lstat, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { DeleteResponse } from '@moat/containerd-api';
import { nodeTasksSocket, type TaskRef } from '@moat/proto/node-tasks';
import { TtrpcError } from '@moat/ttrpc';
import type { ShimConfig } from '../config/shim.config';
import type { Logger } from '../log/logger';
import { MountAdapter } from '../mount/mount.adapter';
import type { Mounter } from '../mount/mounter';
import type { NodeTasks } from '../node-tasks/node-tasks';
import { GrpcNodeTasks } from '../node-tasks/node-tasks.grpc';
import { readAddressFile } from '../socket/address-file';
import { canConnect } from '@moat/proto/unix-socket';
import { socketPathOf } from '../socket/shim-socket';
import { KILLED_EXIT_STATUS } from '../task/process-exit';
import { timestampOfMs } from '../time/timestamp';

export interface DeleteDeps {
  readonly task: TaskRef;
  /** The task's bundle (containerd runs `delete` in it and passes `-bundle` too). */
  readonly bundle: string;
  /** Where shim sockets live: the only place `delete` removes one from. */
  readonly socketDir: string;
  readonly nodeTasks: NodeTasks;
  readonly mounter: Mounter;
  readonly log: Logger;
  readonly now?: () => number;
}

/**
 * `delete`: containerd's cleanup after a shim that died (runtime/v2 `binary.Delete`). The shim
 * held no VM, so this asks the node agent to delete the task's init process — its VM and every
 * host resource — where NOT_FOUND means nothing is left; then unmounts the bundle's rootfs and
 * removes the socket the dead daemon left (the one its `address` file names, if nothing answers there).
 * Answers the encoded `DeleteResponse` that containerd reads from stdout: the node agent's pid
 * and exit, or 137 and now when it knew nothing. A node agent that cannot be asked fails the
 * command, leaving the rootfs mounted under a VM that may still run.
 */
export async function runDelete(deps: DeleteDeps): Promise<Uint8Array> {
  const now = deps.now ?? Date.now;
  let end = { pid: 0, exitStatus: KILLED_EXIT_STATUS, exitedAtMs: 0 };
  try {
    end = await deps.nodeTasks.delete({ task: deps.task, execId: '' });
  } catch (error) {
    if (!(error instanceof TtrpcError && error.code === 'NOT_FOUND')) throw error;
    deps.log.debug('the node agent has no such task: nothing to delete', { id: deps.task.id });
  }
  const rootfs = join(deps.bundle, 'rootfs');
  try {
    await deps.mounter.unmountAll(rootfs);
  } catch (error) {
    // containerd unmounts it again before removing the bundle.
    deps.log.warn('unmounting the task rootfs failed', { id: deps.task.id, error });
  }
  await removeDeadSocket(deps.bundle, deps.socketDir);
  return DeleteResponse.encode({ pid: end.pid, exitStatus: end.exitStatus, exitedAt: timestampOfMs(end.exitedAtMs || now()) }).finish();
}

/**
 * Removes the shim socket the bundle's `address` file names when no daemon serves it any more
 * (containerd's own shims leave it behind). Only a socket in the shim socket dir is removed.
 */
async function removeDeadSocket(bundle: string, socketDir: string): Promise<void> {
  const address = await readAddressFile(bundle);
  const path = address === undefined ? undefined : socketPathOf(address);
  if (path === undefined || dirname(path) !== socketDir) return;
  const isSocket = await lstat(path).then((stats) => stats.isSocket(), () => false);
  if (isSocket && !(await canConnect(path))) await rm(path, { force: true });
}

/** `delete` as containerd runs it: the task of `-namespace` and `-id`, the node agent on its socket, mount(8). */
export async function deleteCommand(config: ShimConfig, log: Logger): Promise<Uint8Array> {
  const nodeTasks = new GrpcNodeTasks(nodeTasksSocket(config.runDir));
  try {
    const task = { namespace: config.flags.namespace, id: config.flags.id };
    return await runDelete({ task, bundle: config.bundle, socketDir: config.socketDir, nodeTasks, mounter: new MountAdapter(), log });
  } finally {
    nodeTasks.close();
  }
}
