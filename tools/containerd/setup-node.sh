#!/bin/sh
# Sets up Debian's containerd 1.6 on a Moat node, as root: installs containerd and runc, links
# containerd-shim-moat-v2 onto the PATH, and gives containerd the runtime io.containerd.moat.v2
# and the CRI runtime handler `moat` in /etc/containerd/conf.d/moat.toml (imported from
# /etc/containerd/config.toml). The node agent must run on the node: the shim hands each task to
# it. With a node agent whose MOAT_RUN_DIR is not /run/moat, run this with that MOAT_RUN_DIR set.
# Then: systemctl restart containerd. See docs/containerd.md.
set -eu
repo=$(cd "$(dirname "$0")/../.." && pwd)
node="$repo/.toolchain/node/bin/node"
[ -x "$node" ] || node=node

if ! dpkg-query -W -f='${Status}' containerd runc 2>/dev/null | grep -q '^install ok installed.*install ok installed$'; then
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends containerd runc
fi

"$node" --input-type=module -e "
  import { linkShim, moatRuntimeConfig } from '$repo/tools/containerd/containerd.mjs';
  import { mkdirSync, writeFileSync } from 'node:fs';
  console.log('shim: ' + linkShim());
  mkdirSync('/etc/containerd/conf.d', { recursive: true });
  writeFileSync('/etc/containerd/conf.d/moat.toml', moatRuntimeConfig());
  console.log('wrote /etc/containerd/conf.d/moat.toml');
"

config=/etc/containerd/config.toml
if [ ! -s "$config" ]; then
  printf 'version = 2\nimports = ["/etc/containerd/conf.d/*.toml"]\n' > "$config"
  echo "wrote $config"
elif grep -q 'conf.d/\*.toml' "$config"; then
  :
elif grep -q '^version = 2' "$config" && ! grep -q '^imports' "$config"; then
  sed -i 's|^version = 2$|version = 2\nimports = ["/etc/containerd/conf.d/*.toml"]|' "$config"
  echo "added the conf.d import to $config"
else
  echo "add /etc/containerd/conf.d/*.toml to the imports of $config (containerd config version 2)" >&2
fi

# containerd passes its environment on to the shim, which finds its node agent under MOAT_RUN_DIR.
if [ -n "${MOAT_RUN_DIR:-}" ] && [ "$MOAT_RUN_DIR" != /run/moat ]; then
  mkdir -p /etc/systemd/system/containerd.service.d
  printf '[Service]\nEnvironment=MOAT_RUN_DIR=%s\n' "$MOAT_RUN_DIR" > /etc/systemd/system/containerd.service.d/moat.conf
  echo "wrote /etc/systemd/system/containerd.service.d/moat.conf (systemctl daemon-reload)"
fi
echo 'done: systemctl restart containerd, then e.g. ctr run --runtime io.containerd.moat.v2 --rm docker.io/library/busybox:latest t1 uname -r'
