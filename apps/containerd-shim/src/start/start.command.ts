import { closeSync, constants, fstatSync, openSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ShimConfig } from '../config/shim.config';
import type { ShimFlags } from '../config/shim-flags';
import { ShimError, ShimErrorCode } from '../errors/shim.error';
import { writeAddressFile } from '../socket/address-file';
import { canConnect } from '@moat/proto/unix-socket';
import { shimSocketPath, socketAddressOf } from '../socket/shim-socket';
import type { DaemonLauncher, LaunchedDaemon } from './daemon.launcher';
import { shimGroupOf } from './shim-group';

/** How long `start` waits for its daemon to serve (containerd waits on `start` with no deadline of its own). */
export const DAEMON_READY_TIMEOUT_MS = 10_000;
const READY_POLL_MS = 20;

/** The FIFO containerd reads the shim's log from (runtime/v2 `openShimLog`), in the bundle. */
export const LOG_FIFO = 'log';
/** Where the daemon logs when nobody reads the FIFO (a `start` run by hand). */
export const LOG_FILE = 'shim.log';

export interface StartDeps {
  readonly launcher: DaemonLauncher;
  readonly readyTimeoutMs?: number;
}

/**
 * `start`: makes sure a daemon serves this task's shim socket and answers its address
 * (`unix://<path>`), which the caller prints on stdout — containerd reads all of `start`'s output,
 * stderr included, as the address, so nothing else may be printed. A live daemon already on the
 * socket is reused (containerd retrying, or later a pod's second container); otherwise the
 * daemon is launched in its own session with the same flags and `-socket`, in the bundle,
 * logging to containerd's `log` FIFO. The address is also written to the bundle's `address`
 * file, where a restarted containerd finds the shim again.
 */
export async function runStart(config: ShimConfig, deps: StartDeps): Promise<string> {
  const { flags, bundle } = config;
  const path = shimSocketPath({ socketDir: config.socketDir, containerdAddress: flags.address, namespace: flags.namespace, group: await shimGroupOf(flags.id, bundle) });
  const address = socketAddressOf(path);
  if (await canConnect(path)) {
    await writeAddressFile(bundle, address);
    return address;
  }
  // A daemon that died left its socket behind.
  await rm(path, { force: true });
  await mkdir(config.socketDir, { recursive: true, mode: 0o700 });

  const logFd = openDaemonLog(bundle);
  let daemon: LaunchedDaemon;
  try {
    daemon = deps.launcher.launch(daemonArgs(flags, bundle, path), { cwd: bundle, logFd });
  } finally {
    closeSync(logFd);
  }
  try {
    await waitUntilServing(path, daemon, deps.readyTimeoutMs ?? DAEMON_READY_TIMEOUT_MS, bundle);
    await writeAddressFile(bundle, address);
  } catch (error) {
    daemon.kill();
    await rm(path, { force: true });
    throw error;
  }
  return address;
}

/** The daemon's command line: the flags containerd gave `start`, where to listen, and no action. */
export function daemonArgs(flags: ShimFlags, bundle: string, socket: string): string[] {
  return [
    '-namespace', flags.namespace,
    '-address', flags.address,
    '-publish-binary', flags.publishBinary,
    '-id', flags.id,
    '-bundle', bundle,
    '-socket', socket,
    ...(flags.debug ? ['-debug'] : []),
  ];
}

/**
 * containerd's `log` FIFO in the bundle, opened for writing when containerd holds its reading end
 * (it opens it before running `start`); else the bundle's `shim.log`, appended to.
 */
function openDaemonLog(bundle: string): number {
  try {
    const fd = openSync(join(bundle, LOG_FIFO), constants.O_WRONLY | constants.O_NONBLOCK);
    if (fstatSync(fd).isFIFO()) return fd;
    closeSync(fd);
  } catch {
    // no FIFO, or nobody reading it (ENXIO)
  }
  return openSync(join(bundle, LOG_FILE), 'a', 0o600);
}

async function waitUntilServing(path: string, daemon: LaunchedDaemon, timeoutMs: number, bundle: string): Promise<void> {
  let exit: number | string | undefined;
  void daemon.exited.then((status) => (exit = status));
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await canConnect(path)) return;
    if (exit !== undefined) {
      throw new ShimError(ShimErrorCode.DAEMON_START_FAILED, `the shim daemon ended (${exit}) before serving ${path}; its log is in ${bundle}`);
    }
    if (Date.now() >= deadline) throw new ShimError(ShimErrorCode.DAEMON_START_FAILED, `the shim daemon did not serve ${path} within ${timeoutMs} ms`);
    await sleep(READY_POLL_MS);
  }
}
