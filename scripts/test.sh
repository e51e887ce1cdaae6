#!/usr/bin/env bash
# Run the whole test suite against real infrastructure: start Kafka and the
# MongoDB-wire server (unless already running, or unless TAURO_TEST_* point elsewhere),
# run pytest, stop what this script started. Extra arguments go to pytest.
# Where a Docker engine answers, the test fixtures start Kafka and MongoDB with
# testcontainers instead (TAURO_USE_SCRIPTS=1 forces the scripts).
set -euo pipefail
cd "$(dirname "$0")/.."
UV="python3 -m uv"
started=()
prebuild_pid=
cleanup() {
  if [[ -n "$prebuild_pid" ]]; then kill -- "-$prebuild_pid" 2>/dev/null || true; fi  # its own process group
  for name in "${started[@]}"; do bash "scripts/infra/$name.sh" stop || true; done
}
trap cleanup EXIT

# Go tools some tests need (compose-go, Helm v4, Jaeger v2) are built once per user, outside the
# clone. On a machine that has none yet, build them in the background now, one after the other,
# while the infrastructure starts and the first tests run: a test that needs one waits for it.
mkdir -p .tauro
setsid bash -c 'bash tools/composecheck/build.sh; bash scripts/infra/helm.sh build; bash scripts/infra/jaeger.sh build' \
  >.tauro/prebuild.log 2>&1 </dev/null &
prebuild_pid=$!
echo "Go test tools: built ahead in the background where missing (log: .tauro/prebuild.log)"

use_scripts=1
if [[ -z "${TAURO_USE_SCRIPTS:-}" ]] && command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then
  use_scripts=0
fi
if [[ $use_scripts == 1 && -z "${TAURO_TEST_KAFKA:-}" ]]; then
  if ! bash scripts/infra/kafka.sh status >/dev/null 2>&1; then
    TAURO_KAFKA_RESET=1 bash scripts/infra/kafka.sh start; started+=(kafka)
  fi
  export TAURO_TEST_KAFKA="127.0.0.1:${TAURO_KAFKA_PORT:-19092}"
fi
if [[ $use_scripts == 1 && -z "${TAURO_TEST_MONGODB_URL:-}" ]]; then
  if ! bash scripts/infra/mongo.sh status >/dev/null 2>&1; then
    bash scripts/infra/mongo.sh start; started+=(mongo)
  fi
  export TAURO_TEST_MONGODB_URL="mongodb://127.0.0.1:${TAURO_MONGO_PORT:-27018}/?directConnection=true&retryWrites=false"
fi
if [[ $use_scripts == 0 ]]; then  # pytest's summary then names the path each server took
  echo "infrastructure: testcontainers (Docker engine found: Kafka apache/kafka, MongoDB mongo replica set; TAURO_USE_SCRIPTS=1 takes the scripts)"
else
  echo "infrastructure: scripts (Kafka ${TAURO_TEST_KAFKA}, SecantusDB ${TAURO_TEST_MONGODB_URL%%/\?*})"
fi

# The browser tests (tests/browser) use the system's Chromium: install it if missing. Where it
# cannot be installed, browser.sh says why (TAURO_BROWSER_SKIP) and those tests skip with that.
if [[ -z "${TAURO_CHROMIUM:-}" || -z "${TAURO_CHROMEDRIVER:-}" ]]; then
  while IFS= read -r line; do
    if [[ "$line" == TAURO_*=* ]]; then export "${line%%=*}=$(eval "printf '%s' ${line#*=}")"; fi
  done < <(bash scripts/infra/browser.sh install)
fi

set +e
$UV run pytest -q -p no:cacheprovider "$@"
code=$?
set -e
if [[ $code -eq 5 ]]; then
  echo "pytest collected no tests: treating as failure" >&2
  code=1
fi
exit $code
