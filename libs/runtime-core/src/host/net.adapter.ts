import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathExists } from './fs.helpers';
import type { ProcessAdapter } from './process.adapter';

/** Paths of named network namespaces, as `ip netns` creates them. */
export const NETNS_DIR = '/run/netns';

/**
 * The Linux network tools the runtime drives: iproute2 in batch mode (one fork for many
 * changes), iptables, and commands run inside a network namespace.
 */
export interface NetAdapter {
  /** `ip [-n netns] -batch -`: every line is one `ip` command; stops at the first failure. */
  ipBatch(lines: readonly string[], netns?: string): Promise<void>;
  /** `tc [-n netns] -batch -`. */
  tcBatch(lines: readonly string[], netns?: string): Promise<void>;
  /** One `ip` command; resolves with its stdout. */
  ip(args: readonly string[], netns?: string): Promise<string>;
  /** One iproute2 `bridge` command (forwarding database, ports); resolves with its stdout. */
  bridge(args: readonly string[], netns?: string): Promise<string>;
  /** `iptables -w …`; resolves with its stdout. */
  iptables(args: readonly string[]): Promise<string>;
  /** `nft -f -`: the script is applied as one transaction, all of it or none. */
  nft(script: string): Promise<void>;
  /** Runs a command with the namespace's view of the network (and of /sys). */
  inNetns(netns: string, command: string, args: readonly string[]): Promise<string>;
  /** Creates a character device node. */
  mknod(path: string, major: number, minor: number): Promise<void>;
  /**
   * Deletes the connection-tracking entries of flows to and from `address` in this namespace
   * (`conntrack -D`). A flow's NAT is bound in its entry, not its rules: without this, the next
   * packet of a published port's connection to a sandbox that left would still be DNATed to its
   * address and routed on, where now it is refused with a reset.
   */
  forgetFlows(address: string): Promise<void>;
  /** Turns on IPv4 forwarding between the host's interfaces. */
  enableIpv4Forwarding(): Promise<void>;
  /**
   * Whether a link of that name exists in this process's network namespace. Read from
   * /proc/net/dev, which follows the reader's namespace; /sys/class/net follows the namespace
   * sysfs was mounted in, which is not this one for an agent started with `nsenter --net`.
   */
  linkExists(name: string): Promise<boolean>;
  /** Pins the network namespace at `path` (a pinned one, or /proc/<pid>/ns/net) under NETNS_DIR as `name`, for `-n name`. */
  pinNetns(path: string, name: string): Promise<void>;
  /** Undoes {@link pinNetns}: the namespace lives on while anything else holds it; idempotent. */
  unpinNetns(name: string): Promise<void>;
}

export class IprouteNetAdapter implements NetAdapter {
  constructor(private readonly proc: ProcessAdapter) {}

  async ipBatch(lines: readonly string[], netns?: string): Promise<void> {
    if (lines.length === 0) return;
    await this.proc.run('ip', [...nsArgs(netns), '-batch', '-'], { input: `${lines.join('\n')}\n` });
  }

  async tcBatch(lines: readonly string[], netns?: string): Promise<void> {
    if (lines.length === 0) return;
    await this.proc.run('tc', [...nsArgs(netns), '-batch', '-'], { input: `${lines.join('\n')}\n` });
  }

  async ip(args: readonly string[], netns?: string): Promise<string> {
    return (await this.proc.run('ip', [...nsArgs(netns), ...args])).stdout;
  }

  async bridge(args: readonly string[], netns?: string): Promise<string> {
    return (await this.proc.run('bridge', [...nsArgs(netns), ...args])).stdout;
  }

  async iptables(args: readonly string[]): Promise<string> {
    return (await this.proc.run('iptables', ['-w', ...args])).stdout;
  }

  async nft(script: string): Promise<void> {
    await this.proc.run('nft', ['-f', '-'], { input: script });
  }

  async inNetns(netns: string, command: string, args: readonly string[]): Promise<string> {
    return (await this.proc.run('ip', ['netns', 'exec', netns, command, ...args])).stdout;
  }

  async mknod(path: string, major: number, minor: number): Promise<void> {
    await this.proc.run('mknod', ['-m', '0600', path, 'c', String(major), String(minor)]);
  }

  async forgetFlows(address: string): Promise<void> {
    for (const side of ['--orig-src', '--reply-src']) {
      // conntrack exits 1 when nothing matched.
      await this.proc.run('conntrack', ['-D', side, address]).catch((error: unknown) => {
        if (!String(error).includes('0 flow entries have been deleted')) throw error;
      });
    }
  }

  async enableIpv4Forwarding(): Promise<void> {
    await writeFile('/proc/sys/net/ipv4/ip_forward', '1\n');
  }

  async linkExists(name: string): Promise<boolean> {
    return linkNames(await readFile('/proc/net/dev', 'utf8')).includes(name);
  }

  async pinNetns(path: string, name: string): Promise<void> {
    const pin = join(NETNS_DIR, name);
    await mkdir(NETNS_DIR, { recursive: true, mode: 0o755 });
    await writeFile(pin, '', { mode: 0o444 });
    try {
      await this.proc.run('mount', ['--bind', path, pin]);
    } catch (error) {
      await rm(pin, { force: true });
      throw error;
    }
  }

  async unpinNetns(name: string): Promise<void> {
    const pin = join(NETNS_DIR, name);
    if (!(await pathExists(pin))) return;
    // A pin whose mount never happened (a crash in between) is a plain file: nothing to unmount.
    await this.proc.run('umount', [pin]).catch(() => undefined);
    await rm(pin, { force: true });
  }
}

/** The interface names of a /proc/net/dev listing (two header lines, then `name: counters…`). */
export function linkNames(procNetDev: string): string[] {
  return procNetDev
    .split('\n')
    .slice(2)
    .map((line) => line.split(':')[0].trim())
    .filter(Boolean);
}

function nsArgs(netns: string | undefined): string[] {
  return netns ? ['-n', netns] : [];
}
