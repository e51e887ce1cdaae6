#!/usr/bin/env bash
# Builds composecheck (compose-go v2.16.2, from the Go module proxy) once per user and per
# source version, and prints the binary's path. Cache:
#   ${XDG_CACHE_HOME:-$HOME/.cache}/tauro/composecheck-<hash of go.mod, go.sum, main.go>/composecheck
# so a fresh clone reuses it. Exits non-zero saying why when Go is missing or the build fails.
set -euo pipefail
SRC="$(cd "$(dirname "$0")" && pwd)"
command -v go >/dev/null 2>&1 || { echo "composecheck: Go is not installed (needed to build compose-go)" >&2; exit 3; }
hash="$(cat "$SRC/go.mod" "$SRC/go.sum" "$SRC/main.go" | sha256sum | cut -c1-16)"
DEST="${XDG_CACHE_HOME:-$HOME/.cache}/tauro/composecheck-$hash"
BIN="$DEST/composecheck"
if [[ ! -x "$BIN" ]]; then
    mkdir -p "$DEST"
    echo "composecheck: building into $DEST (first time only)" >&2
    tmp="$(mktemp "$DEST/.build.XXXXXX")"
    trap 'rm -f "$tmp"' EXIT
    (cd "$SRC" && GOTOOLCHAIN=local GOFLAGS=-mod=readonly go build -buildvcs=false -trimpath -o "$tmp" .)
    mv -f "$tmp" "$BIN"  # atomic: a concurrent run sees either no binary or a whole one
fi
echo "$BIN"
