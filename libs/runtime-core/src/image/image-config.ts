import { readFile, realpath } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { RuntimeError, RuntimeErrorCode } from '../errors';
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
  const env: Record<string, string> = {};
  for (const entry of c.Env ?? []) {
    const eq = entry.indexOf('=');
    if (eq > 0) env[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  const cwd = c.WorkingDir && c.WorkingDir.startsWith('/') ? c.WorkingDir : '/';
  return { args, env, cwd, user: await resolveUser(c.User ?? '', rootfsDir) };
}

async function resolveUser(spec: string, rootfsDir: string): Promise<{ uid: number; gid: number }> {
  if (spec === '') return { uid: 0, gid: 0 };
  const [userPart, groupPart] = spec.split(':', 2);
  let uid: number;
  let gid: number | undefined;
  if (NUMERIC.test(userPart)) {
    uid = Number(userPart);
    gid = (await lookup(rootfsDir, 'etc/passwd', (fields) => fields[2] === userPart))?.[3] as number | undefined;
  } else {
    const entry = await lookup(rootfsDir, 'etc/passwd', (fields) => fields[0] === userPart);
    if (!entry) throw userError(spec, `no user ${userPart} in the image's /etc/passwd`);
    uid = entry[2] as number;
    gid = entry[3] as number;
  }
  if (groupPart !== undefined) {
    if (NUMERIC.test(groupPart)) {
      gid = Number(groupPart);
    } else {
      const group = await lookup(rootfsDir, 'etc/group', (fields) => fields[0] === groupPart);
      if (!group) throw userError(spec, `no group ${groupPart} in the image's /etc/group`);
      gid = group[2] as number;
    }
  }
  return { uid, gid: gid ?? 0 };
}

/** Finds a line of a colon-separated file in the image; ids are returned as numbers. */
async function lookup(rootfsDir: string, file: string, match: (fields: string[]) => boolean): Promise<(string | number)[] | undefined> {
  const text = await readInside(rootfsDir, file);
  for (const line of text.split('\n')) {
    const fields = line.split(':');
    if (fields.length >= 3 && match(fields)) {
      return fields.map((field, i) => ((i === 2 || i === 3) && NUMERIC.test(field) ? Number(field) : field));
    }
  }
  return undefined;
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
