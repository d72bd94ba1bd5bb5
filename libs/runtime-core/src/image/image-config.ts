import { readFile, realpath } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { RuntimeError, RuntimeErrorCode } from '../errors/runtime.errors';
import type { ImageConfigFile } from './registry.client';

/** What the container's init runs as, from the image config and the sandbox's overrides. */
export interface ImageProcess {
  args: string[];
  /** The image's Env, as a map. */
  env: Record<string, string>;
  cwd: string;
  user: { uid: number; gid: number };
}

const NUMERIC = /^\d+$/;

/**
 * Applies Docker's rules: `command` (when given) replaces Entrypoint and Cmd together, like a
 * Kubernetes `command`; otherwise Entrypoint + Cmd. User names are looked up in the image's
 * own /etc/passwd and /etc/group under `rootfsDir`.
 */
export async function imageProcess(config: ImageConfigFile, rootfsDir: string, command?: string[]): Promise<ImageProcess> {
  const c = config.config ?? {};
  const args = command ?? [...(c.Entrypoint ?? []), ...(c.Cmd ?? [])];
  if (args.length === 0) {
    throw new RuntimeError(RuntimeErrorCode.INVALID_SPEC, 'the image has no Entrypoint or Cmd; give the sandbox a command');
  }
  const env = envMap(c.Env ?? []);
  const cwd = c.WorkingDir && c.WorkingDir.startsWith('/') ? c.WorkingDir : '/';
  return { args, env, cwd, user: await resolveUser(c.User ?? '', rootfsDir) };
}

/** `KEY=value` entries (an image's Env, an OCI process's env) as a map; entries without a key are dropped. */
export function envMap(entries: readonly string[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const entry of entries) {
    const eq = entry.indexOf('=');
    if (eq > 0) env[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  return env;
}

async function resolveUser(spec: string, rootfsDir: string): Promise<{ uid: number; gid: number }> {
  if (spec === '') return { uid: 0, gid: 0 };
  const [userPart, groupPart] = spec.split(':', 2);
  const passwd = parseIdFile(await readInside(rootfsDir, 'etc/passwd'));
  const user = passwd.find((entry) => (NUMERIC.test(userPart) ? entry.id === Number(userPart) : entry.name === userPart));
  if (!NUMERIC.test(userPart) && !user) throw userError(spec, `no user ${userPart} in the image's /etc/passwd`);
  const uid = NUMERIC.test(userPart) ? Number(userPart) : (user?.id ?? 0);
  if (groupPart === undefined) return { uid, gid: user?.gid ?? 0 };
  if (NUMERIC.test(groupPart)) return { uid, gid: Number(groupPart) };
  const group = parseIdFile(await readInside(rootfsDir, 'etc/group')).find((entry) => entry.name === groupPart);
  if (!group) throw userError(spec, `no group ${groupPart} in the image's /etc/group`);
  return { uid, gid: group.id };
}

interface IdEntry {
  name: string;
  id: number;
  /** The primary group (passwd only). */
  gid?: number;
}

/** Entries of an /etc/passwd or /etc/group: name, numeric id (3rd field) and, for passwd, gid (4th). */
function parseIdFile(text: string): IdEntry[] {
  const entries: IdEntry[] = [];
  for (const line of text.split('\n')) {
    const [name, , id, gid] = line.split(':');
    if (!name || id === undefined || !NUMERIC.test(id)) continue;
    entries.push({ name, id: Number(id), ...(gid !== undefined && NUMERIC.test(gid) ? { gid: Number(gid) } : {}) });
  }
  return entries;
}

/** Reads a file of the image, refusing one that resolves (through symlinks) outside it. */
async function readInside(rootfsDir: string, file: string): Promise<string> {
  let real: string;
  try {
    real = await realpath(join(rootfsDir, file));
  } catch {
    return '';
  }
  const root = await realpath(rootfsDir);
  if (!real.startsWith(root + sep)) return '';
  return readFile(real, 'utf8');
}

function userError(spec: string, why: string): RuntimeError {
  return new RuntimeError(RuntimeErrorCode.INVALID_SPEC, `image User ${JSON.stringify(spec)}: ${why}`);
}
