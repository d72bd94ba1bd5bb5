import { formatKeyValueLines, oneOf, parseKeyValueLines, parseOptionalInt, splitCommand } from './forms';
import { MEMORY_LIMITS_MIB, NETWORK_MODELS, ROOTFS_MODES, VCPU_LIMITS } from './sandbox-form';
import type { TemplateSpec } from '@moat/sdk';

/** One field of two template versions, side by side. */
export interface DiffRow {
  field: string;
  left: string;
  right: string;
  changed: boolean;
}

/** A spec as displayable fields, one line per field; absent ones read as "—". */
function flatten(spec: TemplateSpec): Record<string, string> {
  return {
    image: spec.image ?? '—',
    command: spec.command?.join(' ') ?? '—',
    vCPUs: String(spec.vcpus),
    'memory (MiB)': String(spec.memoryMiB),
    'network model': spec.networkModel ?? '—',
    rootfs: spec.rootfs ?? '—',
    env: formatKeyValueLines(spec.env) || '—',
    labels: formatKeyValueLines(spec.labels) || '—',
    'health check': spec.healthCheck
      ? `${spec.healthCheck.command.join(' ')}${spec.healthCheck.intervalMs ? ` every ${spec.healthCheck.intervalMs} ms` : ''}`
      : '—',
  };
}

/** Every field of two versions, marking those that differ. */
export function diffSpecs(left: TemplateSpec, right: TemplateSpec): DiffRow[] {
  const a = flatten(left);
  const b = flatten(right);
  return Object.keys(a).map((field) => ({
    field,
    left: a[field] ?? '—',
    right: b[field] ?? '—',
    changed: a[field] !== b[field],
  }));
}

export interface TemplateFields {
  image: string;
  command: string;
  vcpus: string;
  memoryMiB: string;
  networkModel: string;
  rootfs: string;
  env: string;
  healthCheck: string;
}

/** The form fields of a template version, to start the next version from. */
export function specToFields(spec: TemplateSpec): TemplateFields {
  return {
    image: spec.image ?? '',
    command: spec.command?.join(' ') ?? '',
    vcpus: String(spec.vcpus),
    memoryMiB: String(spec.memoryMiB),
    networkModel: spec.networkModel ?? '',
    rootfs: spec.rootfs ?? '',
    env: formatKeyValueLines(spec.env),
    healthCheck: spec.healthCheck?.command.join(' ') ?? '',
  };
}

/** A template spec from form fields; vCPUs and memory are required. */
export function fieldsToSpec(fields: TemplateFields): { spec?: TemplateSpec; errors: string[] } {
  const errors: string[] = [];
  const vcpus = parseOptionalInt(fields.vcpus, 'vCPUs', VCPU_LIMITS, errors);
  const memoryMiB = parseOptionalInt(fields.memoryMiB, 'Memory', MEMORY_LIMITS_MIB, errors);
  if (fields.vcpus.trim() === '') errors.push('vCPUs is required');
  if (fields.memoryMiB.trim() === '') errors.push('Memory is required');
  const env = parseKeyValueLines(fields.env, 'Environment');
  errors.push(...env.errors);
  if (errors.length > 0 || vcpus === undefined || memoryMiB === undefined) return { errors };
  const spec: TemplateSpec = { vcpus, memoryMiB };
  if (fields.image.trim()) spec.image = fields.image.trim();
  const command = splitCommand(fields.command);
  if (command.length > 0) spec.command = command;
  const networkModel = oneOf(fields.networkModel, NETWORK_MODELS);
  if (networkModel) spec.networkModel = networkModel;
  const rootfs = oneOf(fields.rootfs, ROOTFS_MODES);
  if (rootfs) spec.rootfs = rootfs;
  if (Object.keys(env.values).length > 0) spec.env = env.values;
  const health = splitCommand(fields.healthCheck);
  if (health.length > 0) spec.healthCheck = { command: health };
  return { spec, errors };
}
