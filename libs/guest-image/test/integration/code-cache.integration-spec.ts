import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { eventually } from '@moat/test-support';
import { buildGuestImage, type GuestImage } from '../../src/index';

const REPO_ROOT = resolve(__dirname, '..', '..', '..', '..');
const DATA_DIR = process.env.MOAT_DATA_DIR ?? join(REPO_ROOT, '.moat');
const AGENT_BUNDLE = join(REPO_ROOT, 'apps', 'guest-agent', 'dist', 'guest-agent.js');
/** What /opt/moat holds: the loader, the bundle, its code caches (with V8's JIT and without) and node-pty's addon, which the bundle requires. */
const AGENT_FILES = ['start-agent.js', 'guest-agent.js', 'guest-agent.js.cache', 'guest-agent.js.jitless-cache', 'node_modules/@lydell/node-pty-linux-x64/pty.node'];

/** Copies /opt/moat out of the rootfs image with debugfs (no mount, no privileges). */
function extractAgentFiles(rootfs: string, into: string): void {
  for (const name of AGENT_FILES) {
    mkdirSync(dirname(join(into, name)), { recursive: true });
    const result = spawnSync('debugfs', ['-R', `dump /opt/moat/${name} ${join(into, name)}`, rootfs], { encoding: 'utf8' });
    if (result.status !== 0 || !existsSync(join(into, name))) throw new Error(`debugfs could not dump ${name}: ${result.stderr}`);
  }
}

describe('the guest agent code cache in the rootfs', () => {
  let image: GuestImage;
  let work: string;

  beforeAll(async () => {
    image = await buildGuestImage({ dataDir: DATA_DIR, agentBundle: AGENT_BUNDLE, log: () => undefined });
    work = mkdtempSync(join(tmpdir(), 'moat-code-cache-'));
    extractAgentFiles(image.rootfs, work);
  });

  afterAll(() => rmSync(work, { recursive: true, force: true }));

  // As the guest runs it: with V8's JIT on KVM, `--jitless` under TCG (see AGENT_JITLESS_PARAM).
  it.each([{ how: 'with the JIT', flags: [] }, { how: 'jitless', flags: ['--jitless'] }])(
    'is accepted by the node binary the guest runs (the one that built the image) $how, and the agent starts from it',
    async ({ flags }) => {
      const socket = join(work, `agent${flags.join('')}.sock`);
      const agent = spawn(process.execPath, [...flags, join(work, 'start-agent.js')], {
        env: { ...process.env, MOAT_AGENT_LISTEN: `unix:${socket}`, MOAT_AGENT_RUN_DIR: join(work, `run${flags.join('')}`) },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      agent.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
      agent.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
      try {
        await eventually(() => expect(output).toContain('guest agent serving'), { timeout: 30_000, interval: 100 });
        expect(output).not.toContain('code cache rejected');
      } finally {
        agent.kill('SIGKILL');
      }
    },
    60_000,
  );
});
