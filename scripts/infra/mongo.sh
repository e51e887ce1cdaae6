#!/usr/bin/env bash
# A MongoDB-wire server for the distributed mode, no Docker: SecantusDB (PyPI
# `secantusdb`, GPL-2.0). It runs as a separate process from its own venv; project
# code only talks to it over the wire with PyMongo and never imports it.
#
# Usage: scripts/infra/mongo.sh start|stop|status|reset|probe
#   probe: run probe_mongo.py (what the event store relies on) against the server
#   TAURO_MONGO_PORT     port               (default 27018)
#   TAURO_MONGO_RESET=1  wipe the data dir before `start`
#   TAURO_CACHE_DIR      venv + pip cache   (default <repo>/.cache)
#   TAURO_INFRA_DIR      data, log, PID     (default <repo>/.tauro/infra)
# It advertises itself as the primary of a single-node replica set, so
# transactions and change streams work.
set -euo pipefail

SERVICE_NAME=mongo
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SECANTUS_VERSION=0.7.0b3
PORT="${TAURO_MONGO_PORT:-27018}"
VENV="$CACHE_DIR/secantus-venv"
HOME_DIR="$INFRA_DIR/mongo"
DATA_DIR="$HOME_DIR/data"
PID_FILE="$HOME_DIR/mongo.pid"
LOG_FILE="$HOME_DIR/mongo.log"
CONFIG="$HOME_DIR/secantusd.toml"
PATTERN="--storage-path $DATA_DIR"
START_TIMEOUT=60
URL="mongodb://127.0.0.1:$PORT/?directConnection=true&retryWrites=false"

install_server() {
    local marker="$VENV/.secantusdb-$SECANTUS_VERSION"
    if [[ -f "$marker" ]]; then return 0; fi
    log "installing secantusdb==$SECANTUS_VERSION into $VENV (first time only)"
    if [[ ! -x "$VENV/bin/python" ]]; then python3 -m venv "$VENV"; fi
    PIP_CACHE_DIR="$CACHE_DIR/pip" "$VENV/bin/pip" install -q --disable-pip-version-check \
        --pre "secantusdb==$SECANTUS_VERSION"
    touch "$marker"
}

# Ready = a real PyMongo round trip: `ping` through server selection.
server_ready() {
    "$VENV/bin/python" - "$URL" <<'EOF'
import sys
from pymongo import MongoClient
with MongoClient(sys.argv[1], serverSelectionTimeoutMS=2000) as client:
    client.admin.command("ping")
EOF
}

cmd_start() {
    if [[ "${TAURO_MONGO_RESET:-0}" == 1 ]]; then cmd_reset; fi
    if pid_alive "$PID_FILE" "$PATTERN"; then
        log "already running (pid $(<"$PID_FILE")) on 127.0.0.1:$PORT"
        return 0
    fi
    rm -f "$PID_FILE"
    if port_in_use "$PORT"; then die "port $PORT is already in use by another process"; fi
    install_server
    mkdir -p "$DATA_DIR"
    # An explicit (empty) config file turns off secantusd's auto-discovery of
    # ./secantusd.toml, ~/.secantus/ and /etc/secantus/: only our flags count.
    echo "# Managed by scripts/infra/mongo.sh; settings are passed as flags." >"$CONFIG"
    log "starting on 127.0.0.1:$PORT (log: $LOG_FILE)"
    # setsid: own session, so the server outlives the calling shell or job.
    (cd "$HOME_DIR" && exec setsid "$VENV/bin/secantusd-py" --config "$CONFIG" \
        --host 127.0.0.1 --port "$PORT" --storage-path "$DATA_DIR" --log-level WARNING \
        >>"$LOG_FILE" 2>&1 </dev/null 9>&-) &
    echo $! >"$PID_FILE"
    local t0=$SECONDS
    wait_ready "$START_TIMEOUT" "$PID_FILE" "$PATTERN" "$LOG_FILE" server_ready \
        || { cmd_stop >/dev/null 2>&1; die "SecantusDB did not become ready"; }
    log "ready in $((SECONDS - t0))s (pid $(<"$PID_FILE")): MONGODB_URL=$URL"
}

cmd_stop() { stop_pid "$PID_FILE" "$PATTERN"; }

cmd_status() { report_status "$PID_FILE" "$PATTERN" "127.0.0.1:$PORT"; }

cmd_reset() {
    if pid_alive "$PID_FILE" "$PATTERN"; then die "running; stop it before reset"; fi
    log "wiping $DATA_DIR"
    rm -rf "$DATA_DIR"
}

case "${1:-}" in
    start) take_lock "$HOME_DIR" && cmd_start ;;
    stop) take_lock "$HOME_DIR" && cmd_stop ;;
    status) cmd_status ;;
    reset) take_lock "$HOME_DIR" && cmd_reset ;;
    probe) shift; exec "$VENV/bin/python" "$INFRA_SCRIPTS/probe_mongo.py" --url "$URL" "$@" ;;
    *) echo "usage: $0 start|stop|status|reset|probe" >&2; exit 2 ;;
esac
