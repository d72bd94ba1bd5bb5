import { basename } from 'node:path/posix';
import { AGENT_JITLESS_PARAM } from '@moat/proto';

/** Where the guest agent bundle lives in the rootfs. */
export const GUEST_AGENT_PATH = '/opt/moat/guest-agent.js';

/** Starts the agent bundle with V8's code cache, which the image build produced (see code-cache.ts). */
export const GUEST_AGENT_LOADER_PATH = '/opt/moat/start-agent.js';
/** V8's code cache for the agent, one per way V8 runs it: it rejects a cache made with JIT under `--jitless` and the other way round. */
export const GUEST_AGENT_CODE_CACHES = { jit: '/opt/moat/guest-agent.js.cache', jitless: '/opt/moat/guest-agent.js.jitless-cache' } as const;
/** What busybox init runs (and runs again should it exit): node on the loader, with the flags the kernel command line asks for. */
const GUEST_AGENT_RUN_PATH = '/opt/moat/run-agent';

/**
 * Under TCG, compiling the agent bundle costs a large part of every boot. The image
 * build runs this loader once with the same node binary (MOAT_CODE_CACHE_OUT set), lets the
 * agent start, and saves V8's code cache for everything it compiled; each boot then
 * deserializes instead of compiling. V8 rejects a cache made by another node build or for
 * other source, and the loader then simply compiles, so a stale cache only costs time.
 */
const AGENT_LOADER = `'use strict';
const Module = require('node:module');
const { readFileSync, writeFileSync, existsSync } = require('node:fs');
const { join } = require('node:path');
const { Script } = require('node:vm');

// Beside this loader: /opt/moat in the guest, the stage dir while the image is built.
const bundle = join(__dirname, '${basename(GUEST_AGENT_PATH)}');
const jitless = process.execArgv.includes('--jitless');
const cacheFile = join(__dirname, jitless ? '${basename(GUEST_AGENT_CODE_CACHES.jitless)}' : '${basename(GUEST_AGENT_CODE_CACHES.jit)}');
const cacheOut = process.env.MOAT_CODE_CACHE_OUT;
delete process.env.MOAT_CODE_CACHE_OUT;

let cachedData;
if (!cacheOut && existsSync(cacheFile)) cachedData = readFileSync(cacheFile);
const script = new Script(Module.wrap(readFileSync(bundle, 'utf8')), { filename: bundle, cachedData });
if (cachedData && script.cachedDataRejected) console.error('moat: guest agent code cache rejected; compiling');

if (cacheOut) {
  // Produce mode: the agent listens on the unix socket it was given; once it exists, every
  // function on the start path has been compiled.
  const socket = process.env.MOAT_AGENT_LISTEN.replace(/^unix:/, '');
  const started = Date.now();
  const poll = setInterval(() => {
    if (existsSync(socket)) {
      writeFileSync(cacheOut, script.createCachedData());
      process.exit(0);
    }
    if (Date.now() - started > 60000) {
      console.error('moat: the agent did not start listening on ' + socket);
      process.exit(1);
    }
  }, 20);
  poll.unref();
}

const agent = new Module(bundle, module);
agent.filename = bundle;
script.runInThisContext()(agent.exports, require, agent, bundle, __dirname);
`;

/** The line /etc/init.d/rcS prints instead of starting the agent when booted with moat.bench=1. */
const BENCH_MARKER = 'MOAT-BENCH-MARKER';

/** Busybox init's sysinit script in the rootfs. */
const RCS = `#!/bin/sh
export PATH=/usr/sbin:/usr/bin:/sbin:/bin

warn() {
  echo "moat-rcS: $*"
}

mkdir -p /dev/pts /dev/shm
mount -t devpts -o newinstance,ptmxmode=0666,mode=0620,gid=5 devpts /dev/pts || warn "cannot mount /dev/pts"
mount -t tmpfs -o nosuid,nodev,mode=1777 shm /dev/shm || warn "cannot mount /dev/shm"
# devtmpfs has no fd links; shells and crun's hooks expect them.
ln -s /proc/self/fd /dev/fd
ln -s /proc/self/fd/0 /dev/stdin
ln -s /proc/self/fd/1 /dev/stdout
ln -s /proc/self/fd/2 /dev/stderr

# crun puts containers in cgroup v2; controllers must be enabled in the root's subtree first.
mount -t cgroup2 -o nsdelegate cgroup2 /sys/fs/cgroup || warn "cannot mount cgroup2"
for controller in cpu memory pids io; do
  echo "+$controller" > /sys/fs/cgroup/cgroup.subtree_control || warn "cannot enable cgroup controller $controller"
done

hostname moat
ip link set lo up || warn "cannot bring up lo"

# The root is read-only: what the agent must rewrite (resolv.conf) lives on /run.
mkdir -p /run/moat
: > /run/moat/resolv.conf

read -r cmdline < /proc/cmdline
case " $cmdline " in
  *" moat.bench=1 "*)
    echo "${BENCH_MARKER}"
    poweroff -f
    ;;
esac
`;

/** Starts the agent, under the interpreter alone when the kernel command line says so (see AGENT_JITLESS_PARAM). */
const RUN_AGENT = `#!/bin/sh
read -r cmdline < /proc/cmdline
case " $cmdline " in
  *" ${AGENT_JITLESS_PARAM} "*) exec /usr/bin/node --jitless ${GUEST_AGENT_LOADER_PATH} ;;
esac
exec /usr/bin/node ${GUEST_AGENT_LOADER_PATH}
`;

/** Busybox init reaps orphans as PID 1, which crun's detached container processes rely on. */
const INITTAB = `::sysinit:/etc/init.d/rcS
::respawn:${GUEST_AGENT_RUN_PATH}
`;

/** A text file or symlink written into the rootfs. */
export type RootfsTemplate = { path: string; mode: number; content: string } | { path: string; symlink: string };

export const ROOTFS_TEMPLATES: readonly RootfsTemplate[] = [
  { path: '/etc/init.d/rcS', mode: 0o755, content: RCS },
  { path: '/etc/inittab', mode: 0o644, content: INITTAB },
  { path: GUEST_AGENT_LOADER_PATH, mode: 0o644, content: AGENT_LOADER },
  { path: GUEST_AGENT_RUN_PATH, mode: 0o755, content: RUN_AGENT },
  { path: '/etc/passwd', mode: 0o644, content: 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' },
  { path: '/etc/group', mode: 0o644, content: 'root:x:0:\ntty:x:5:\nnogroup:x:65534:\n' },
  { path: '/etc/hosts', mode: 0o644, content: '127.0.0.1 localhost\n::1 localhost ip6-localhost ip6-loopback\n' },
  { path: '/etc/resolv.conf', symlink: '../run/moat/resolv.conf' },
];

/** Empty directories the rootfs needs: mount points and root's home. */
export const ROOTFS_DIRS = ['/dev', '/proc', '/sys', '/run', '/tmp', '/root'] as const;
