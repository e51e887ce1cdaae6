#!/usr/bin/env bash
# Writes the secrets compose.yaml needs into .env (or the file given), once:
#   TAURO_DEPLOY_SECRET_KEY           the deployment's SECRET_KEY (signs tokens, keys API key hashes)
#   TAURO_DEPLOY_ADMIN_API_KEY        a first admin API key of that deployment (TAURO_ADMIN_API_KEY:
#                                     the runs service registers it at start-up; send it as X-API-Key)
#   TAURO_DEPLOY_GRAFANA_PASSWORD     Grafana's admin password
# Idempotent: a value already in the file is never overwritten (a new SECRET_KEY would
# invalidate every key and token); only missing ones are appended. The names carry a
# TAURO_DEPLOY_ prefix on purpose: pydantic settings also read ./.env, so plain SECRET_KEY /
# TAURO_ADMIN_API_KEY there would leak into `make run`, `make up` and the tests.
# Needs only python3 (the key format comes from libs/platform/src/tauro_platform/apikeys.py,
# which is standard library only). Usage: scripts/compose-env.sh [ENV_FILE]   (make compose-env)
set -euo pipefail
REPO_ROOT="$(cd "$(dirname "$0")/.." && pwd)"
ENV_FILE="${1:-$REPO_ROOT/.env}"
PY="${PYTHON:-python3}"

value_of() {  # value_of NAME: the value of NAME in ENV_FILE (last assignment wins), empty if absent
    [[ -f "$ENV_FILE" ]] || return 0
    sed -n "s/^[[:space:]]*$1[[:space:]]*=[[:space:]]*//p" "$ENV_FILE" | tail -n 1 | sed "s/^[\"']//; s/[\"']\$//"
}

append() {  # append NAME VALUE
    umask 077
    if [[ -s "$ENV_FILE" && -n "$(tail -c 1 "$ENV_FILE")" ]]; then printf '\n' >> "$ENV_FILE"; fi
    printf '%s=%s\n' "$1" "$2" >> "$ENV_FILE"
    chmod go-rwx "$ENV_FILE"  # it holds secrets
    echo "compose-env: wrote $1 to $ENV_FILE" >&2
}

secret="$(value_of TAURO_DEPLOY_SECRET_KEY)"
admin_key="$(value_of TAURO_DEPLOY_ADMIN_API_KEY)"
if [[ -z "$secret" && -n "$admin_key" ]]; then
    echo "compose-env: $ENV_FILE has TAURO_DEPLOY_ADMIN_API_KEY but no TAURO_DEPLOY_SECRET_KEY;" \
         "the key belongs to a secret that is gone: remove the key line and run again" >&2
    exit 1
fi
if [[ -z "$secret" ]]; then
    secret="$("$PY" -c 'import secrets; print(secrets.token_urlsafe(48))')"
    append TAURO_DEPLOY_SECRET_KEY "$secret"
fi

# The admin key must be a key of this deployment (its tag is derived from the secret):
# generate it, or check the one already there.
export PYTHONPATH="$REPO_ROOT/libs/platform/src" TAURO_SECRET="$secret" TAURO_KEY="$admin_key"
if [[ -z "$admin_key" ]]; then
    append TAURO_DEPLOY_ADMIN_API_KEY "$("$PY" -c \
        'import os; from tauro_platform import apikeys; print(apikeys.new_key(os.environ["TAURO_SECRET"]).key)')"
elif ! "$PY" -c 'import os, sys; from tauro_platform import apikeys
try:
    sys.exit(apikeys.key_id_of(os.environ["TAURO_SECRET"], os.environ["TAURO_KEY"]) is None)
except apikeys.ForeignKey:
    sys.exit(1)'; then
    echo "compose-env: TAURO_DEPLOY_ADMIN_API_KEY in $ENV_FILE is not a key of its TAURO_DEPLOY_SECRET_KEY" >&2
    exit 1
fi

if [[ -z "$(value_of TAURO_DEPLOY_GRAFANA_PASSWORD)" ]]; then
    append TAURO_DEPLOY_GRAFANA_PASSWORD "$("$PY" -c 'import secrets; print(secrets.token_urlsafe(18))')"
fi
echo "compose-env: $ENV_FILE is ready (admin API key: TAURO_DEPLOY_ADMIN_API_KEY)" >&2
