import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ProcessRunner } from '../host/process.adapter';
import { GUEST_AGENT_CODE_CACHE_PATH, GUEST_AGENT_LOADER_PATH } from './rootfs-templates';

/**
 * Starts the staged guest agent once on the host, with the node binary the guest runs,
 * listening on a throw-away unix socket, and stores V8's code cache for it in the stage
 * (the loader template explains why). The agent binds nothing but that socket.
 */
export async function produceAgentCodeCache(processes: ProcessRunner, nodeBinary: string, stageDir: string): Promise<void> {
  const scratch = await mkdtemp(join(tmpdir(), 'moat-agent-cache-'));
  try {
    await processes.run(nodeBinary, [join(stageDir, GUEST_AGENT_LOADER_PATH)], {
      env: {
        MOAT_CODE_CACHE_OUT: join(stageDir, GUEST_AGENT_CODE_CACHE_PATH),
        MOAT_AGENT_LISTEN: `unix:${join(scratch, 'agent.sock')}`,
        MOAT_AGENT_RUN_DIR: join(scratch, 'run'),
      },
    });
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
