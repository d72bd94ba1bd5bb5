import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { describeError, RuntimeError } from '../../errors/runtime.errors';
import { mkdirDurable, pathExists, writeFileAtomic } from '../../host/fs.helpers';
import type { ProcessAdapter } from '../../host/process.adapter';
import { NetworkError, NetworkErrorCode } from '../../errors/network.errors';
import {
  cniConflistSchema,
  cniResultSchema,
  type CniAttachment,
  type CniConflist,
  type CniMode,
  type CniPluginConf,
  type CniResult,
  type CniRuntimeConfig,
} from './cni.types';

export interface CniRunnerOptions {
  /** Directories searched for plugin binaries, in order (`MOAT_CNI_PATH`, colon-separated). */
  pluginDirs: readonly string[];
  /** Where each attachment's ADD request and result are cached, so DEL works after a restart. */
  cacheDir: string;
  /** A plugin that runs longer than this is killed. */
  pluginTimeoutMs?: number;
}

const cacheSchema = z.object({
  attachment: z.object({ containerId: z.string(), netnsPath: z.string(), ifname: z.string() }),
  mode: z.enum(['full', 'ipam-only']),
  conflist: cniConflistSchema,
  runtimeConfig: z.record(z.string(), z.unknown()),
  /** Absent while ADD is in flight or if it failed: DEL then runs without a prevResult. */
  result: cniResultSchema.optional(),
});
type CacheEntry = z.infer<typeof cacheSchema>;

const CNI_ERROR = z.object({ code: z.number().optional(), msg: z.string(), details: z.string().optional() });
const DEFAULT_PLUGIN_TIMEOUT_MS = 30_000;

/**
 * Runs CNI 1.0 network configuration lists the way libcni does: plugins in order for ADD, each
 * given the previous result; CHECK and DEL from the cached ADD (DEL in reverse order). The
 * cache is written before ADD starts, so a crash or a failed ADD is still undone by DEL.
 */
export class CniRunner {
  constructor(
    private readonly proc: ProcessAdapter,
    private readonly opts: CniRunnerOptions,
  ) {}

  async add(attachment: CniAttachment, conflist: CniConflist, runtimeConfig: CniRuntimeConfig, mode: CniMode = 'full'): Promise<CniResult> {
    const entry: CacheEntry = { attachment, mode, conflist, runtimeConfig: { ...runtimeConfig } };
    await this.writeCache(entry);
    let prevResult: CniResult | undefined;
    for (const plugin of this.chain(entry)) {
      prevResult = await this.exec('ADD', entry, plugin, prevResult);
    }
    if (!prevResult) throw new NetworkError(NetworkErrorCode.CNI_CONFIG_INVALID, `conflist ${conflist.name} has no plugins`);
    entry.result = prevResult;
    await this.writeCache(entry);
    return prevResult;
  }

  /**
   * Asks every plugin whether the attachment is still as ADD left it; throws if not. A plugin
   * that exists only for capabilities this attachment was given none of (`bandwidth` without
   * rates, `portmap` without ports) did nothing at ADD and is not asked: Debian's `bandwidth`
   * 1.1.1 panics on such a CHECK (containernetworking/plugins#1221).
   */
  async check(containerId: string): Promise<void> {
    const entry = await this.readCache(containerId);
    if (!entry?.result) throw new NetworkError(NetworkErrorCode.CNI_RESULT_INVALID, `no cached ADD result for ${containerId}`);
    for (const plugin of this.chain(entry)) {
      const declared = Object.keys(plugin.capabilities ?? {}).filter((key) => plugin.capabilities?.[key]);
      if (declared.length > 0 && !declared.some((key) => isGiven(entry.runtimeConfig[key]))) continue;
      await this.exec('CHECK', entry, plugin, entry.result);
    }
  }

  /** Releases what ADD acquired (addresses, links, iptables rules); a no-op if nothing is cached. */
  async del(containerId: string): Promise<void> {
    const entry = await this.readCache(containerId);
    if (!entry) return;
    const failures: unknown[] = [];
    // Every plugin gets its DEL even if one fails: a lease must not stay behind a broken portmap.
    for (const plugin of this.chain(entry).reverse()) {
      await this.exec('DEL', entry, plugin, entry.result).catch((error: unknown) => {
        // A plugin that is not installed cannot have made anything to release.
        if (!(error instanceof NetworkError && error.code === NetworkErrorCode.CNI_PLUGIN_NOT_FOUND)) failures.push(error);
      });
    }
    if (failures.length > 0) throw failures[0];
    await rm(this.cacheFile(containerId), { force: true });
  }

