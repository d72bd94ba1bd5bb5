// A network namespace of its own for the browser the e2e tests drive.
//
// Chromium watches the host's addresses over netlink and fails every request in flight with
// ERR_NETWORK_CHANGED when one appears or goes, and the node agent under test adds and removes
// addresses (tenant bridges, the tests' outside namespace) whenever sandboxes come and go. So the
// browser runs where nothing changes: a namespace with only a loopback. The stack's ports reach
// it over unix sockets, which belong to no network namespace, relayed by socat on both sides.
// Nothing leaves the machine: the namespace has no link to anywhere else.
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const CHROMIUM = '/usr/bin/chromium';

/**
 * Creates the namespace and relays `ports` of the host's 127.0.0.1 to the same ports of its
 * 127.0.0.1. `executablePath` starts Chromium inside it; `stop` removes all of it.
 * @param {number[]} ports
 * @returns {Promise<{ executablePath: string, stop: () => void }>}
 */
export async function startBrowserNetns(ports) {
  const ns = `moatb${process.pid % 100000}`;
  const dir = mkdtempSync(join(tmpdir(), 'moat-browser-'));
  const relays = [];
  const stop = () => {
    for (const relay of relays) relay.kill('SIGKILL');
    try {
      execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
    } catch {
      // Never made, or already gone.
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const ip = (...args) => execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    ip('netns', 'add', ns);
    ip('-n', ns, 'link', 'set', 'lo', 'up');
    // A link that is up, so the page's navigator.onLine is true as on any desktop: a veth pair
    // with both ends inside, no address, so nothing goes anywhere through it.
    ip('-n', ns, 'link', 'add', 'online0', 'type', 'veth', 'peer', 'name', 'online1');
    for (const link of ['online0', 'online1']) ip('-n', ns, 'link', 'set', link, 'up');
    for (const port of ports) {
      const socket = join(dir, `${port}.sock`);
      relays.push(spawn('socat', [`UNIX-LISTEN:${socket},fork`, `TCP:127.0.0.1:${port}`], { stdio: 'ignore' }));
      await waitFor(() => existsSync(socket), `the relay socket for port ${port}`);
      relays.push(
        spawn('ip', ['netns', 'exec', ns, 'socat', `TCP-LISTEN:${port},bind=127.0.0.1,fork,reuseaddr`, `UNIX-CONNECT:${socket}`], { stdio: 'ignore' }),
      );
      await waitFor(() => listensIn(ns, port), `the relay on port ${port} in ${ns}`);
    }
    const executablePath = join(dir, 'chromium');
    // `ip netns exec` execs in place: Playwright's pipe to the browser (fds 3 and 4) goes through.
    writeFileSync(executablePath, `#!/bin/sh\nexec ip netns exec ${ns} ${CHROMIUM} "$@"\n`);
    chmodSync(executablePath, 0o755);
    return { executablePath, stop };
  } catch (err) {
    stop();
    throw err;
  }
}

function listensIn(ns, port) {
  const out = execFileSync('ip', ['netns', 'exec', ns, 'ss', '-Hltn', `sport = :${port}`], { encoding: 'utf8' });
  return out.trim().length > 0;
}

async function waitFor(check, what) {
  for (let i = 0; i < 100; i++) {
    if (check()) return;
    await new Promise((res) => setTimeout(res, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}
