// Host prerequisites: Debian packages Moat needs, installed with apt-get only when missing.
import { spawnSync } from 'node:child_process';

/** Packages every command needs (runtime, guest image builder, native npm builds). */
export const RUNTIME_PACKAGES = [
  'qemu-system-x86', // QEMU and /usr/lib/qemu/virtiofsd
  'bubblewrap', // the VMM jail: namespaces and a root of its own (setpriv and prlimit come with util-linux)
  'busybox-static', // guest userland and the default sandbox rootfs
  'crun', // runs containers inside the guest
  'socat', // vsock for the guest agent (guest side) and the host's vsock transport
  'cpio', // initramfs
  'kmod', // depmod for the guest's module closure
  'e2fsprogs', // mkfs.ext4 -d for the guest rootfs image and block sandbox rootfs
  'attr', // setfattr: overlayfs opaque-directory markers when unpacking image layers
  'xz-utils',
  'zstd',
  'iproute2', // ip/tc in batch mode for sandbox network plumbing
  'iptables', // the CNI plugins' rules (portmap's DNAT, the bridge plugin's masquerade)
  'nftables', // the sandbox firewall: one table per node agent, applied atomically
  'conntrack', // forgets a departed sandbox's tracked flows, so their next packet is refused, not routed on
  'openssl', // the dev stack's TLS CA and control-plane certificate (tools/dev/tls-certs.mjs)
  'containernetworking-plugins', // bridge, host-local, portmap, bandwidth (CNI)
  'protobuf-compiler', // protoc for the guest agent API
  // The .proto files libs/containerd-api and libs/ttrpc generate their messages from at build time
  // (all under /usr/share/gocode/src), for the containerd shim:
  'golang-github-containerd-containerd-dev', // containerd 1.6's shim task API, task events, event forwarding
  'golang-github-containerd-cgroups-dev', // io.containerd.cgroups.v1.Metrics, what the shim's Stats answers
  'golang-github-containerd-ttrpc-dev', // ttrpc 1.1.1 ships no .proto: libs/ttrpc/proto/ttrpc.proto matches its types.go
  'golang-github-gogo-protobuf-dev', // gogoproto/gogo.proto (containerd's files import it) and google/protobuf/*.proto
  'golang-github-gogo-googleapis-dev', // google/rpc/status.proto, the status in every ttrpc response
  'python3', // node-gyp, when a native module has no prebuilt binary
  'make',
  'g++',
  'gcc', // builds the guest agent's moat-spawner, a static binary (libc6-dev has the static libc)
  'libc6-dev',
];

/** Extra packages the test tiers need. */
export const TEST_PACKAGES = [
  'chromium',
  'fonts-liberation',
  'docker-registry', // a real OCI registry on loopback for the image tests
  'dnsmasq-base', // the DNS server the containment tests run in their own namespace
  'socat', // carries the stack's ports into the e2e browser's own network namespace
  'containerd', // Debian's containerd 1.6 (and runc) for the containerd shim's e2e; the test runs its own instance
  'systemd', // systemd-analyze verify checks the units in deploy/systemd (it needs no running systemd)
];

function isInstalled(pkg) {
  const r = spawnSync('dpkg-query', ['-W', '-f=${Status}', pkg], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.includes('install ok installed');
}

/** Installs whatever of `packages` is missing; throws with the apt output when that fails. */
export function ensureHostPackages(packages, log) {
  const missing = packages.filter((p) => !isInstalled(p));
  if (missing.length === 0) return;
  if (process.getuid?.() !== 0) {
    throw new Error(`missing Debian packages (run as root, or install them): ${missing.join(' ')}`);
  }
  log(`installing host packages: ${missing.join(' ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  for (const args of [['update', '-q'], ['install', '-y', '-q', '--no-install-recommends', ...missing]]) {
    const r = spawnSync('apt-get', args, { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8', env });
    if (r.status !== 0) throw new Error(`apt-get ${args.join(' ')} failed:\n${r.stdout}\n${r.stderr}`);
  }
}
