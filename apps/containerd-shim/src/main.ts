/**
 * containerd-shim-moat-v2: containerd 1.6's runtime v2 shim for Moat (runtime type
 * `io.containerd.moat.v2`). Each action loads only what it needs: `start` runs on every task
 * start, before containerd can talk to the task.
 */
import { loadShimConfig, type ShimConfig } from './config/shim.config';
import { createLogger, type Logger } from './log/logger';

const NAME = 'containerd-shim-moat-v2';
const VERSION = '0.1.0';

async function run(config: ShimConfig): Promise<Uint8Array | string | undefined> {
  const { flags } = config;
  if (flags.version) return `${NAME}:\n  Version:  ${VERSION}\n  Node:     ${process.version}\n`;
  switch (flags.action) {
    case 'start': {
      const { runStart } = await import('./start/start.command');
      const { NodeDaemonLauncher } = await import('./start/daemon.launcher');
      await discardStdin();
      return runStart(config, { launcher: new NodeDaemonLauncher(__filename, NAME) });
    }
    case 'delete': {
      const { deleteCommand } = await import('./delete/delete.command');
      // containerd reads stderr as warnings: only those (and debug lines with -debug) go there.
      return deleteCommand(config, stderrLogger(config));
    }
    case 'serve': {
      const { serve } = await import('./serve/serve.command');
      const log = stderrLogger(config).with({ runtime: 'io.containerd.moat.v2', namespace: flags.namespace, id: flags.id, pid: process.pid });
      // stderr is containerd's log FIFO: when containerd goes away, losing the log must not end the shim.
      process.stderr.on('error', () => undefined);
      process.on('unhandledRejection', (error) => log.error('unhandled rejection', { error }));
      await serve(config, log);
      return undefined;
    }
  }
}

/**
 * containerd writes the runtime's options (an Any; runc's `Options` for runc) to `start`'s stdin
 * when its config sets them. Create receives them again, so `start` reads them only to leave
 * nothing unread in the pipe.
 */
async function discardStdin(): Promise<void> {
  if (process.stdin.isTTY) return;
  for await (const _chunk of process.stdin) {
    // discarded
  }
}

function stderrLogger(config: ShimConfig): Logger {
  return createLogger({ write: (line) => process.stderr.write(line), debug: config.flags.debug });
}

function exit(code: number, output?: Uint8Array | string): void {
  if (output === undefined) process.exit(code);
  // Flushed before exiting: `start`'s address and `delete`'s DeleteResponse are what containerd reads.
  process.stdout.write(output, () => process.exit(code));
}

void (async () => {
  try {
    const config = loadShimConfig(process.argv.slice(2), process.env, process.cwd());
    exit(0, await run(config));
  } catch (error) {
    process.stderr.write(`${NAME}: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  }
})();
