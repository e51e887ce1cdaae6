#!/usr/bin/env bash
# Helm v4 for the chart tests (tests/deploy/test_helm.py), built from source through the
# Go module proxy (GitHub release downloads are not needed). Idempotent: the binary is
# cached per user, outside the clone, so a fresh clone (CI) reuses it.
#
# Usage: scripts/infra/helm.sh [build|path]
#   build (default)  build helm if the cached binary is missing, then print its path
#   path             print the path of the cached binary, build nothing
# Output (stdout), for `eval`:
#   TAURO_HELM=$HOME/.cache/tauro/helm-v4.3.2/helm
# When no binary can be had it prints TAURO_HELM_SKIP='<why>' instead and exits 0.
#
# Settings: TAURO_HELM_VERSION (default v4.3.2; v4.2.4 if a release needs a newer Go
# than the local one), TAURO_HELM_CACHE (default ${XDG_CACHE_HOME:-$HOME/.cache}/tauro).
# The build uses the local Go toolchain only (GOTOOLCHAIN=local): Go 1.26+ (helm v4.3's
# go.mod says go 1.26.0); Debian's golang-go (1.19 on bookworm) is too old to help.
set -euo pipefail

SERVICE_NAME=helm
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

HELM_VERSION="${TAURO_HELM_VERSION:-v4.3.2}"
HELM_CACHE="${TAURO_HELM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/tauro}"
HELM_DIR="$HELM_CACHE/helm-$HELM_VERSION"
HELM_BIN="$HELM_DIR/helm"

skip() {
    log "no helm: $1"
    printf "TAURO_HELM_SKIP=%q\n" "$1"
    exit 0
}

find_go() {
    if command -v go >/dev/null 2>&1; then command -v go; return 0; fi
    if [[ -x /usr/local/go/bin/go ]]; then echo /usr/local/go/bin/go; return 0; fi
    return 1
}

build_helm() {
    [[ -x "$HELM_BIN" ]] && return 0
    local go
    go="$(find_go)" || skip "Go not found (Go 1.26+ builds helm $HELM_VERSION from the module proxy)"
    take_lock "$HELM_DIR" 1800  # another build (scripts/test.sh builds ahead in the background)
    [[ -x "$HELM_BIN" ]] && return 0  # built by whoever held the lock
    log "building helm $HELM_VERSION with $("$go" version) (first time only, about 2-4 min)"
    local tmp="$HELM_DIR/.build.$$"
    mkdir -p "$tmp"
    # The version string `helm version` prints is set the way helm's own Makefile sets it.
    if ! GOTOOLCHAIN=local GOBIN="$tmp" CGO_ENABLED=0 GOFLAGS=-trimpath \
        "$go" install -ldflags "-s -w -X helm.sh/helm/v4/internal/version.version=$HELM_VERSION" \
        "helm.sh/helm/v4/cmd/helm@$HELM_VERSION" >&2; then
        rm -rf "$tmp"
        skip "go install helm.sh/helm/v4/cmd/helm@$HELM_VERSION failed (module proxy unreachable, or Go too old?)"
    fi
    mv "$tmp/helm" "$HELM_BIN"  # atomic: a half-built binary is never at $HELM_BIN
    rm -rf "$tmp"
}

case "${1:-build}" in
    build) build_helm ;;
    path) ;;
    *) die "usage: $0 [build|path]" ;;
esac
[[ -x "$HELM_BIN" ]] || skip "helm $HELM_VERSION not built (scripts/infra/helm.sh build)"
log "helm: $HELM_BIN ($("$HELM_BIN" version --short 2>/dev/null || echo 'version unknown'))"
echo "TAURO_HELM=$HELM_BIN"
