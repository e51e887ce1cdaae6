#!/usr/bin/env bash
# Stop what scripts/infra/up.sh started (only the recorded PIDs). Data is kept;
# `kafka.sh reset` / `mongo.sh reset` (or TAURO_*_RESET=1 on start) wipe it.
set -euo pipefail

here="$(dirname "${BASH_SOURCE[0]}")"
rc=0
"$here/mongo.sh" stop || rc=1
"$here/kafka.sh" stop || rc=1
exit "$rc"
