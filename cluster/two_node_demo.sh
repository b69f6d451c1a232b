#!/usr/bin/env bash
# Two Ray nodes on one machine (loopback only), two books trained with their tasks on different
# nodes, then served from the cluster: proof that artifacts travel through Ray, not a shared disk.
#   bash cluster/two_node_demo.sh [ARTIFACTS_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
ART=${1:-$(mktemp -d)/artifacts}
PORT=${RAY_PORT:-6391}
RAYTMP=$(mktemp -d /tmp/raytwo.XXXX)          # this cluster's own temp dir: stopped by itself below
export RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0   # keep Ray on 127.0.0.1
stop_cluster() { pkill -f -- "$RAYTMP" >/dev/null 2>&1 || true; }
trap stop_cluster EXIT
# Each node advertises its own custom resource so each book's tasks can be pinned to one node.
ray start --head --node-ip-address=127.0.0.1 --port="$PORT" --num-cpus=1 --temp-dir="$RAYTMP" \
  --resources='{"node_a": 1}' --include-dashboard=false --disable-usage-stats >/dev/null
ray start --address="127.0.0.1:$PORT" --node-ip-address=127.0.0.1 --num-cpus=1 \
  --resources='{"node_b": 1}' --disable-usage-stats >/dev/null
export RAY_AUTH_MODE=token
python -m cluster.two_node --address "127.0.0.1:$PORT" --artifacts "$ART"
