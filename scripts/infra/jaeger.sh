#!/usr/bin/env bash
# Jaeger v2 (the OpenTelemetry-collector-based binary), built from source with Go, in-memory
# trace store, OTLP receivers and the query API / UI, no Docker.
#
# Usage: scripts/infra/jaeger.sh build|start|stop|status
#   TAURO_JAEGER_OTLP_GRPC_PORT   OTLP gRPC receiver        (default 4317)
#   TAURO_JAEGER_OTLP_HTTP_PORT   OTLP HTTP receiver        (default 4318)
#   TAURO_JAEGER_QUERY_PORT       UI + query API (HTTP)     (default 16686)
#   TAURO_JAEGER_QUERY_GRPC_PORT  query API (gRPC)          (default 16685)
#   TAURO_JAEGER_BIN_DIR          where the binary is built (default ${XDG_CACHE_HOME:-~/.cache}/tauro/jaeger-v1.75.0)
#   TAURO_INFRA_DIR               log, PID, ports           (default <repo>/.tauro/infra)
# The binary is built once per user (go build of github.com/jaegertracing/jaeger/cmd/jaeger
# v1.75.0 from the Go module proxy, a few minutes and ~2 GB of RAM) and reused by every clone.
# `start` and `status` print the settings in use on stdout (KEY=VALUE lines).
# Exit status 3: Jaeger cannot be built on this machine (no Go, or a Go too old); the reason
# is on stderr.
set -euo pipefail

SERVICE_NAME=jaeger
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

JAEGER_MODULE=github.com/jaegertracing/jaeger
JAEGER_VERSION=v1.75.0 # the module version; the binary is Jaeger v2
GO_MINIMUM=1.24.6      # the `go` line of that module's go.mod
BIN_DIR="${TAURO_JAEGER_BIN_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/tauro/jaeger-$JAEGER_VERSION}"
BIN="$BIN_DIR/jaeger"
CONFIG="$REPO_ROOT/deploy/jaeger/config.yaml"
HOME_DIR="$INFRA_DIR/jaeger"
PID_FILE="$HOME_DIR/jaeger.pid"
LOG_FILE="$HOME_DIR/jaeger.log"
PORTS_FILE="$HOME_DIR/ports.env"
PATTERN="$BIN --config"
START_TIMEOUT=60
CANNOT_BUILD=3

# The ports of this start; `status`/`stop` of a running Jaeger use the ones recorded at its start.
OTLP_GRPC_PORT="${TAURO_JAEGER_OTLP_GRPC_PORT:-4317}"
OTLP_HTTP_PORT="${TAURO_JAEGER_OTLP_HTTP_PORT:-4318}"
QUERY_PORT="${TAURO_JAEGER_QUERY_PORT:-16686}"
QUERY_GRPC_PORT="${TAURO_JAEGER_QUERY_GRPC_PORT:-16685}"

cannot_build() { log "ERROR: cannot build Jaeger on this machine: $*"; exit "$CANNOT_BUILD"; }

