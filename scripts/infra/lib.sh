# shellcheck shell=bash
# Shared helpers for scripts/infra/*.sh: paths, PID files, waiting, stopping.
# Sourced, not executed. Callers use `set -euo pipefail` and set SERVICE_NAME.
# shellcheck disable=SC2034  # the path variables are used by the callers

INFRA_SCRIPTS="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$INFRA_SCRIPTS/../.." && pwd)"
CACHE_DIR="${TAURO_CACHE_DIR:-$REPO_ROOT/.cache}"
INFRA_DIR="${TAURO_INFRA_DIR:-$REPO_ROOT/.tauro/infra}"

log() { printf '[%s] %s\n' "${SERVICE_NAME:-infra}" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# pid_alive PIDFILE PATTERN: true when the PID in PIDFILE is alive and its command
# line contains PATTERN (guards against a stale file pointing at a reused PID).
pid_alive() {
    local pidfile="$1" pattern="$2" pid
    [[ -f "$pidfile" ]] || return 1
    pid="$(<"$pidfile")"
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    kill -0 "$pid" 2>/dev/null || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$pattern"
}

# take_lock DIR [SECONDS]: serialise start/stop/reset of one server, or one build (fd 9;
# children must close it). Waits 120 s by default; a build waits for another one longer.
take_lock() {
    mkdir -p "$1"
    exec 9>"$1/.lock"
    flock -w "${2:-120}" 9 || die "another start/stop/build holds $1/.lock"
}

# port_in_use PORT: true when something already listens on 127.0.0.1:PORT.
port_in_use() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# wait_ready SECONDS PIDFILE PATTERN LOGFILE CHECK...: run CHECK once a second until
# it succeeds; fail with the log tail if the process dies or time runs out.
wait_ready() {
    local timeout="$1" pidfile="$2" pattern="$3" logfile="$4"
    shift 4
    local deadline=$((SECONDS + timeout)) pid
    pid="$(<"$pidfile")"
    while ((SECONDS < deadline)); do
        # The PID was recorded a moment ago by us, so liveness alone is the test here: its
        # command line may not show PATTERN yet (the fork has not exec'd the server yet).
        if ! kill -0 "$pid" 2>/dev/null; then
            log "process exited during start-up; last log lines ($logfile):"
            tail -n 40 "$logfile" >&2 || true
            rm -f "$pidfile"
            return 1
        fi
        if "$@" >/dev/null 2>&1; then
            return 0
        fi
        sleep 1
    done
    log "not ready after ${timeout}s; last log lines ($logfile):"
    tail -n 40 "$logfile" >&2 || true
    return 1
}

# report_status PIDFILE PATTERN WHERE: say whether the server runs (exit 0) or not (exit 1).
report_status() {
    if pid_alive "$1" "$2"; then
        log "running (pid $(<"$1")) on $3"
    else
        log "not running"
        return 1
    fi
}

# stop_pid PIDFILE PATTERN: SIGTERM the recorded PID, wait up to 20 s, then SIGKILL.
# Only ever signals the PID we recorded, and only if it still runs our command.
stop_pid() {
    local pidfile="$1" pattern="$2" pid i
    if ! pid_alive "$pidfile" "$pattern"; then
        rm -f "$pidfile"
        log "not running"
        return 0
    fi
    pid="$(<"$pidfile")"
    log "stopping (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 40; i++)); do
        pid_alive "$pidfile" "$pattern" || break
        sleep 0.5
    done
    if pid_alive "$pidfile" "$pattern"; then
        log "still running after 20 s; sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
        sleep 0.5
    fi
    rm -f "$pidfile"
    log "stopped"
}
