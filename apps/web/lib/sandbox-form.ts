import { oneOf, parseKeyValueLines, parseOptionalInt, splitCommand } from './forms';
import type { CreateSandboxRequest, ExecRequest, NetworkModel, RootfsMode } from '@moat/sdk';

// The control plane's limits (libs/proto desiredSandboxSchema), checked here too so a typo
// is reported next to its field instead of as a round trip.
export const VCPU_LIMITS = { min: 1, max: 64 } as const;
export const MEMORY_LIMITS_MIB = { min: 64, max: 262_144 } as const;

export const NETWORK_MODELS: readonly NetworkModel[] = ['tcfilter', 'macvtap', 'bridge'];
export const ROOTFS_MODES: readonly RootfsMode[] = ['virtiofs', '9p', 'block'];

export interface NewSandboxFields {
  image: string;
  vcpus: string;
  memoryMiB: string;
  networkModel: string;
  rootfs: string;
  env: string;
}

/** Blank fields are left out so the control plane applies its defaults. */
export function buildCreateRequest(fields: NewSandboxFields): { request: CreateSandboxRequest; errors: string[] } {
  const errors: string[] = [];
  const request: CreateSandboxRequest = {};

  const image = fields.image.trim();
  if (image) request.image = image;
  const vcpus = parseOptionalInt(fields.vcpus, 'vCPUs', VCPU_LIMITS, errors);
  if (vcpus !== undefined) request.vcpus = vcpus;
  const memoryMiB = parseOptionalInt(fields.memoryMiB, 'Memory', MEMORY_LIMITS_MIB, errors);
  if (memoryMiB !== undefined) request.memoryMiB = memoryMiB;
  const networkModel = oneOf(fields.networkModel, NETWORK_MODELS);
  if (networkModel) request.networkModel = networkModel;
  const rootfs = oneOf(fields.rootfs, ROOTFS_MODES);
  if (rootfs) request.rootfs = rootfs;

  const parsedEnv = parseKeyValueLines(fields.env, 'Environment');
  errors.push(...parsedEnv.errors);
  if (Object.keys(parsedEnv.values).length > 0) request.env = parsedEnv.values;

  return { request, errors };
}

export function buildExecRequest(commandLine: string, stdin: string): ExecRequest | null {
  const command = splitCommand(commandLine);
  if (command.length === 0) return null;
  return stdin === '' ? { command } : { command, stdin };
}
