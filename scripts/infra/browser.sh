#!/usr/bin/env bash
# A headless browser for the browser tests (tests/browser.py): Chromium and its
# WebDriver from Debian's packages. Idempotent: installs only what is missing.
#
# Usage: scripts/infra/browser.sh [install|path]
#   install (default)  install chromium + chromium-driver if missing (apt-get, as root,
#                      on Debian), then print the two paths
#   path               print the paths of what is installed, install nothing
# Output (stdout), one per line, for `eval`:
#   TAURO_CHROMIUM=/usr/bin/chromium
#   TAURO_CHROMEDRIVER=/usr/bin/chromedriver
# When no browser can be had it prints TAURO_BROWSER_SKIP='<why>' instead and exits 0,
# so the test suite still runs and the browser tests skip saying why.
set -euo pipefail

SERVICE_NAME=browser
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

find_first() {
    local name
    for name in "$@"; do
        if command -v "$name" >/dev/null 2>&1; then command -v "$name"; return 0; fi
    done
    return 1
}

find_browser() { find_first chromium chromium-browser google-chrome-stable google-chrome; }
find_driver() { find_first chromedriver chromium-driver; }

skip() {
    log "no browser: $1"
    printf "TAURO_BROWSER_SKIP=%q\n" "$1"
    exit 0
}

install_browser() {
    if find_browser >/dev/null && find_driver >/dev/null; then return 0; fi
    [[ -r /etc/debian_version ]] || skip "not a Debian system: install Chromium and chromedriver yourself"
    command -v apt-get >/dev/null 2>&1 || skip "apt-get not found"
    [[ "$(id -u)" == 0 ]] || skip "installing Chromium needs root (apt-get install chromium chromium-driver)"
    log "installing chromium and chromium-driver with apt-get (first time only)"
    export DEBIAN_FRONTEND=noninteractive
    # An install from stale lists can fail on a package the mirror no longer has: update first.
    if ! apt-get update -qq >&2; then
        skip "apt-get update failed (no package mirror reachable?)"
    fi
    if ! apt-get install -y -qq --no-install-recommends chromium chromium-driver >&2; then
        skip "apt-get install chromium chromium-driver failed"
    fi
}

case "${1:-install}" in
    install) install_browser ;;
    path) ;;
    *) die "usage: $0 [install|path]" ;;
esac
browser="$(find_browser)" || skip "chromium not installed (scripts/infra/browser.sh install)"
driver="$(find_driver)" || skip "chromedriver not installed (scripts/infra/browser.sh install)"
log "chromium: $browser ($("$browser" --version 2>/dev/null || echo 'version unknown'))"
echo "TAURO_CHROMIUM=$browser"
echo "TAURO_CHROMEDRIVER=$driver"
