import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { closeSync, constants, existsSync, openSync, readFileSync, readSync, writeSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { loadShimConfig, type ShimConfig } from '../config/shim.config';
import { expectShimAddress } from '../testing/shim-address';
import { tempDir } from '../testing/temp-dir';
import type { DaemonLauncher, LaunchedDaemon } from './daemon.launcher';
import { canConnect } from '@moat/proto/unix-socket';
import { runStart } from './start.command';

/** Stands in for the daemon: serves the `-socket` it is given in this process, or dies at once. */
class FakeLauncher implements DaemonLauncher {
  readonly launches: { args: readonly string[]; cwd: string }[] = [];
  readonly servers: Server[] = [];
  dies = false;
  logLine: string | undefined;

  launch(args: readonly string[], { cwd, logFd }: { cwd: string; logFd: number }): LaunchedDaemon {
    this.launches.push({ args, cwd });
    if (this.logLine !== undefined) writeSync(logFd, this.logLine);
    if (this.dies) return { exited: Promise.resolve(1), kill: () => undefined };
    const server = createServer((socket) => socket.destroy());
    server.listen(args[args.indexOf('-socket') + 1]);
    this.servers.push(server);
    return { exited: new Promise(() => undefined), kill: () => server.close() };
  }

  close(): Promise<void[]> {
    return Promise.all(this.servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
  }
}

const ARGV = ['-namespace', 'default', '-address', '/run/containerd/containerd.sock', '-publish-binary', '/usr/bin/containerd', '-id', 'web', 'start'];

describe('runStart', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let bundle: string;
  let config: ShimConfig;
  let launcher: FakeLauncher;

  beforeEach(async () => {
    dir = await tempDir();
    bundle = join(dir.path, 'bundle');
    await mkdir(bundle);
    config = loadShimConfig(ARGV, { MOAT_RUN_DIR: join(dir.path, 'run') }, bundle);
    launcher = new FakeLauncher();
  });

  afterEach(async () => {
    await launcher.close();
    await dir.remove();
  });

  it('launches the daemon in the bundle with the same flags and its socket, then answers its address and writes the address file', async () => {
    const address = await runStart(config, { launcher });

    const socket = expectShimAddress(address, join(dir.path, 'run'));
    expect(await canConnect(socket)).toBe(true);
    expect(readFileSync(join(bundle, 'address'), 'utf8')).toBe(address);
    expect(launcher.launches).toEqual([
      {
        cwd: bundle,
        args: ['-namespace', 'default', '-address', '/run/containerd/containerd.sock', '-publish-binary', '/usr/bin/containerd', '-id', 'web', '-bundle', bundle, '-socket', socket],
      },
    ]);
  });

  it('answers the address of a daemon that already serves it, without launching another', async () => {
    const first = await runStart(config, { launcher });
    expect(await runStart(config, { launcher })).toBe(first);
    expect(launcher.launches).toHaveLength(1);
  });

  it("answers a pod's container with its sandbox's daemon, grouped by CRI's annotation", async () => {
    const annotate = (dirPath: string, annotations: Record<string, string>) => writeFile(join(dirPath, 'config.json'), JSON.stringify({ annotations }));
    const podBundle = join(dir.path, 'pod-bundle');
    await mkdir(podBundle);
    await annotate(podBundle, { 'io.kubernetes.cri.container-type': 'sandbox', 'io.kubernetes.cri.sandbox-id': 'pod1' });
    const sandboxConfig = loadShimConfig(ARGV.map((arg) => (arg === 'web' ? 'pod1' : arg)), { MOAT_RUN_DIR: join(dir.path, 'run') }, podBundle);
    const podAddress = await runStart(sandboxConfig, { launcher });

    const containerBundle = join(dir.path, 'web-bundle');
    await mkdir(containerBundle);
    await annotate(containerBundle, { 'io.kubernetes.cri.container-type': 'container', 'io.kubernetes.cri.sandbox-id': 'pod1' });
    const containerConfig = loadShimConfig(ARGV, { MOAT_RUN_DIR: join(dir.path, 'run') }, containerBundle);
    expect(await runStart(containerConfig, { launcher })).toBe(podAddress);
    expect(launcher.launches).toHaveLength(1);
    expect(readFileSync(join(containerBundle, 'address'), 'utf8')).toBe(podAddress);
    // A task without the annotation gets a shim of its own.
    expect(await runStart(config, { launcher })).not.toBe(podAddress);
  });

  it('replaces the socket a dead daemon left behind', async () => {
    const address = await runStart(config, { launcher });
    await launcher.close();
    const socket = address.slice('unix://'.length);
    await writeFile(socket, '');
    expect(await runStart(config, { launcher })).toBe(address);
    expect(launcher.launches).toHaveLength(2);
    expect(await canConnect(socket)).toBe(true);
  });

  it('fails when the daemon dies before serving, leaving no socket and no address file', async () => {
    launcher.dies = true;
    await expect(runStart(config, { launcher, readyTimeoutMs: 2_000 })).rejects.toMatchObject({ code: 'DAEMON_START_FAILED' });
    expect(existsSync(join(bundle, 'address'))).toBe(false);
  });

  it('gives the daemon containerd’s log FIFO when containerd reads it, else the bundle’s shim.log', async () => {
    launcher.logLine = 'to the file\n';
    await runStart(config, { launcher });
    expect(readFileSync(join(bundle, 'shim.log'), 'utf8')).toBe('to the file\n');

    const other = join(dir.path, 'other');
    await mkdir(other);
    execFileSync('mkfifo', [join(other, 'log')]);
    // containerd holds the reading end open before it runs `start`.
    const reader = openSync(join(other, 'log'), constants.O_RDONLY | constants.O_NONBLOCK);
    try {
      launcher.logLine = 'to containerd\n';
      await runStart(loadShimConfig(ARGV.map((arg) => (arg === 'web' ? 'db' : arg)), { MOAT_RUN_DIR: join(dir.path, 'run') }, other), { launcher });
      const buffer = Buffer.alloc(64);
      expect(buffer.subarray(0, readSync(reader, buffer)).toString()).toBe('to containerd\n');
      expect(existsSync(join(other, 'shim.log'))).toBe(false);
    } finally {
      closeSync(reader);
    }
  });
});
