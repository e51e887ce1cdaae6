#!/usr/bin/env bash
# The long chaos run (make chaos): start Kafka unless it runs (the chaos rig starts its own
# MongoDB-wire server, so the shared one is never stopped), run `python -m bench.chaos`
# with the given arguments, stop what this script started.
set -euo pipefail
cd "$(dirname "$0")/.."
UV="python3 -m uv"
started=()
cleanup() {
  for name in "${started[@]}"; do bash "scripts/infra/$name.sh" stop || true; done
}
trap cleanup EXIT

if [[ -z "${TAURO_TEST_KAFKA:-}" ]]; then
  if ! bash scripts/infra/kafka.sh status >/dev/null 2>&1; then
    bash scripts/infra/kafka.sh start; started+=(kafka)
  fi
  export TAURO_TEST_KAFKA="127.0.0.1:${TAURO_KAFKA_PORT:-19092}"
fi
$UV run python -m bench.chaos "$@"
