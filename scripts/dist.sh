#!/usr/bin/env bash
# Distributed mode without Docker: real Kafka + the MongoDB-wire server, and every
# Tauro service as its own process. Usage: scripts/dist.sh up|down|status
# Logs and PID files: .tauro/dist/<service>.{log,pid}. SECRET_KEY: taken from the
# environment, else a random one generated once into .tauro/dist/secret; likewise
# TAURO_ADMIN_API_KEY (the first admin key, authentication being on) in .tauro/dist/admin-key.
set -euo pipefail
cd "$(dirname "$0")/.."
DIST=.tauro/dist
PY=.venv/bin/python
SERVICES=(runs executor scheduler streaming notifier gateway)
PORT="${PORT:-8000}"
mkdir -p "$DIST"

alive() { kill -0 "$1" 2>/dev/null && [[ "$(ps -o stat= -p "$1" 2>/dev/null)" != Z* ]]; }  # a zombie is dead
running() { [[ -f "$DIST/$1.pid" ]] && alive "$(cat "$DIST/$1.pid")"; }

up() {
  eval "$(bash scripts/infra/up.sh)"
  if [[ -z "${SECRET_KEY:-}" ]]; then
    [[ -f "$DIST/secret" ]] || "$PY" -c 'import secrets; print(secrets.token_urlsafe(48))' > "$DIST/secret"
    SECRET_KEY="$(cat "$DIST/secret")"
  fi
  if [[ -z "${TAURO_ADMIN_API_KEY:-}" ]]; then  # authentication is on: a first admin key, kept beside the secret
    [[ -s "$DIST/admin-key" ]] || (umask 077; SECRET_KEY="$SECRET_KEY" "$PY" -m tauro_cli.main keygen > "$DIST/admin-key")
    TAURO_ADMIN_API_KEY="$(cat "$DIST/admin-key")"
  fi
  # Our broker allows 3 s consumer sessions: a killed service's partitions move within ~4 s.
  export KAFKA_SESSION_TIMEOUT_MS="${KAFKA_SESSION_TIMEOUT_MS:-3000}"
  export SECRET_KEY TAURO_ADMIN_API_KEY KAFKA_BOOTSTRAP_SERVERS MONGODB_URL TAURO_MODE=distributed PORT
  local started=() failed=0
  for svc in "${SERVICES[@]}"; do
    if running "$svc"; then echo "$svc already running (pid $(cat "$DIST/$svc.pid"))"; continue; fi
    touch "$DIST/$svc.log"
    echo "$(grep -c "tauro $svc: ready" "$DIST/$svc.log" || true)" > "$DIST/$svc.ready-before"
    OTEL_SERVICE_NAME="tauro-$svc" nohup "$PY" -m "tauro_$svc" >> "$DIST/$svc.log" 2>&1 &
    echo $! > "$DIST/$svc.pid"
    started+=("$svc")
  done
  # A service is up once it printed a new "ready" line and is still alive a moment later;
  # one that exits first is reported as failed with the tail of its log.
  for svc in "${started[@]}"; do
    if ! wait_ready "$svc"; then failed=1; fi
  done
  if [[ $failed == 1 ]]; then echo "some services failed to start; see $DIST/*.log" >&2; return 1; fi
  for _ in $(seq 1 60); do
    if curl -fsS "http://127.0.0.1:$PORT/health" >/dev/null 2>&1; then
      echo; echo "Tauro (distributed) is up:"
      echo "  UI:    http://127.0.0.1:$PORT/ui  (sign in with the admin API key below)"
      echo "  API:   http://127.0.0.1:$PORT/api/v1"
      echo "  Docs:  http://127.0.0.1:$PORT/docs"
      echo "  Logs:  $DIST/*.log    Stop: make down"
      echo "  Admin API key (send as X-API-Key; TAURO_API_KEY for the CLI): $DIST/admin-key"
      return 0
    fi
    sleep 1
  done
  echo "FAILED: the gateway's /health did not answer 200 within 60 s; see $DIST/*.log" >&2
  return 1
}

wait_ready() {
  local svc=$1 pid before
  pid="$(cat "$DIST/$svc.pid")"; before="$(cat "$DIST/$svc.ready-before")"
  for _ in $(seq 1 600); do
    if ! alive "$pid"; then
      echo "FAILED: $svc (pid $pid) exited during start-up; last lines of $DIST/$svc.log:" >&2
      tail -n 15 "$DIST/$svc.log" >&2; rm -f "$DIST/$svc.pid"; return 1
    fi
    if (( $(grep -c "tauro $svc: ready" "$DIST/$svc.log" || true) > before )); then
      sleep 1  # still alive a moment after saying ready?
      if alive "$pid"; then echo "started $svc (pid $pid)"; return 0; fi
    fi
    sleep 0.1
  done
  echo "FAILED: $svc (pid $pid) not ready within 60 s; see $DIST/$svc.log" >&2
  return 1
}

down() {
  for svc in "${SERVICES[@]}"; do
    if running "$svc"; then
      pid="$(cat "$DIST/$svc.pid")"; kill "$pid"
      for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
      kill -9 "$pid" 2>/dev/null || true
      echo "stopped $svc"
    fi
    rm -f "$DIST/$svc.pid"
  done
  bash scripts/infra/down.sh
}

status() {
  for svc in "${SERVICES[@]}"; do
    if running "$svc"; then echo "$svc: running (pid $(cat "$DIST/$svc.pid"))"
    elif [[ -f "$DIST/$svc.pid" ]]; then echo "$svc: FAILED (pid $(cat "$DIST/$svc.pid") exited; see $DIST/$svc.log)"
    else echo "$svc: stopped"; fi
  done
  bash scripts/infra/kafka.sh status || true
  bash scripts/infra/mongo.sh status || true
}

case "${1:-}" in
  up) up ;; down) down ;; status) status ;;
  *) echo "usage: $0 up|down|status" >&2; exit 2 ;;
esac
