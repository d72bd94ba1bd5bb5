import { mkdir, realpath, writeFile } from 'node:fs/promises';
import { cpus, release, totalmem, uptime } from 'node:os';
import { join } from 'node:path';
import type { CreateSandboxRequest, GuestDetailsResponse } from '@moat/proto';
import type { ContainerService } from '../container/container.service';
import { AgentError, AgentErrorCode } from '../errors/agent.error';
import type { HostCommands } from '../host/host-commands.adapter';
import type { Logger } from '../log/logger';
import type { StorageMounter } from './storage.mounter';

export interface SandboxPaths {
  /** Where the agent writes the sandbox's files (a tmpfs in the guest). */
  sandboxDir: string;
  /** Writing here sets the hostname of the agent's UTS namespace, no sethostname(2) binding needed. */
  hostnameFile: string;
  resolvConf: string;
}

// RFC 1123 labels, at most HOST_NAME_MAX (64) characters in all.
const HOSTNAME_PATTERN = /^(?=.{1,64}$)[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$/;
const IP_PATTERN = /^[0-9A-Fa-f.:]+$/;

/** The guest as a whole: hostname, DNS, sandbox storages, and the details the host asks about. */
export class SandboxService {
  private sandboxId?: string;
  private mountPoints: string[] = [];

  constructor(
    private readonly containers: ContainerService,
    private readonly mounter: StorageMounter,
    private readonly host: HostCommands,
    private readonly paths: SandboxPaths,
    private readonly agentVersion: string,
    private readonly log: Logger,
  ) {}

  async create(request: CreateSandboxRequest): Promise<void> {
    if (this.sandboxId !== undefined) {
      throw new AgentError(AgentErrorCode.SANDBOX_EXISTS, `sandbox ${this.sandboxId} already created`);
    }
    if (request.hostname && !HOSTNAME_PATTERN.test(request.hostname)) {
      throw new AgentError(AgentErrorCode.INVALID_ARGUMENT, `invalid hostname "${request.hostname}"`);
    }
    const badServer = request.dns.find((server) => !IP_PATTERN.test(server));
    if (badServer !== undefined) throw new AgentError(AgentErrorCode.INVALID_ARGUMENT, `invalid DNS server "${badServer}"`);

    this.sandboxId = request.sandboxId || 'sandbox';
    try {
      if (request.hostname) await this.setHostname(request.hostname);
      if (request.dns.length > 0 && (await this.writeResolvConf(request.dns))) this.mountPoints.push(this.paths.resolvConf);
      this.mountPoints.push(...(await this.mounter.mountAll(request.storages)));
    } catch (error) {
      await this.mounter.unmountAll(this.mountPoints).catch(() => undefined);
      this.mountPoints = [];
      this.sandboxId = undefined;
      throw error;
    }
  }

  /** Removes every container, then the sandbox's storages (containers may live on them). */
  async destroy(): Promise<void> {
    await this.containers.removeAll();
    await this.mounter.unmountAll(this.mountPoints);
    this.mountPoints = [];
    this.sandboxId = undefined;
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

  private async setHostname(hostname: string): Promise<void> {
    try {
      await writeFile(this.paths.hostnameFile, hostname);
    } catch (cause) {
      throw new AgentError(AgentErrorCode.GUEST_SETUP_FAILED, `set hostname ${hostname}`, { cause });
    }
  }

  /**
   * The guest's root is read-only, so the file is written under the agent's tmpfs and bound
   * over /etc/resolv.conf (a file the image ships). An image whose /etc/resolv.conf is already
   * a symlink to our file needs no bind mount.
   */
  /** True when it bind-mounted, which destroy() undoes. */
  private async writeResolvConf(servers: readonly string[]): Promise<boolean> {
    const file = join(this.paths.sandboxDir, 'resolv.conf');
    await mkdir(this.paths.sandboxDir, { recursive: true });
    await writeFile(file, servers.map((server) => `nameserver ${server}\n`).join(''));
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
