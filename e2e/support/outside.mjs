// A piece of "outside world" the e2e tests run themselves: a network namespace joined to the
// host by a veth pair, serving HTTP and DNS. Sandboxes reach it the way they would reach the
// internet (forwarded and masqueraded by the node), so egress tests need no real network: every
// packet stays inside namespaces and links this file creates, and `stop` removes all of it.
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** What the outside namespace serves; fixed, because the e2e stack's MOAT_DNS_SERVERS points at DNS_SERVER. */
export const OUTSIDE = {
  /** The host's end of the veth. */
  hostAddress: '10.251.0.1',
  /** HTTP (`outside-a`) and DNS. */
  server: '10.251.0.2',
  /** HTTP (`outside-b`): a second destination for egress lists. */
  otherServer: '10.251.0.3',
  /** What DNS_NAME resolves to; serves HTTP (`outside-named`). */
  namedServer: '10.251.0.80',
  /** A link-local address served in the namespace, as a cloud metadata service would be. */
  linkLocal: '169.254.77.2',
  dnsName: 'moat-e2e.test',
};

/** MOAT_DNS_SERVERS for the e2e stack: the outside namespace's resolver. */
export const DNS_SERVER = OUTSIDE.server;

/**
 * Creates the namespace, its veth, addresses and routes, and starts its HTTP and DNS servers.
 * Its addresses are fixed, so first it removes what a run killed before its `stop` left behind.
 */
export function startOutside() {
  removeLeftovers();
  const ns = `moatx${process.pid}`;
  const hostLink = `mxh${process.pid}`;
  const nsLink = `mxn${process.pid}`;
  const dir = mkdtempSync(join(tmpdir(), 'moat-outside-'));
  const children = [];
  const ip = (...args) => execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const stop = () => {
    for (const child of children) child.kill('SIGKILL');
    for (const args of [['link', 'del', hostLink], ['netns', 'del', ns]]) {
      try {
        ip(...args);
      } catch {
        // Already gone.
      }
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    ip('netns', 'add', ns);
    ip('link', 'add', hostLink, 'type', 'veth', 'peer', 'name', nsLink, 'netns', ns);
    ip('addr', 'add', `${OUTSIDE.hostAddress}/24`, 'dev', hostLink);
    ip('link', 'set', hostLink, 'up');
    for (const address of [OUTSIDE.server, OUTSIDE.otherServer, OUTSIDE.namedServer]) ip('-n', ns, 'addr', 'add', `${address}/24`, 'dev', nsLink);
    ip('-n', ns, 'addr', 'add', `${OUTSIDE.linkLocal}/24`, 'dev', nsLink);
    ip('-n', ns, 'link', 'set', nsLink, 'up');
    ip('-n', ns, 'link', 'set', 'lo', 'up');
    ip('-n', ns, 'route', 'add', 'default', 'via', OUTSIDE.hostAddress);
    // Without the fence, the node would forward a sandbox's link-local packets here.
    ip('route', 'add', `${OUTSIDE.linkLocal}/32`, 'via', OUTSIDE.server, 'dev', hostLink);
    for (const [address, page] of [
      [OUTSIDE.server, 'outside-a'],
      [OUTSIDE.otherServer, 'outside-b'],
      [OUTSIDE.namedServer, 'outside-named'],
      [OUTSIDE.linkLocal, 'outside-link-local'],
    ]) {
      const www = join(dir, address);
      mkdirSync(www, { recursive: true });
      writeFileSync(join(www, 'index.html'), `${page}\n`);
      children.push(spawn('ip', ['netns', 'exec', ns, 'busybox', 'httpd', '-f', '-p', `${address}:80`, '-h', www], { stdio: 'ignore' }));
    }
    children.push(
      spawn(
        'ip',
        [
          'netns', 'exec', ns, 'dnsmasq', '--keep-in-foreground', '--conf-file=/dev/null', '--no-resolv', '--no-hosts', '--bind-interfaces',
          `--listen-address=${OUTSIDE.server}`, `--address=/${OUTSIDE.dnsName}/${OUTSIDE.namedServer}`, `--pid-file=${join(dir, 'dnsmasq.pid')}`,
        ],
        { stdio: 'ignore' },
      ),
    );
  } catch (error) {
    stop();
    throw error;
  }
  return { stop };
}

/** The namespaces and host links of earlier runs whose process is gone (named by its pid). */
function removeLeftovers() {
  const alive = (pid) => {
    try {
      process.kill(Number(pid), 0);
      return true;
    } catch (error) {
      return error.code === 'EPERM';
    }
  };
  const links = execFileSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' }).matchAll(/^\d+: mxh(\d+)[@:]/gm);
  const namespaces = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }).matchAll(/^moatx(\d+)\b/gm);
  for (const [, pid] of links) if (!alive(pid)) execFileSync('ip', ['link', 'del', `mxh${pid}`], { stdio: 'ignore' });
  for (const [, pid] of namespaces) if (!alive(pid)) execFileSync('ip', ['netns', 'del', `moatx${pid}`], { stdio: 'ignore' });
}
