import { MoatError } from '@moat/proto';

/** Why a sandbox's jail or host cgroup could not be set up or torn down. */
export enum JailErrorCode {
  /** Every uid of MOAT_JAIL_ID_RANGE is held by a sandbox on this host. */
  JAIL_IDS_EXHAUSTED = 'JAIL_IDS_EXHAUSTED',
  /** The host has neither a cgroup v2 hierarchy nor v1 hierarchies with the cpu, memory and pids controllers. */
  CGROUPS_UNAVAILABLE = 'CGROUPS_UNAVAILABLE',
  CGROUP_FAILED = 'CGROUP_FAILED',
  /** bubblewrap or setpriv did not start the jailed process. */
  JAIL_START_FAILED = 'JAIL_START_FAILED',
}

export class JailError extends MoatError<JailErrorCode> {}
