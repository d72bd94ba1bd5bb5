// Every Moat process, host and guest, runs on Node 24 LTS. Where the machine's Node is older
// (Debian 12 ships 18; many hosts have 20), `npm start` and `npm test` fetch the official Node 24
// build from the npm registry (the `node-linux-<arch>` package that the `node` package installs,
// verified against the registry's integrity hash by `npm pack`) into `.toolchain/`, and run
// everything on it (tools/dev/moat.sh). Plain Node with no dependencies: it runs first, on any Node.
//
// As a command, `node tools/dev/node-runtime.mjs` prints the path of the Node to run Moat on.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';

export const NODE_VERSION = '24.22.3';
const SUPPORTED_MAJOR = 24;

/** Whether this process runs on a Node that Moat supports. */
export function runsSupportedNode() {
  return Number(process.versions.node.split('.')[0]) >= SUPPORTED_MAJOR;
}

/** The path of the Node binary to run Moat on, installed into `<root>/.toolchain/` when needed. */
export function ensureSupportedNode(root, log) {
  if (runsSupportedNode()) return process.execPath;
  const toolchainDir = join(root, '.toolchain');
  const dir = join(toolchainDir, `node-v${NODE_VERSION}-linux-${process.arch}`);
  const execPath = join(dir, 'bin', 'node');
  if (!existsSync(execPath)) {
    log(`this machine has Node ${process.version}; installing Node ${NODE_VERSION} from the npm registry into .toolchain/`);
    install(toolchainDir, dir);
  }
  // A stable name for people who want the same Node in their shell: PATH=$PWD/.toolchain/node/bin:$PATH
  const current = join(toolchainDir, 'node');
  rmSync(current, { force: true });
  symlinkSync(basename(dir), current);
  return execPath;
}

function install(toolchainDir, dir) {
  mkdirSync(toolchainDir, { recursive: true });
  const staging = mkdtempSync(join(toolchainDir, '.download-'));
  try {
    const pkg = `node-linux-${process.arch}@${NODE_VERSION}`;
    run('npm', ['pack', pkg, '--pack-destination', staging, '--silent', '--no-audit', '--no-fund'], staging);
    const tarball = join(staging, `node-linux-${process.arch}-${NODE_VERSION}.tgz`);
    run('tar', ['-xzf', tarball, '-C', staging], staging);
    const version = spawnSync(join(staging, 'package', 'bin', 'node'), ['--version'], { encoding: 'utf8' }).stdout?.trim();
    if (version !== `v${NODE_VERSION}`) throw new Error(`${pkg} does not run here (it says ${JSON.stringify(version)})`);
    rmSync(dir, { recursive: true, force: true });
    renameSync(join(staging, 'package'), dir);
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

function run(cmd, args, cwd) {
  const r = spawnSync(cmd, args, { cwd, stdio: ['ignore', 'ignore', 'inherit'] });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.signal ?? r.status})`);
}

if (process.argv[1] && resolve(process.argv[1]) === import.meta.filename) {
  try {
    console.log(ensureSupportedNode(resolve(import.meta.dirname, '../..'), (msg) => console.error(`[moat] ${msg}`)));
  } catch (err) {
    console.error(`[moat] ${err instanceof Error ? err.message : err}`);
    process.exit(1);
  }
}
