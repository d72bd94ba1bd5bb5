# Sourced (from the repository root) by Moat's shell entry points: tools/dev/moat.sh and the
# tools/bench wrappers. Puts the Node that Moat runs on (24 LTS, installed into .toolchain/ when
# the machine's is older: tools/dev/node-runtime.mjs) first on PATH, so npm, Nx and every process
# they start use it, and native addons are built against its headers. Sets $moat_node to it.
moat_node=$(node tools/dev/node-runtime.mjs)
moat_node_home=$(dirname "$(dirname "$moat_node")")
PATH="$moat_node_home/bin:$PATH"
export PATH
if [ -d "$moat_node_home/include/node" ]; then
  npm_config_nodedir=$moat_node_home
  export npm_config_nodedir
fi
