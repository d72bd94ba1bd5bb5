import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ProcessRunner } from '../host/process.adapter';
import { GUEST_AGENT_CODE_CACHES, GUEST_AGENT_LOADER_PATH } from './rootfs-templates';

/**
 * Starts the staged guest agent on the host, with the node binary the guest runs, listening
 * on a throw-away unix socket, once with V8's JIT and once `--jitless`, and stores V8's code
 * cache of each in the stage (the loader template explains why; V8 takes a cache only from a
 * node run the same way). The agent binds nothing but that socket.
 */
export async function produceAgentCodeCache(processes: ProcessRunner, nodeBinary: string, stageDir: string): Promise<void> {
  const scratch = await mkdtemp(join(tmpdir(), 'moat-agent-cache-'));
  try {
    for (const [flags, cache] of [[[], GUEST_AGENT_CODE_CACHES.jit], [['--jitless'], GUEST_AGENT_CODE_CACHES.jitless]] as const) {
      await processes.run(nodeBinary, [...flags, join(stageDir, GUEST_AGENT_LOADER_PATH)], {
        env: {
          MOAT_CODE_CACHE_OUT: join(stageDir, cache),
          MOAT_AGENT_LISTEN: `unix:${join(scratch, 'agent.sock')}`,
          MOAT_AGENT_RUN_DIR: join(scratch, 'run'),
        },
      });
      await rm(join(scratch, 'agent.sock'), { force: true });
    }
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
