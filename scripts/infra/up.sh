#!/usr/bin/env bash
# Start real Kafka and the MongoDB-wire server for the distributed mode (no Docker),
# then print the settings to export, so this works:  eval "$(scripts/infra/up.sh)"
# Ports: TAURO_KAFKA_PORT (19092), TAURO_KAFKA_CONTROLLER_PORT (19093), TAURO_MONGO_PORT (27018).
# Stop with scripts/infra/down.sh.
set -euo pipefail

here="$(dirname "${BASH_SOURCE[0]}")"
"$here/kafka.sh" start || { echo "Kafka failed to start; see above (scripts/infra/down.sh cleans up)" >&2; exit 1; }
"$here/mongo.sh" start || { echo "MongoDB failed to start; see above (scripts/infra/down.sh cleans up)" >&2; exit 1; }

# stdout carries only the exports; progress went to stderr.
echo "export KAFKA_BOOTSTRAP_SERVERS='127.0.0.1:${TAURO_KAFKA_PORT:-19092}'"
echo "export MONGODB_URL='mongodb://127.0.0.1:${TAURO_MONGO_PORT:-27018}/?directConnection=true&retryWrites=false'"
