import { mkdir, readFile, realpath, rm, writeFile } from 'node:fs/promises';
import { cpus, networkInterfaces, release, totalmem, uptime } from 'node:os';
import { join } from 'node:path';
import type { CreateSandboxRequest, GuestDetailsResponse } from '@moat/proto';
import type { ContainerService } from '../container/container.service';
import type { OciMount } from '../container/oci-spec';
import { AgentError, AgentErrorCode } from '../errors/agent.error';
import type { HostCommands } from '../host/host-commands.adapter';
import type { Logger } from '../log/logger';
import type { StorageMounter } from '../storage/storage.mounter';
import { hostnameFile, hostsFile, isValidHostname, resolvConfFile, SANDBOX_FILES, type SandboxFileName } from './sandbox-files';

export interface SandboxPaths {
  /** Where the agent writes the sandbox's files (a tmpfs in the guest). */
  sandboxDir: string;
  /** Writing here sets the hostname of the agent's UTS namespace, no sethostname(2) binding needed. */
  hostnameFile: string;
  resolvConf: string;
}

/** The guest's NIC: UpdateInterface always names it eth0. */
const GUEST_NIC = 'eth0';
/** A guest without a hostname of its own (the kernel's "(none)") names itself this. */
const FALLBACK_HOSTNAME = 'localhost';

/** The IPv4 addresses the guest's NIC has now (none without a network). */
export function guestNicIpv4Addresses(): string[] {
  return (networkInterfaces()[GUEST_NIC] ?? []).filter((info) => info.family === 'IPv4').map((info) => info.address);
}

/** The guest as a whole: hostname, DNS, sandbox storages, and the details the host asks about. */
export class SandboxService {
  private sandboxId?: string;
  private mountPoints: string[] = [];
  private filesWritten = false;

  constructor(
    private readonly containers: ContainerService,
    private readonly mounter: StorageMounter,
    private readonly host: HostCommands,
    private readonly paths: SandboxPaths,
    private readonly agentVersion: string,
    private readonly log: Logger,
    private readonly ipv4Addresses: () => readonly string[] = guestNicIpv4Addresses,
  ) {}

  async create(request: CreateSandboxRequest): Promise<void> {
    if (this.sandboxId !== undefined) {
      throw new AgentError(AgentErrorCode.SANDBOX_EXISTS, `sandbox ${this.sandboxId} already created`);
    }
    if (request.hostname && !isValidHostname(request.hostname)) {
      throw new AgentError(AgentErrorCode.INVALID_ARGUMENT, `invalid hostname "${request.hostname}"`);
    }
    const resolvConf = resolvConfFile({ servers: request.dns, search: request.dnsSearch, options: request.dnsOptions });

    this.sandboxId = request.sandboxId || 'sandbox';
    try {
      if (request.hostname) await this.setHostname(request.hostname);
      // CreateSandbox follows UpdateInterface, so the NIC has its addresses by now.
      const hostname = request.hostname || (await this.currentHostname());
      await this.writeFiles({ hostname: hostnameFile(hostname), hosts: hostsFile(hostname, this.ipv4Addresses()), 'resolv.conf': resolvConf });
      if (resolvConf !== '' && (await this.bindResolvConf())) this.mountPoints.push(this.paths.resolvConf);
      this.mountPoints.push(...(await this.mounter.mountAll(request.storages)));
    } catch (error) {
      await this.mounter.unmountAll(this.mountPoints).catch(() => undefined);
      this.mountPoints = [];
      this.filesWritten = false;
      this.sandboxId = undefined;
      throw error;
    }
  }

