import { AGENT_PORT_NAME } from '@moat/proto';
import { isAbsolute, join } from 'node:path';
import { AgentError, AgentErrorCode } from '../errors/agent.error';

/** Where the agent accepts host connections. */
export type ListenAddress =
  | { kind: 'virtio-serial'; portName: string }
  | { kind: 'unix'; path: string };

export type CgroupManager = 'cgroupfs' | 'systemd' | 'disabled';

export interface CrunConfig {
  binary: string;
  /** crun's state directory (`crun --root`). */
  root: string;
  /** pivot_root fails on an initramfs root; it works once the guest has switch_root'ed. */
  noPivot: boolean;
  /** Unset: crun's default. */
  cgroupManager?: CgroupManager;
}

export interface AgentConfig {
  listen: ListenAddress;
  /** The agent's own state: bundles, the internal gRPC socket, sandbox files. A tmpfs in the guest. */
  runDir: string;
  crun: CrunConfig;
  /**
   * moat-spawner, which starts execs inside a container without a `crun exec` each; unset
   * (`MOAT_SPAWNER_PATH=`) sends every exec through crun.
   */
  spawnerPath?: string;
}

const DEFAULT_LISTEN = `virtio-serial:${AGENT_PORT_NAME}`;
const CGROUP_MANAGERS: readonly CgroupManager[] = ['cgroupfs', 'systemd', 'disabled'];

/** The spawner's file name beside the agent's bundle (the guest image puts both in /opt/moat). */
export const SPAWNER_FILE_NAME = 'moat-spawner';

/** Reads the agent's configuration once at start, listing every problem at once; `agentDir` holds the agent's bundle. */
export function loadAgentConfig(env: NodeJS.ProcessEnv, agentDir: string): AgentConfig {
  const problems: string[] = [];

  const listen = parseListenAddress(env.MOAT_AGENT_LISTEN ?? DEFAULT_LISTEN, problems);
  const runDir = absolutePath('MOAT_AGENT_RUN_DIR', env.MOAT_AGENT_RUN_DIR ?? '/run/moat', problems);
  const crunRoot = absolutePath('MOAT_CRUN_ROOT', env.MOAT_CRUN_ROOT ?? '/run/crun', problems);
  const spawnerPath = env.MOAT_SPAWNER_PATH ?? join(agentDir, SPAWNER_FILE_NAME);
  if (spawnerPath !== '') absolutePath('MOAT_SPAWNER_PATH', spawnerPath, problems);
  const noPivot = parseBoolean('MOAT_CRUN_NO_PIVOT', env.MOAT_CRUN_NO_PIVOT ?? 'true', problems);

  let cgroupManager: CgroupManager | undefined;
  const rawManager = env.MOAT_CRUN_CGROUP_MANAGER;
  if (rawManager !== undefined && rawManager !== '') {
    const found = CGROUP_MANAGERS.find((manager) => manager === rawManager);
    if (found) cgroupManager = found;
    else problems.push(`MOAT_CRUN_CGROUP_MANAGER must be one of ${CGROUP_MANAGERS.join(', ')}, got "${rawManager}"`);
  }

  if (problems.length > 0 || !listen) {
    throw new AgentError(AgentErrorCode.CONFIG_INVALID, `invalid configuration: ${problems.join('; ')}`);
  }
  return {
    listen,
    runDir,
    crun: { binary: env.MOAT_CRUN_PATH || 'crun', root: crunRoot, noPivot, cgroupManager },
    ...(spawnerPath !== '' && { spawnerPath }),
  };
}

function parseListenAddress(raw: string, problems: string[]): ListenAddress | undefined {
  const separator = raw.indexOf(':');
  const scheme = separator < 0 ? raw : raw.slice(0, separator);
  const rest = separator < 0 ? '' : raw.slice(separator + 1);
  switch (scheme) {
    case 'virtio-serial':
      if (rest) return { kind: 'virtio-serial', portName: rest };
      break;
    case 'unix':
      if (isAbsolute(rest)) return { kind: 'unix', path: rest };
      break;
  }
  problems.push(`MOAT_AGENT_LISTEN must be "virtio-serial:<port name>" or "unix:<absolute path>", got "${raw}"`);
  return undefined;
}

function absolutePath(name: string, value: string, problems: string[]): string {
  if (!isAbsolute(value)) problems.push(`${name} must be an absolute path, got "${value}"`);
  return value;
}

function parseBoolean(name: string, value: string, problems: string[]): boolean {
  if (value === 'true' || value === '1') return true;
  if (value === 'false' || value === '0') return false;
  problems.push(`${name} must be true or false, got "${value}"`);
  return false;
}
