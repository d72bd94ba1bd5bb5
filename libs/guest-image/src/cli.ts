import { stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { buildGuestImage, GuestImageError } from './index';

// dist/cli.js (or src/cli.ts) sits three levels below the repository root.
const REPO_ROOT = resolve(__dirname, '..', '..', '..');

const USAGE = `usage: node libs/guest-image/dist/cli.js [--data-dir DIR] [--agent-bundle FILE]
  --data-dir      where images go (default: $MOAT_DATA_DIR, else ./.moat)
  --agent-bundle  the bundled guest agent (default: apps/guest-agent/dist/guest-agent.js)`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      'data-dir': { type: 'string' },
      'agent-bundle': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const image = await buildGuestImage({
    dataDir: values['data-dir'] ?? process.env.MOAT_DATA_DIR ?? '.moat',
    agentBundle: values['agent-bundle'] ?? join(REPO_ROOT, 'apps', 'guest-agent', 'dist', 'guest-agent.js'),
    log: (msg) => console.log(msg),
  });
  console.log(`guest image ${image.id} (kernel ${image.kernelRelease})`);
  for (const [name, path] of [['kernel', image.kernel], ['initrd', image.initrd], ['rootfs', image.rootfs]] as const) {
    console.log(`  ${name.padEnd(6)} ${path}  ${((await stat(path)).size / 2 ** 20).toFixed(1)} MiB`);
  }
}

main().catch((error: unknown) => {
  if (error instanceof GuestImageError) {
    const cause = error.cause instanceof Error ? `\n  caused by: ${error.cause.message}` : '';
    console.error(`guest-image: ${error.code}: ${error.message}${cause}`);
  } else {
    console.error(error);
  }
  process.exitCode = 1;
});