# version_at_least HAVE WANT: true when dotted version HAVE >= WANT.
version_at_least() {
    [[ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n 1)" == "$2" ]]
}

cmd_build() {
    if [[ -x "$BIN" ]]; then
        log "already built: $BIN"
        return 0
    fi
    command -v go >/dev/null || cannot_build "Go $GO_MINIMUM+ is needed (https://go.dev/dl) and 'go' is not on PATH"
    local have
    have="$(go env GOVERSION 2>/dev/null | sed 's/^go//')"
    if ! version_at_least "$have" "$GO_MINIMUM" && [[ "$(go env GOTOOLCHAIN)" == local* ]]; then
        cannot_build "Go $have is older than the $GO_MINIMUM Jaeger $JAEGER_VERSION needs (and GOTOOLCHAIN=local forbids fetching a newer one)"
    fi
    mkdir -p "$BIN_DIR"
    # One build at a time per user (two clones starting at once build once).
    exec 8>"$BIN_DIR/.build.lock"
    flock -w 1800 8 || die "another build holds $BIN_DIR/.build.lock"
    if [[ -x "$BIN" ]]; then
        exec 8>&-
        return 0
    fi
    local work="$BIN_DIR/build.$$" source t0=$SECONDS
    rm -rf "$work"
    mkdir -p "$work"
    log "building Jaeger $JAEGER_VERSION with Go $have into $BIN (first time only: several minutes)"
    # `go install module/cmd@version` refuses modules whose go.mod has replace directives (Jaeger's
    # has one), so the module is downloaded and built as the main module, honouring them.
    source="$(cd "$work" && go mod download -json "$JAEGER_MODULE@$JAEGER_VERSION" 2>>"$work/build.log" \
        | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')" || true
    [[ -n "$source" && -d "$source" ]] \
        || { tail -n 20 "$work/build.log" >&2; die "could not download $JAEGER_MODULE@$JAEGER_VERSION from the Go module proxy"; }
    (cd "$source" && GOFLAGS=-mod=readonly go build -trimpath -buildvcs=false \
        -ldflags "-s -w -X $JAEGER_MODULE/internal/version.latestVersion=$JAEGER_VERSION" \
        -o "$work/jaeger" ./cmd/jaeger) >>"$work/build.log" 2>&1 \
        || { tail -n 30 "$work/build.log" >&2; cp "$work/build.log" "$BIN_DIR/last-build.log" || true; rm -rf "$work"; die "go build failed (log: $BIN_DIR/last-build.log)"; }
    mv "$work/jaeger" "$BIN"
    rm -rf "$work"
    exec 8>&-
    log "built in $((SECONDS - t0))s: $BIN"
}

print_settings() {
    cat "$PORTS_FILE"
}

# Ready = the query API answers (the storage and query extensions are up; the receivers start
# before the extensions report ready) and the OTLP HTTP receiver listens.
jaeger_ready() {
    port_in_use "$OTLP_HTTP_PORT" || return 1
    curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:$QUERY_PORT/api/services"
}

load_recorded_ports() {
    if [[ -f "$PORTS_FILE" ]]; then
        # shellcheck disable=SC1090  # written by cmd_start
        source "$PORTS_FILE"
        OTLP_GRPC_PORT="$TAURO_JAEGER_OTLP_GRPC_PORT" OTLP_HTTP_PORT="$TAURO_JAEGER_OTLP_HTTP_PORT"
        QUERY_PORT="$TAURO_JAEGER_QUERY_PORT" QUERY_GRPC_PORT="$TAURO_JAEGER_QUERY_GRPC_PORT"
    fi
}

cmd_start() {
    if pid_alive "$PID_FILE" "$PATTERN"; then
        load_recorded_ports
        log "already running (pid $(<"$PID_FILE")), query API http://127.0.0.1:$QUERY_PORT"
        print_settings
        return 0
    fi
    rm -f "$PID_FILE"
    command -v curl >/dev/null || die "curl is required (readiness check)"
    local p
    for p in "$OTLP_GRPC_PORT" "$OTLP_HTTP_PORT" "$QUERY_PORT" "$QUERY_GRPC_PORT"; do
        if port_in_use "$p"; then die "port $p is already in use by another process"; fi
    done
    cmd_build
    mkdir -p "$HOME_DIR"
    cat >"$PORTS_FILE" <<EOF
TAURO_JAEGER_OTLP_GRPC_PORT=$OTLP_GRPC_PORT
TAURO_JAEGER_OTLP_HTTP_PORT=$OTLP_HTTP_PORT
TAURO_JAEGER_QUERY_PORT=$QUERY_PORT
TAURO_JAEGER_QUERY_GRPC_PORT=$QUERY_GRPC_PORT
OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:$OTLP_HTTP_PORT
JAEGER_QUERY_URL=http://127.0.0.1:$QUERY_PORT
EOF
    log "starting: OTLP http 127.0.0.1:$OTLP_HTTP_PORT grpc :$OTLP_GRPC_PORT, query http://127.0.0.1:$QUERY_PORT (log: $LOG_FILE)"
    # setsid: own session, so Jaeger outlives the calling shell or job. The config reads the
    # addresses from these variables (deploy/jaeger/config.yaml).
    JAEGER_LISTEN_HOST=127.0.0.1 TAURO_JAEGER_OTLP_GRPC_PORT="$OTLP_GRPC_PORT" \
        TAURO_JAEGER_OTLP_HTTP_PORT="$OTLP_HTTP_PORT" TAURO_JAEGER_QUERY_PORT="$QUERY_PORT" \
        TAURO_JAEGER_QUERY_GRPC_PORT="$QUERY_GRPC_PORT" \
        setsid "$BIN" --config "$CONFIG" >>"$LOG_FILE" 2>&1 </dev/null 9>&- &
    echo $! >"$PID_FILE"
    local t0=$SECONDS
    wait_ready "$START_TIMEOUT" "$PID_FILE" "$PATTERN" "$LOG_FILE" jaeger_ready \
        || { cmd_stop >/dev/null 2>&1; die "Jaeger did not become ready"; }
    log "ready in $((SECONDS - t0))s (pid $(<"$PID_FILE")): UI and query API http://127.0.0.1:$QUERY_PORT"
    print_settings
}

cmd_stop() { stop_pid "$PID_FILE" "$PATTERN"; }

cmd_status() {
    if pid_alive "$PID_FILE" "$PATTERN"; then
        load_recorded_ports
        log "running (pid $(<"$PID_FILE")), query API http://127.0.0.1:$QUERY_PORT"
        print_settings
    else
        log "not running"
        return 1
    fi
}

case "${1:-}" in
    build) cmd_build ;;
    start) take_lock "$HOME_DIR" && cmd_start ;;
    stop) take_lock "$HOME_DIR" && cmd_stop ;;
    status) cmd_status ;;
    *) echo "usage: $0 build|start|stop|status" >&2; exit 2 ;;
esac
