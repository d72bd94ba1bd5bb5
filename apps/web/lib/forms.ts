import type { Quota } from '@moat/sdk';

/** A whole number within limits, or undefined when blank; a problem is pushed onto `errors`. */
export function parseOptionalInt(
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

/** `value` when it is one of `allowed` (a select's options), else undefined. */
export function oneOf<T extends string>(value: string, allowed: readonly T[]): T | undefined {
  return (allowed as readonly string[]).includes(value) ? (value as T) : undefined;
}

const QUOTA_LIMIT = { min: 0, max: 1_000_000 };

/** All three quota fields or none: blank fields leave the control plane's default quota. */
export function parseQuota(fields: Record<keyof Quota, string>): { quota?: Quota; errors: string[] } {
  const errors: string[] = [];
  const maxSandboxes = parseOptionalInt(fields.maxSandboxes, 'Max sandboxes', QUOTA_LIMIT, errors);
  const maxVcpus = parseOptionalInt(fields.maxVcpus, 'Max vCPUs', QUOTA_LIMIT, errors);
  const maxMemoryMiB = parseOptionalInt(fields.maxMemoryMiB, 'Max memory', QUOTA_LIMIT, errors);
  if (errors.length > 0) return { errors };
  const given = [maxSandboxes, maxVcpus, maxMemoryMiB].filter((v) => v !== undefined).length;
  if (given === 0) return { errors };
  if (given < 3 || maxSandboxes === undefined || maxVcpus === undefined || maxMemoryMiB === undefined) {
    return { errors: ['Give all three quota limits, or none for the defaults'] };
  }
  return { quota: { maxSandboxes, maxVcpus, maxMemoryMiB }, errors };
}

const ENV_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;
const LABEL_KEY = /^[A-Za-z0-9][A-Za-z0-9._/-]*$/;

/**
 * Parses `KEY=VALUE` lines; blank lines and `#` comments are skipped, values may hold `=`.
 * `kind` picks the key syntax: environment variable names or labels.
 */
export function parseKeyValueLines(
  text: string,
  what: 'Environment' | 'Labels',
): { values: Record<string, string>; errors: string[] } {
  const keyPattern = what === 'Environment' ? ENV_KEY : LABEL_KEY;
  const values: Record<string, string> = {};
  const errors: string[] = [];
  text.split(/\r?\n/).forEach((line, index) => {
    if (line.trim() === '' || line.trimStart().startsWith('#')) return;
    const eq = line.indexOf('=');
    const key = (eq === -1 ? line : line.slice(0, eq)).trim();
    const where = `${what} line ${index + 1}`;
    if (eq === -1) errors.push(`${where}: expected KEY=VALUE`);
    else if (!keyPattern.test(key)) errors.push(`${where}: "${key}" is not a valid name`);
    else if (key in values) errors.push(`${where}: ${key} is set twice`);
    else values[key] = line.slice(eq + 1);
  });
  return { values, errors };
}

/** `KEY=VALUE` lines for a record, the inverse of parseKeyValueLines. */
export function formatKeyValueLines(values: Record<string, string> | undefined | null): string {
  return Object.entries(values ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join('\n');
}

/**
 * Splits a command line on whitespace, without shell quoting: what is typed is exactly the
 * argv the guest runs, so there is no shell to surprise anyone.
 */
export function splitCommand(commandLine: string): string[] {
  return commandLine.trim().split(/\s+/).filter(Boolean);
}
