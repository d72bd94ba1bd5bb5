import { isAbsolute, join, resolve } from 'node:path';
import { ShimError, ShimErrorCode } from '../errors/shim.error';
import { parseShimFlags, type ShimFlags } from './shim-flags';

/** The node agent's run dir when MOAT_RUN_DIR is not set (as in the node agent's own config). */
export const DEFAULT_RUN_DIR = '/run/moat';

/** Everything the shim reads from its command line and environment, read once at start. */
export interface ShimConfig {
  readonly flags: ShimFlags;
  /** The task's bundle: `-bundle`, else the working directory containerd started us in. */
  readonly bundle: string;
  /**
   * `MOAT_RUN_DIR`: where the node agent serves its task API (`nodeTasksSocket(runDir)` from
   * `@moat/proto/node-tasks`, resolved by the commands that call it: that entry loads gRPC, which
   * `start` does without) and where the shims keep their sockets.
   */
  readonly runDir: string;
  /** Where shim sockets go (`<run dir>/s`, like containerd's `/run/containerd/s`). */
  readonly socketDir: string;
  /**
   * containerd's ttrpc socket for publishing events: `TTRPC_ADDRESS`, which containerd sets for
   * its shims, else `<-address>.ttrpc` (where containerd 1.6 always puts it).
   */
  readonly ttrpcAddress: string;
}

/** The variables the shim reads; containerd passes its own environment on, TTRPC_ADDRESS added. */
export interface ShimEnv {
  readonly MOAT_RUN_DIR?: string;
  readonly TTRPC_ADDRESS?: string;
}

/** Reads the config, failing with every problem listed (INVALID_CONFIG). `-v` needs nothing else. */
export function loadShimConfig(argv: readonly string[], env: ShimEnv, cwd: string): ShimConfig {
  const flags = parseShimFlags(argv);
  const runDir = env.MOAT_RUN_DIR || DEFAULT_RUN_DIR;
  const problems: string[] = [];
  if (!flags.version) {
    if (flags.namespace === '') problems.push('shim namespace cannot be empty (-namespace)');
    if (flags.id === '') problems.push('shim id cannot be empty (-id)');
    if (flags.action === 'serve' && flags.socket === '') problems.push('serving needs -socket (containerd runs `start`, which passes it)');
    if (!isAbsolute(runDir)) problems.push(`MOAT_RUN_DIR must be an absolute path, not ${JSON.stringify(runDir)}`);
    if (!env.TTRPC_ADDRESS && flags.address === '' && flags.action === 'serve') problems.push('no TTRPC_ADDRESS and no -address to derive it from');
  }
  if (problems.length > 0) throw new ShimError(ShimErrorCode.INVALID_CONFIG, problems.join('; '), { context: { problems } });
  return {
    flags,
    bundle: resolve(cwd, flags.bundle),
    runDir,
    socketDir: join(runDir, 's'),
    ttrpcAddress: env.TTRPC_ADDRESS || `${flags.address}.ttrpc`,
  };
}