  /** The cached ADD result, if ADD completed. */
  async cachedResult(containerId: string): Promise<CniResult | undefined> {
    return (await this.readCache(containerId))?.result;
  }

  private chain(entry: CacheEntry): CniPluginConf[] {
    const [first, ...rest] = entry.conflist.plugins;
    if (entry.mode === 'full') return [first, ...rest];
    // host-local and friends read only name, cniVersion and ipam from the config they are given.
    if (!first.ipam) throw new NetworkError(NetworkErrorCode.CNI_CONFIG_INVALID, `plugin ${first.type} has no ipam section for ipam-only mode`);
    return [{ ...first, type: first.ipam.type }, ...rest];
  }

  private async exec(command: 'ADD' | 'CHECK' | 'DEL', entry: CacheEntry, plugin: CniPluginConf, prevResult: CniResult | undefined): Promise<CniResult | undefined> {
    const binary = await this.findPlugin(plugin.type);
    const { capabilities, ...conf } = plugin;
    const runtimeConfig = Object.fromEntries(Object.entries(entry.runtimeConfig).filter(([key]) => capabilities?.[key]));
    const stdin = JSON.stringify({
      ...conf,
      cniVersion: entry.conflist.cniVersion,
      name: entry.conflist.name,
      ...(Object.keys(runtimeConfig).length > 0 && { runtimeConfig }),
      ...(prevResult && { prevResult }),
    });
    const env = {
      CNI_COMMAND: command,
      CNI_CONTAINERID: entry.attachment.containerId,
      CNI_NETNS: entry.attachment.netnsPath,
      CNI_IFNAME: entry.attachment.ifname,
      CNI_ARGS: '',
      CNI_PATH: this.opts.pluginDirs.join(':'),
    };
    let stdout: string;
    try {
      ({ stdout } = await this.proc.run(binary, [], { input: stdin, env, timeoutMs: this.opts.pluginTimeoutMs ?? DEFAULT_PLUGIN_TIMEOUT_MS }));
    } catch (cause) {
      const out = cause instanceof RuntimeError && typeof cause.context.stdout === 'string' ? cause.context.stdout : '';
      const parsed = CNI_ERROR.safeParse(safeJson(out));
      const reason = parsed.success ? [parsed.data.msg, parsed.data.details].filter(Boolean).join(': ') : describeError(cause);
      throw new NetworkError(NetworkErrorCode.CNI_PLUGIN_FAILED, `CNI ${command} ${plugin.type} for ${entry.attachment.containerId}: ${reason}`, {
        cause,
        context: { plugin: plugin.type, command, containerId: entry.attachment.containerId },
      });
    }
    if (command !== 'ADD') return undefined;
    const result = cniResultSchema.safeParse(safeJson(stdout));
    if (!result.success) {
      throw new NetworkError(NetworkErrorCode.CNI_RESULT_INVALID, `CNI ADD ${plugin.type} printed no valid result: ${result.error.message}`);
    }
    return result.data;
  }

  private async findPlugin(type: string): Promise<string> {
    for (const dir of this.opts.pluginDirs) {
      const candidate = join(dir, type);
      if (await pathExists(candidate)) return candidate;
    }
    throw new NetworkError(NetworkErrorCode.CNI_PLUGIN_NOT_FOUND, `CNI plugin ${type} not found in ${this.opts.pluginDirs.join(':')}`);
  }

  private cacheFile(containerId: string): string {
    return join(this.opts.cacheDir, `${containerId}.json`);
  }

  private async writeCache(entry: CacheEntry): Promise<void> {
    await mkdirDurable(this.opts.cacheDir, 0o700);
    await writeFileAtomic(this.cacheFile(entry.attachment.containerId), `${JSON.stringify(entry)}\n`);
  }

  private async readCache(containerId: string): Promise<CacheEntry | undefined> {
    let raw: string;
    try {
      raw = await readFile(this.cacheFile(containerId), 'utf8');
    } catch {
      return undefined;
    }
    const parsed = cacheSchema.safeParse(safeJson(raw));
    if (!parsed.success) throw new NetworkError(NetworkErrorCode.CNI_RESULT_INVALID, `CNI cache for ${containerId} is corrupt: ${parsed.error.message}`);
    return parsed.data;
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** A capability argument worth passing: not absent, not an empty list or object. */
function isGiven(value: unknown): boolean {
  if (value === undefined || value === null) return false;
  if (Array.isArray(value)) return value.length > 0;
  if (typeof value === 'object') return Object.keys(value).length > 0;
  return true;
}
