#!/usr/bin/env bash
# Lowest-versions check: are the lower bounds in the members' pyproject.toml files true?
#
# Resolves every workspace member (libs/*, services/*, apps/*, with all their extras) at the
# LOWEST version each direct dependency allows (uv --resolution lowest-direct; transitive
# dependencies at their highest), installs that into a scratch venv, imports every module of
# every package and runs tests/unit against it. Then the same for tauro-client alone (what
# `pip install tauro-client` gets: tauro-contracts, httpx, pydantic). A bound that is too low
# fails here with the ImportError or the failing test.
#
# Never touches .venv or uv.lock: its venvs and requirement files live in
# ${TAURO_CACHE_DIR:-.cache}/lowest. Idempotent: a second run reuses the venvs and uv's cache.
#   TAURO_LOWEST_TESTS=0        imports only, no unit tests
#   TAURO_LOWEST_PYTHON=3.11    the interpreter (default: the lowest one requires-python allows)
# Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
UV=(python3 -m uv)
CACHE_DIR="${TAURO_CACHE_DIR:-$ROOT/.cache}"
WORK="$CACHE_DIR/lowest"
PYTHON_VERSION="${TAURO_LOWEST_PYTHON:-3.11}"
mkdir -p "$WORK"
log() { printf '[lowest] %s\n' "$*" >&2; }

python3 -m uv --version >/dev/null 2>&1 || python3 -m pip install --quiet --disable-pip-version-check uv

# Documents committed in the repository and compared byte for byte with what the locked
# versions generate (pydantic's JSON Schema output changes between releases, e.g. whether a
# dict gets "additionalProperties": true): they are checked by `make test`, not here.
DESELECT=(
    --deselect tests/unit/gateway/test_openapi_document.py::test_committed_openapi_is_current
    --deselect tests/unit/test_event_contract_docs.py::test_committed_schemas_are_current
)

# requirements_in KIND: the input requirements. "server": every member, editable, with all its
# extras, plus the dev group (the unit tests use it: its bounds are checked too); "client":
# tauro-client alone.
requirements_in() {
    python3 - "$1" <<'EOF'
import re
import sys
import tomllib
from pathlib import Path

kind = sys.argv[1]
root = tomllib.loads(Path("pyproject.toml").read_text())
members = sorted(p.parent for pattern in root["tool"]["uv"]["workspace"]["members"] for p in Path().glob(f"{pattern}/pyproject.toml"))
if kind == "client":
    members = [Path("libs/contracts"), Path("libs/client")]
for member in members:
    extras = sorted(tomllib.loads((member / "pyproject.toml").read_text())["project"].get("optional-dependencies", {}))
    print(f"-e ./{member.as_posix()}" + (f"[{','.join(extras)}]" if extras else ""))
if kind == "server":
    workspace = set(root["tool"]["uv"]["sources"])
    print("\n".join(r for r in root["dependency-groups"]["dev"] if re.match(r"[A-Za-z0-9_.-]+", r)[0] not in workspace))
EOF
}

# prepare KIND: resolve the lowest direct versions and sync the KIND venv to exactly them.
prepare() {
    local kind="$1" venv="$WORK/venv-$1"
    requirements_in "$kind" >"$WORK/$kind.in"
    # --upgrade: ignore the previous output file's pins (uv pip compile prefers them otherwise).
    "${UV[@]}" pip compile --quiet --upgrade --resolution lowest-direct --python "$PYTHON_VERSION" --no-header \
        --no-annotate "$WORK/$kind.in" -o "$WORK/$kind-lowest.txt"
    if [[ ! -x "$venv/bin/python" ]]; then "${UV[@]}" venv --quiet --python "$PYTHON_VERSION" "$venv"; fi
    # --python, not VIRTUAL_ENV: under `python3 -m uv` the parent interpreter would win.
    "${UV[@]}" pip sync --quiet --python "$venv/bin/python" "$WORK/$kind-lowest.txt"
}

# import_all KIND PACKAGE...: import every module of the packages in the KIND venv.
import_all() {
    local kind="$1"
    shift
    "$WORK/venv-$kind/bin/python" - "$@" <<'EOF'
import importlib
import pkgutil
import sys

failed, count = [], 0
for top in sys.argv[1:]:
    package = importlib.import_module(top)
    for name in [top] + [m.name for m in pkgutil.walk_packages(package.__path__, top + ".")]:
        if name.rsplit(".", 1)[-1] == "__main__":
            continue
        count += 1
        try:
            importlib.import_module(name)
        except Exception as exc:  # noqa: BLE001 - every failure is reported
            failed.append(f"{name}: {type(exc).__name__}: {exc}")
print(f"[lowest] imported {count - len(failed)}/{count} modules of {', '.join(sys.argv[1:])}", file=sys.stderr)
for line in failed:
    print(f"[lowest] FAIL {line}", file=sys.stderr)
sys.exit(1 if failed else 0)
EOF
}

packages() {  # the import packages of all members: libs/*/src/<package>, services/..., apps/...
    for dir in libs/*/src/*/ services/*/src/*/ apps/*/src/*/; do
        [[ -f "$dir/__init__.py" ]] && basename "$dir"
    done
}

start=$SECONDS
log "resolving every member at its lowest direct versions (Python $PYTHON_VERSION, $WORK)"
prepare server
log "$(grep -c '==' "$WORK/server-lowest.txt") packages pinned in $WORK/server-lowest.txt"
mapfile -t all_packages < <(packages)
import_all server "${all_packages[@]}"

log "tauro-client alone at its lowest direct versions"
prepare client
import_all client tauro_contracts tauro_client

if [[ "${TAURO_LOWEST_TESTS:-1}" != 0 ]]; then
    log "tests/unit against the lowest versions"
    set +e
    "$WORK/venv-server/bin/python" -m pytest -q -p no:cacheprovider tests/unit "${DESELECT[@]}" "$@"
    code=$?
    set -e
    if [[ $code -ne 0 ]]; then
        log "FAILED: tests/unit against the lowest direct versions ($WORK/server-lowest.txt)"
        exit "$code"
    fi
fi
log "ok in $((SECONDS - start)) s: the lower bounds hold"
