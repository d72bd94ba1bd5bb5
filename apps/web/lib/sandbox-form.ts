import type { CreateSandboxRequest, ExecRequest } from './types';

// The control plane's limits (libs/proto desiredSandboxSchema), checked here too so a typo
// is reported next to its field instead of as a round trip.
export const VCPU_LIMITS = { min: 1, max: 64 } as const;
export const MEMORY_LIMITS_MIB = { min: 64, max: 262_144 } as const;

const ENV_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Parses `KEY=VALUE` lines; blank lines and `#` comments are skipped, values may hold `=`. */
export function parseEnvLines(text: string): { env: Record<string, string>; errors: string[] } {
  const env: Record<string, string> = {};
  const errors: string[] = [];
  text.split(/\r?\n/).forEach((line, index) => {
    if (line.trim() === '' || line.trimStart().startsWith('#')) return;
    const eq = line.indexOf('=');
    const key = (eq === -1 ? line : line.slice(0, eq)).trim();
    const where = `Environment line ${index + 1}`;
    if (eq === -1) errors.push(`${where}: expected KEY=VALUE`);
    else if (!ENV_KEY.test(key)) errors.push(`${where}: "${key}" is not a valid variable name`);
    else if (key in env) errors.push(`${where}: ${key} is set twice`);
    else env[key] = line.slice(eq + 1);
  });
  return { env, errors };
}

export interface NewSandboxFields {
  vcpus: string;
  memoryMiB: string;
  env: string;
}

/** Blank numbers are left out so the control plane applies its defaults. */
export function buildCreateRequest(fields: NewSandboxFields): { request: CreateSandboxRequest; errors: string[] } {
  const errors: string[] = [];
  const request: CreateSandboxRequest = {};

  const vcpus = parseOptionalInt(fields.vcpus, 'vCPUs', VCPU_LIMITS, errors);
  if (vcpus !== undefined) request.vcpus = vcpus;
  const memoryMiB = parseOptionalInt(fields.memoryMiB, 'Memory', MEMORY_LIMITS_MIB, errors);
  if (memoryMiB !== undefined) request.memoryMiB = memoryMiB;

  const parsedEnv = parseEnvLines(fields.env);
  errors.push(...parsedEnv.errors);
  if (Object.keys(parsedEnv.env).length > 0) request.env = parsedEnv.env;

  return { request, errors };
}

function parseOptionalInt(
  raw: string,
  label: string,
  limits: { min: number; max: number },
  errors: string[],
): number | undefined {
  const text = raw.trim();
  if (text === '') return undefined;
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < limits.min || value > limits.max) {
    errors.push(`${label} must be a whole number from ${limits.min} to ${limits.max}`);
    return undefined;
  }
  return value;
}

/**
 * Splits a command line on whitespace, without shell quoting: what is typed is exactly the
 * argv the guest runs, so there is no shell to surprise anyone.
 */
export function buildExecRequest(commandLine: string, stdin: string): ExecRequest | null {
  const command = commandLine.trim().split(/\s+/).filter(Boolean);
  if (command.length === 0) return null;
  return stdin === '' ? { command } : { command, stdin };
}
