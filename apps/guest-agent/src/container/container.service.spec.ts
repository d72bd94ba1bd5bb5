import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { ChildProcessHostCommands } from '../host/host-commands.adapter';
import { createJsonLogger } from '../log/logger';
import type { ContainerProcess } from '../process/container-process';
import { ProcessTable } from '../process/process-table';
import { StorageMounter } from '../storage/storage.mounter';
import { ContainerService } from './container.service';
import type { Crun } from './crun.adapter';
import type { OciMount } from './oci-spec';

const bind = (destination: string, source: string): OciMount => ({ destination, type: 'bind', source, options: ['rbind', 'ro'] });
const sandboxMounts = [
  bind('/etc/hostname', '/run/moat/sandbox/hostname'),
  bind('/etc/hosts', '/run/moat/sandbox/hosts'),
  bind('/etc/resolv.conf', '/run/moat/sandbox/resolv.conf'),
];
const spec = {
  ociVersion: '1.0.2',
  root: { path: '/run/moat/shared/c1/rootfs' },
  process: { args: ['sleep', '1000'], env: ['PATH=/bin'], cwd: '/' },
  mounts: [{ destination: '/proc', type: 'proc', source: 'proc' }],
};

describe('ContainerService.create', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'moat-containers-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  // create() runs neither crun nor mount for a container without storages.
  const service = (mounts: readonly OciMount[]): ContainerService =>
    new ContainerService(
      {} as Crun,
      new StorageMounter(new ChildProcessHostCommands()),
      new ProcessTable<ContainerProcess>(),
      createJsonLogger(() => undefined),
      { containersDir: dir, streamLimitBytes: 1024, startTimeoutMs: 1000 },
      () => mounts,
    );
  const bundleSpec = (id: string): typeof spec => JSON.parse(readFileSync(join(dir, id, 'config.json'), 'utf8')) as typeof spec;

  it('adds the sandbox’s hostname, hosts and resolv.conf mounts after the spec’s own', async () => {
    await service(sandboxMounts).create({ containerId: 'c1', ociSpecJson: JSON.stringify(spec), storages: [] });
    expect(bundleSpec('c1')).toEqual({ ...spec, mounts: [...spec.mounts, ...sandboxMounts] });
  });

  it('leaves out a destination the spec mounts itself, as CRI does with its sandbox files', async () => {
    const own = [...spec.mounts, bind('/etc/hosts/', '/var/lib/cri/hosts'), bind('etc/resolv.conf', '/var/lib/cri/resolv.conf')];
    await service(sandboxMounts).create({ containerId: 'c1', ociSpecJson: JSON.stringify({ ...spec, mounts: own }), storages: [] });
    expect(bundleSpec('c1').mounts).toEqual([...own, sandboxMounts[0]]);
  });

  it('tells crun of no terminal for an init that wants one: the agent opens its pty', async () => {
    await service([]).create({ containerId: 'c1', ociSpecJson: JSON.stringify({ ...spec, process: { ...spec.process, terminal: true } }), storages: [] });
    expect(bundleSpec('c1').process).toEqual({ ...spec.process, terminal: false });
  });

  it('writes the host’s spec untouched when there is nothing to add (before CreateSandbox)', async () => {
    const json = JSON.stringify(spec, null, 2);
    await service([]).create({ containerId: 'c1', ociSpecJson: json, storages: [] });
    expect(readFileSync(join(dir, 'c1', 'config.json'), 'utf8')).toBe(json);
  });
});
