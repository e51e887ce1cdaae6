#!/usr/bin/env bash
# Prometheus from Debian's `prometheus` package, run as our own process (never the package's
# systemd/init service): our config, our data directory, loopback only, a PID file.
#
# Usage: scripts/infra/prometheus.sh start|stop|status|reload|install
#   install                 apt-get install prometheus (as root, Debian) when /usr/bin/prometheus
#                           or promtool is missing; `start` does it too
#   reload                  re-read the config and the rule files (checked first)
#   TAURO_PROMETHEUS_PORT   HTTP port on 127.0.0.1                (default 9090)
#   TAURO_PROMETHEUS_CONFIG the config file (default deploy/prometheus/prometheus.local.yml:
#                           the gateway of `make up`; the compose one is prometheus.yml)
#   TAURO_PROMETHEUS_RETENTION  how long samples are kept         (default 2d)
#   TAURO_INFRA_DIR         data, log, PID                        (default <repo>/.tauro/infra)
# The config is checked with promtool before start. stop/status/reload need the same
# TAURO_INFRA_DIR as start.
set -euo pipefail

SERVICE_NAME=prometheus
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PORT="${TAURO_PROMETHEUS_PORT:-9090}"
CONFIG="${TAURO_PROMETHEUS_CONFIG:-$REPO_ROOT/deploy/prometheus/prometheus.local.yml}"
RETENTION="${TAURO_PROMETHEUS_RETENTION:-2d}"
HOME_DIR="$INFRA_DIR/prometheus"
DATA_DIR="$HOME_DIR/data"
PID_FILE="$HOME_DIR/prometheus.pid"
LOG_FILE="$HOME_DIR/prometheus.log"
PATTERN="--storage.tsdb.path=$DATA_DIR"
START_TIMEOUT=60
PROMETHEUS_BIN="${TAURO_PROMETHEUS_BIN:-/usr/bin/prometheus}"
PROMTOOL_BIN="${TAURO_PROMTOOL_BIN:-/usr/bin/promtool}"

installed() { [[ -x "$PROMETHEUS_BIN" && -x "$PROMTOOL_BIN" ]]; }

cmd_install() {
    if installed; then return 0; fi
    [[ -r /etc/debian_version ]] || die "not a Debian system: install Prometheus (and promtool) yourself"
    command -v apt-get >/dev/null 2>&1 || die "apt-get not found"
    [[ "$(id -u)" == 0 ]] || die "installing Prometheus needs root: apt-get install --no-install-recommends prometheus"
    log "installing Debian's prometheus package with apt-get (first time only)"
    export DEBIAN_FRONTEND=noninteractive
    # The package's maintainer scripts would start its own service: deny service starts during
    # the install (policy-rc.d, honoured by invoke-rc.d and deb-systemd-invoke), unless the
    # machine already has a policy (containers usually deny everything already).
    local policy=/usr/sbin/policy-rc.d ours=0
    if [[ ! -e "$policy" ]]; then
        printf '#!/bin/sh\n# scripts/infra/prometheus.sh: no service starts during its apt-get install\nexit 101\n' >"$policy"
        chmod 755 "$policy"
        ours=1
    fi
    local rc=0
    { apt-get update -qq && apt-get install -y -qq --no-install-recommends prometheus; } >&2 || rc=$?
    if [[ $ours == 1 ]]; then rm -f "$policy"; fi
    [[ $rc == 0 ]] || die "apt-get install prometheus failed (exit $rc)"
    installed || die "the prometheus package did not provide $PROMETHEUS_BIN and $PROMTOOL_BIN"
    log "installed: $("$PROMETHEUS_BIN" --version 2>&1 | head -n 1)"
}

ready() { curl -fsS --max-time 2 "http://127.0.0.1:$PORT/-/ready" >/dev/null; }

cmd_start() {
    if pid_alive "$PID_FILE" "$PATTERN"; then
        log "already running (pid $(<"$PID_FILE")) on 127.0.0.1:$PORT"
        return 0
    fi
    rm -f "$PID_FILE"
    command -v curl >/dev/null || die "curl is required"
    cmd_install
    [[ -f "$CONFIG" ]] || die "config file not found: $CONFIG"
    "$PROMTOOL_BIN" check config "$CONFIG" >"$HOME_DIR/check.log" 2>&1 \
        || { cat "$HOME_DIR/check.log" >&2; die "invalid config: $CONFIG"; }
    if port_in_use "$PORT"; then die "port $PORT is already in use by another process"; fi
    mkdir -p "$DATA_DIR"
    log "starting on 127.0.0.1:$PORT with $CONFIG (log: $LOG_FILE)"
    # setsid: own session, so the server outlives the calling shell or job.
    setsid "$PROMETHEUS_BIN" --config.file="$CONFIG" "$PATTERN" \
        --storage.tsdb.retention.time="$RETENTION" --web.listen-address="127.0.0.1:$PORT" \
        --web.enable-lifecycle >>"$LOG_FILE" 2>&1 </dev/null 9>&- &
    echo $! >"$PID_FILE"
    local t0=$SECONDS
    wait_ready "$START_TIMEOUT" "$PID_FILE" "$PATTERN" "$LOG_FILE" ready \
        || { cmd_stop >/dev/null 2>&1; die "Prometheus did not become ready"; }
    log "ready in $((SECONDS - t0))s (pid $(<"$PID_FILE")): http://127.0.0.1:$PORT"
}

cmd_stop() { stop_pid "$PID_FILE" "$PATTERN"; }

cmd_status() { report_status "$PID_FILE" "$PATTERN" "127.0.0.1:$PORT"; }

cmd_reload() {
    pid_alive "$PID_FILE" "$PATTERN" || die "not running"
    "$PROMTOOL_BIN" check config "$CONFIG" >"$HOME_DIR/check.log" 2>&1 \
        || { cat "$HOME_DIR/check.log" >&2; die "invalid config: $CONFIG"; }
    # /-/reload (--web.enable-lifecycle, loopback only) answers once the reload is done or failed
    curl -fsS --max-time 30 -X POST "http://127.0.0.1:$PORT/-/reload" >&2 || die "reload failed; see $LOG_FILE"
    log "reloaded $CONFIG (pid $(<"$PID_FILE"))"
}

mkdir -p "$HOME_DIR"
case "${1:-}" in
    start) take_lock "$HOME_DIR" && cmd_start ;;
    stop) take_lock "$HOME_DIR" && cmd_stop ;;
    status) cmd_status ;;
    reload) cmd_reload ;;
    install) cmd_install ;;
    *) echo "usage: $0 start|stop|status|reload|install" >&2; exit 2 ;;
esac
