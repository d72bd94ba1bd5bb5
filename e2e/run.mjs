// Runs the whole-system tests: starts one real stack (control plane, node agent with real
// VMs, web UI) in a fresh data dir, runs the REST e2e tests and the browser tests against
// it, stops it, and fails if any host object of it is left behind.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { startStack } from '../tools/dev/stack.mjs';
import { startBrowserNetns } from './support/browser-netns.mjs';
import { E2E_BRIDGE_PREFIX, findLeaks } from './support/leaks.mjs';
import { DNS_SERVER } from './support/outside.mjs';
import { freePort, freshDataDir } from './support/own-stack.mjs';

const ROOT = resolve(import.meta.dirname, '..');
const mainDataDir = resolve(ROOT, process.env.MOAT_DATA_DIR ?? '.moat');
if (!existsSync(join(mainDataDir, 'guest-images', 'current.json'))) {
  throw new Error(`no guest image in ${mainDataDir}: run \`npm test\` (or sh tools/dev/moat.sh prepare)`);
}
// A fresh data dir for this run, sharing the already-built guest image.
const dataDir = freshDataDir(mainDataDir, 'e2e-');

const nodeMetricsPort = await freePort();
const apiPort = await freePort();
const webPort = await freePort();
const stack = await startStack({
  dataDir,
  apiPort,
  webPort,
  output: 'file',
  // A bridge prefix and subnet pool of its own: e2e traffic stays off the host's real networks.
  // Sandboxes resolve names through the DNS server the tests run in their own namespace, never the host's.
  env: {
    MOAT_NET_BRIDGE_PREFIX: E2E_BRIDGE_PREFIX,
    MOAT_NET_SUBNET_POOL: '10.250.0.0/16',
    MOAT_DNS_SERVERS: DNS_SERVER,
    MOAT_NODE_METRICS_ADDR: `127.0.0.1:${nodeMetricsPort}`,
  },
  log: (m) => console.log(`[e2e] ${m}`),
});
const env = {
  ...process.env,
  MOAT_E2E_API_URL: stack.apiUrl,
  MOAT_E2E_WEB_URL: stack.webUrl,
  MOAT_E2E_ADMIN_TOKEN: stack.adminToken,
  MOAT_E2E_DATA_DIR: dataDir,
  MOAT_E2E_NODE_METRICS_URL: `http://127.0.0.1:${nodeMetricsPort}/metrics`,
};
const run = (command, args) => spawnSync(command, args, { cwd: join(ROOT, 'e2e'), stdio: 'inherit', env }).status === 0;
// Jest runs the REST specs as native ES modules (see docs/testing.md): they import support/*.mjs.
const jest = createRequire(import.meta.url).resolve('jest/bin/jest');

/** The browser sees the web UI and the API on the same URLs, from a namespace of its own. */
async function runBrowserTests(filters) {
  const browserNetns = await startBrowserNetns([webPort, apiPort]);
  try {
    env.MOAT_E2E_CHROMIUM = browserNetns.executablePath;
    return run('npx', ['playwright', 'test', '-c', 'playwright.config.ts', ...filters]);
  } finally {
    browserNetns.stop();
  }
}

let ok = false;
try {
  // `node e2e/run.mjs <filter…>` runs only the REST spec files matching the filters;
  // `node e2e/run.mjs --browser <filter…>` only the browser spec files matching them.
  const browserOnly = process.argv[2] === '--browser';
  const filters = process.argv.slice(browserOnly ? 3 : 2);
  ok = browserOnly || run(process.execPath, ['--experimental-vm-modules', jest, '--config', 'jest.config.cjs', '--runInBand', ...filters]);
  if (browserOnly || filters.length === 0) ok = (await runBrowserTests(browserOnly ? filters : [])) && ok;
} finally {
  await stack.stop();
}
const leaks = findLeaks(dataDir);
if (leaks.length > 0) {
  console.error(`[e2e] left behind after the stack stopped:\n  ${leaks.join('\n  ')}`);
  ok = false;
}
if (!ok) console.error(`[e2e] failed; process logs are in ${dataDir}/*.log`);
process.exit(ok ? 0 : 1);
