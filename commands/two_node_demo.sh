#!/usr/bin/env bash
# Two Ray nodes, two books trained with their tasks on different nodes, then served from the
# cluster: proof that artifacts travel through Ray's object store, not a shared disk.
#
#   bash commands/two_node_demo.sh [ARTIFACTS_DIR]        # both nodes on this machine (127.0.0.1)
#
# On two real machines, start the nodes yourself and pass --address:
#   head:   ray start --head --port=6379 --resources='{"node_a": 1}'
#   worker: ray start --address=HEAD_IP:6379 --resources='{"node_b": 1}'
#   then:   python -m commands.two_node --address HEAD_IP:6379 --artifacts ./artifacts
set -euo pipefail
cd "$(dirname "$0")/.."
ART=${1:-$(mktemp -d)/artifacts}
export RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0   # keep both nodes on 127.0.0.1
exec python -m commands.two_node --artifacts "$ART"
