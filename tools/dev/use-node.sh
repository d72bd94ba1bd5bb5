# Sourced (from the repository root) by Moat's shell entry points: tools/dev/moat.sh and the
# tools/bench wrappers. Puts the Node that Moat runs on (24 LTS, installed into .toolchain/ when
# the machine's is older: tools/dev/node-runtime.mjs) first on PATH, so npm, Nx and every process
# they start use it, and native addons are built against its headers. Sets $moat_node to it.
moat_node=$(node tools/dev/node-runtime.mjs)
moat_node_home=$(dirname "$(dirname "$moat_node")")
PATH="$moat_node_home/bin:$PATH"
export PATH
# npx puts npm's global bin dir first on PATH. Under `npm start`/`npm test` the outer npm passes
# its own prefix down (npm_config_prefix=/usr: /usr/bin/node, the older Node); npm's default
# prefix for this Node is its home, so name that.
npm_config_prefix=$moat_node_home
export npm_config_prefix
if [ -d "$moat_node_home/include/node" ]; then
  npm_config_nodedir=$moat_node_home
  export npm_config_nodedir
fi
