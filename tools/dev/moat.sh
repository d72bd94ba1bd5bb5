#!/bin/sh
# `npm start` and `npm test`: run tools/dev/moat.mjs on Moat's Node (tools/dev/use-node.sh).
# `exec` replaces this shell, so no older Node stays behind.
set -eu
cd "$(dirname "$0")/../.."
. tools/dev/use-node.sh
exec "$moat_node" tools/dev/moat.mjs "$@"
