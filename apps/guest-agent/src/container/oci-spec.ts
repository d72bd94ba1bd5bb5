import { isAbsolute, posix } from 'node:path';
import type { Process } from '@moat/proto';
import { AgentError, AgentErrorCode } from '../errors/agent.error';

/** The fields of an OCI runtime spec the agent relies on; everything else is passed to crun untouched. */
export interface OciSpec {
  root: { path: string; readonly?: boolean };
  process: OciProcess;
  mounts?: OciMount[];
  [field: string]: unknown;
}

export interface OciMount {
  destination: string;
  type?: string;
  source?: string;
  options?: string[];
  [field: string]: unknown;
}

export interface OciProcess {
  args: string[];
  env?: string[];
  cwd?: string;
  terminal?: boolean;
  user?: { uid: number; gid: number; [field: string]: unknown };
  [field: string]: unknown;
}

// Ids become directory and file names and crun arguments: no path separators, no leading dash.
const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

export function validateId(kind: 'container' | 'exec', id: string): string {
  if (!ID_PATTERN.test(id)) {
    throw new AgentError(
      AgentErrorCode.INVALID_ARGUMENT,
      `${kind} id "${id}" must be 1-128 characters of [A-Za-z0-9_.-] starting with a letter or digit`,
    );
  }
  return id;
}

/** Parses `oci_spec_json` and checks what crun needs and what this agent supports. */
export function parseOciSpec(json: string): OciSpec {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch (cause) {
    throw invalid(`oci_spec_json is not JSON: ${(cause as Error).message}`, cause);
  }
  if (!isObject(parsed)) throw invalid('oci_spec_json must be a JSON object');

  const root = parsed.root;
  if (!isObject(root) || typeof root.path !== 'string' || root.path === '') {
    throw invalid('OCI spec needs root.path');
  }
  if (!isAbsolute(root.path)) throw invalid(`root.path must be an absolute guest path, got "${root.path}"`);

  const process = parsed.process;
  if (!isObject(process)) throw invalid('OCI spec needs process');
  if (!isStringArray(process.args) || process.args.length === 0) {
    throw invalid('process.args must be a non-empty array of strings');
  }
  if (process.env !== undefined && !isStringArray(process.env)) throw invalid('process.env must be an array of strings');
  if (process.terminal !== undefined && typeof process.terminal !== 'boolean') throw invalid('process.terminal must be a boolean');

  const mounts = parsed.mounts;
  if (mounts !== undefined && !(Array.isArray(mounts) && mounts.every((mount) => isObject(mount) && typeof mount.destination === 'string'))) {
    throw invalid('mounts must be an array of objects with a destination');
  }

  return parsed as OciSpec;
}

/**
 * The spec with `extra` mounts appended (so they go over anything the spec mounts earlier),
 * leaving out those whose destination the spec already mounts itself: CRI, for one, binds its
 * own hostname, hosts and resolv.conf.
 */
export function withMounts(spec: OciSpec, extra: readonly OciMount[]): OciSpec {
  const taken = new Set((spec.mounts ?? []).map((mount) => mountTarget(mount.destination)));
  const added = extra.filter((mount) => !taken.has(mountTarget(mount.destination)));
  if (added.length === 0) return spec;
  return { ...spec, mounts: [...(spec.mounts ?? []), ...added] };
}

/** crun resolves a destination inside the rootfs: "etc/hosts", "/etc//hosts" and "/etc/hosts/" all name /etc/hosts. */
function mountTarget(destination: string): string {
  return posix.join('/', destination).replace(/(.)\/+$/, '$1');
}

/**
 * The spec crun runs the container's init with: a terminal init (`process.terminal`) gets a pty
 * the agent opens, so crun is told none (its own needs a console socket) and passes the pty on.
 */
export function crunSpec(spec: OciSpec): OciSpec {
  return spec.process.terminal === true ? { ...spec, process: { ...spec.process, terminal: false } } : spec;
}

/**
 * The process.json for `crun exec`: what to run comes from the request, while the security
 * settings (capabilities, rlimits, no_new_privileges, LSM labels) come from the container's init
 * process, so an exec never runs with more privilege than the container was given.
 */
export function execProcessSpec(request: Process | undefined, init: OciProcess): OciProcess {
  if (!request || request.args.length === 0) {
    throw new AgentError(AgentErrorCode.INVALID_ARGUMENT, 'process.args must not be empty');
  }
  const cwd = request.cwd || '/';
  if (!isAbsolute(cwd)) throw new AgentError(AgentErrorCode.INVALID_ARGUMENT, `cwd must be absolute, got "${cwd}"`);

  const { args: _args, env: _env, cwd: _cwd, user: _user, terminal: _terminal, ...security } = init;
  return {
    ...security,
    // Even for a terminal process: the agent opens the pty and crun passes its slave on as stdio.
    terminal: false,
    args: request.args,
    env: request.env,
    cwd,
    user: { uid: request.uid, gid: request.gid },
  };
}

function invalid(message: string, cause?: unknown): AgentError {
  return new AgentError(AgentErrorCode.INVALID_SPEC, message, { cause });
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string');
}