  /**
   * A forked VM's new name (after its NIC has its own addresses): the guest's hostname, every
   * running container's (in its UTS namespace, with busybox's nsenter), and /etc/hostname and
   * /etc/hosts, rewritten in place so the containers' binds see them.
   */
  async rename(hostname: string): Promise<void> {
    if (this.sandboxId === undefined) throw new AgentError(AgentErrorCode.WRONG_STATE, 'there is no sandbox to rename: CreateSandbox comes first');
    if (!isValidHostname(hostname)) throw new AgentError(AgentErrorCode.INVALID_ARGUMENT, `invalid hostname "${hostname}"`);
    await this.setHostname(hostname);
    const resolvConf = await readFile(this.fileOf('resolv.conf'), 'utf8').catch(() => '');
    await this.writeFiles({ hostname: hostnameFile(hostname), hosts: hostsFile(hostname, this.ipv4Addresses()), 'resolv.conf': resolvConf });
    for (const pid of this.containers.runningInitPids()) {
      const result = await this.host.run('nsenter', ['-t', String(pid), '-u', 'hostname', hostname]);
      if (result.exitCode !== 0) throw new AgentError(AgentErrorCode.GUEST_SETUP_FAILED, `set the hostname of the container of pid ${pid}: ${result.stderr}`);
    }
  }

  /** Removes every container, then the sandbox's storages (containers may live on them). */
  async destroy(): Promise<void> {
    await this.containers.removeAll();
    await this.mounter.unmountAll(this.mountPoints);
    this.mountPoints = [];
    this.filesWritten = false;
    await Promise.all(SANDBOX_FILES.map(({ name }) => rm(this.fileOf(name), { force: true })));
    this.sandboxId = undefined;
  }

  /**
   * Read-only binds of the sandbox's hostname, hosts and resolv.conf for every container, as
   * Docker and CRI give them; none before CreateSandbox. crun creates missing targets in the rootfs.
   */
  containerMounts(): OciMount[] {
    if (!this.filesWritten) return [];
    return SANDBOX_FILES.map(({ name, destination }) => ({
      destination,
      type: 'bind',
      source: this.fileOf(name),
      options: ['rbind', 'ro', 'nosuid', 'nodev', 'noexec'],
    }));
  }

  details(): GuestDetailsResponse {
    return {
      kernelRelease: release(),
      agentVersion: this.agentVersion,
      memTotalBytes: totalmem(),
      cpus: cpus().length,
      bootTimeUnixMs: Math.round(Date.now() - uptime() * 1000),
    };
  }

  private fileOf(name: SandboxFileName): string {
    return join(this.paths.sandboxDir, name);
  }

  private async setHostname(hostname: string): Promise<void> {
    try {
      await writeFile(this.paths.hostnameFile, hostname);
    } catch (cause) {
      throw new AgentError(AgentErrorCode.GUEST_SETUP_FAILED, `set hostname ${hostname}`, { cause });
    }
  }

  private async currentHostname(): Promise<string> {
    const current = (await readFile(this.paths.hostnameFile, 'utf8').catch(() => '')).trim();
    return isValidHostname(current) ? current : FALLBACK_HOSTNAME;
  }

  private async writeFiles(contents: Record<SandboxFileName, string>): Promise<void> {
    try {
      await mkdir(this.paths.sandboxDir, { recursive: true });
      // Rewritten in place, never renamed over: a bind mount holds the inode it was given.
      for (const { name } of SANDBOX_FILES) await writeFile(this.fileOf(name), contents[name], { mode: 0o644 });
    } catch (cause) {
      throw new AgentError(AgentErrorCode.GUEST_SETUP_FAILED, `write the sandbox files in ${this.paths.sandboxDir}`, { cause });
    }
    this.filesWritten = true;
  }

  /**
   * The guest's root is read-only, so the sandbox's resolv.conf is bound over /etc/resolv.conf
   * (a file the image ships) for the guest's own lookups. An image whose /etc/resolv.conf is
   * already a symlink to our file needs no bind mount. True when it bind-mounted, which destroy() undoes.
   */
  private async bindResolvConf(): Promise<boolean> {
    const file = this.fileOf('resolv.conf');
    const target = await realpath(this.paths.resolvConf).catch(() => undefined);
    if (target === (await realpath(file))) return false;
    if (target === undefined) {
      this.log.warn('no resolv.conf to bind over; the guest keeps no DNS configuration', { path: this.paths.resolvConf });
      return false;
    }
    const result = await this.host.run('mount', ['--bind', file, this.paths.resolvConf]);
    if (result.exitCode !== 0) {
      throw new AgentError(AgentErrorCode.GUEST_SETUP_FAILED, `bind ${file} over ${this.paths.resolvConf}: ${result.stderr}`);
    }
    return true;
  }
}
