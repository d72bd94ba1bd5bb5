import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CreateSandboxRequest } from '@moat/proto';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import type { ContainerService } from '../container/container.service';
import { AgentErrorCode } from '../errors/agent.error';
import { RecordingHost } from '../host/testing/recording-host';
import { createJsonLogger } from '../log/logger';
import { StorageMounter } from '../storage/storage.mounter';
import { SandboxService } from './sandbox.service';

const request = (fields: Partial<CreateSandboxRequest> = {}): CreateSandboxRequest => ({
  sandboxId: 'sb-1',
  hostname: 'sb-1',
  dns: ['10.99.0.53'],
  dnsSearch: ['example.internal'],
  dnsOptions: ['ndots:2'],
  storages: [],
  ...fields,
});

describe('SandboxService', () => {
  let dir: string;
  let sandboxDir: string;
  let hostnameFile: string;
  let guestResolvConf: string;
  let host: RecordingHost;
  let addresses: string[];
  let sandbox: SandboxService;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'moat-sandbox-'));
    sandboxDir = join(dir, 'sandbox');
    hostnameFile = join(dir, 'kernel-hostname');
    guestResolvConf = join(dir, 'etc-resolv.conf');
    writeFileSync(hostnameFile, '(none)\n');
    writeFileSync(guestResolvConf, '');
    host = new RecordingHost();
    addresses = ['10.88.0.5'];
    const containers = { removeAll: () => Promise.resolve(), runningInitPids: () => [41, 42] } as unknown as ContainerService;
    sandbox = new SandboxService(
      containers,
      new StorageMounter(host),
      host,
      { sandboxDir, hostnameFile, resolvConf: guestResolvConf },
      'test',
      createJsonLogger(() => undefined),
      () => addresses,
    );
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const file = (name: string): string => readFileSync(join(sandboxDir, name), 'utf8');

  it('writes the sandbox’s hostname, hosts and resolv.conf and offers them to containers read-only', async () => {
    expect(sandbox.containerMounts()).toEqual([]);
    await sandbox.create(request());
    expect(readFileSync(hostnameFile, 'utf8')).toBe('sb-1');
    expect(file('hostname')).toBe('sb-1\n');
    expect(file('hosts')).toBe('127.0.0.1 localhost\n::1 localhost ip6-localhost ip6-loopback\n10.88.0.5 sb-1\n');
    expect(file('resolv.conf')).toBe('nameserver 10.99.0.53\nsearch example.internal\noptions ndots:2\n');
    const options = ['rbind', 'ro', 'nosuid', 'nodev', 'noexec'];
    expect(sandbox.containerMounts()).toEqual([
      { destination: '/etc/hostname', type: 'bind', source: join(sandboxDir, 'hostname'), options },
      { destination: '/etc/hosts', type: 'bind', source: join(sandboxDir, 'hosts'), options },
      { destination: '/etc/resolv.conf', type: 'bind', source: join(sandboxDir, 'resolv.conf'), options },
    ]);
    // The guest's own lookups use the same file.
    expect(host.runs).toEqual([['mount', '--bind', join(sandboxDir, 'resolv.conf'), guestResolvConf]]);
  });

  it('names the hostname on 127.0.1.1 without a network, and binds nothing over the guest’s resolv.conf without DNS settings', async () => {
    addresses = [];
    await sandbox.create(request({ dns: [], dnsSearch: [], dnsOptions: [] }));
    expect(file('hosts')).toContain('\n127.0.1.1 sb-1\n');
    expect(file('resolv.conf')).toBe('');
    expect(sandbox.containerMounts().map((mount) => mount.destination)).toContain('/etc/resolv.conf');
    expect(host.runs).toEqual([]);
  });

  it('keeps the guest’s hostname when the request names none, or "localhost" when the guest has none', async () => {
    await sandbox.create(request({ hostname: '' }));
    expect(file('hostname')).toBe('localhost\n');
    await sandbox.destroy();
    writeFileSync(hostnameFile, 'guest-7\n');
    await sandbox.create(request({ hostname: '' }));
    expect(file('hostname')).toBe('guest-7\n');
  });

  it.each([
    ['a name server that is not an IP address', { dns: ['ns.example'] }],
    ['a search domain that adds a line', { dnsSearch: ['example.internal\nnameserver 6.6.6.6'] }],
    ['an unknown option form', { dnsOptions: ['ndots=2'] }],
    ['a hostname with a newline', { hostname: 'sb\n127.0.0.1 evil' }],
  ])('rejects %s as INVALID_ARGUMENT before touching anything', async (_case, fields) => {
    await expect(sandbox.create(request(fields))).rejects.toMatchObject({ code: AgentErrorCode.INVALID_ARGUMENT });
    expect(existsSync(sandboxDir)).toBe(false);
    expect(readFileSync(hostnameFile, 'utf8')).toBe('(none)\n');
    expect(sandbox.containerMounts()).toEqual([]);
    // Nothing was claimed: a valid request still succeeds.
    await sandbox.create(request());
  });

  it("renames a forked guest: its hostname, every running container's, and the files its containers see, in place", async () => {
    await expect(sandbox.rename('clone-1')).rejects.toMatchObject({ code: AgentErrorCode.WRONG_STATE });
    await sandbox.create(request());
    const hostsInode = statSync(join(sandboxDir, 'hosts')).ino;
    addresses = ['10.88.0.6'];
    host.runs.length = 0;
    await sandbox.rename('clone-1');
    expect(readFileSync(hostnameFile, 'utf8')).toBe('clone-1');
    expect(file('hostname')).toBe('clone-1\n');
    expect(file('hosts')).toContain('10.88.0.6 clone-1\n');
    expect(file('resolv.conf')).toBe('nameserver 10.99.0.53\nsearch example.internal\noptions ndots:2\n');
    // The containers' binds hold the inode they were given.
    expect(statSync(join(sandboxDir, 'hosts')).ino).toBe(hostsInode);
    expect(host.runs).toEqual([
      ['nsenter', '-t', '41', '-u', 'hostname', 'clone-1'],
      ['nsenter', '-t', '42', '-u', 'hostname', 'clone-1'],
    ]);
    await expect(sandbox.rename('bad name!')).rejects.toMatchObject({ code: AgentErrorCode.INVALID_ARGUMENT });
  });

  it('takes the mounts back and removes the files on destroy', async () => {
    await sandbox.create(request());
    await sandbox.destroy();
    expect(sandbox.containerMounts()).toEqual([]);
    expect(host.runs.at(-1)).toEqual(['umount', guestResolvConf]);
    expect(existsSync(join(sandboxDir, 'hosts'))).toBe(false);
  });
});
