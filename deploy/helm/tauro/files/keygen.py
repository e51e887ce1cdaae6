"""Create the Tauro auth Secret once: a random SECRET_KEY and a first admin API key.

Run by the chart's pre-install/pre-upgrade hook Job (templates/keygen-job.yaml) in the
Tauro image, so the key is made by Tauro's own code (``tauro keygen``'s format: it
carries a tag derived from SECRET_KEY with HMAC, which a Helm template cannot compute).
Talks to the Kubernetes API with the pod's service-account token. Idempotent: an
existing Secret is left untouched (keys survive upgrades); a Secret created meanwhile by
a concurrent run (409) counts as done.

Environment: TAURO_AUTH_SECRET (the Secret's name), TAURO_SECRET_KEY_KEY and
TAURO_ADMIN_API_KEY_KEY (its keys), TAURO_SECRET_LABELS (JSON object, optional);
KUBERNETES_API_URL and TAURO_SERVICEACCOUNT_DIR override the in-cluster defaults.
"""

from __future__ import annotations

import json
import os
import secrets
import ssl
import sys
import urllib.error
import urllib.request
from pathlib import Path

from tauro_platform import apikeys

SA_DIR = Path(os.environ.get("TAURO_SERVICEACCOUNT_DIR", "/var/run/secrets/kubernetes.io/serviceaccount"))


def api_base() -> str:
    if url := os.environ.get("KUBERNETES_API_URL"):
        return url.rstrip("/")
    host = os.environ["KUBERNETES_SERVICE_HOST"]
    if ":" in host:  # an IPv6 address
        host = f"[{host}]"
    return f"https://{host}:{os.environ.get('KUBERNETES_SERVICE_PORT', '443')}"


def call(method: str, url: str, body: dict[str, object] | None = None) -> int:
    """The HTTP status of one API request (errors included)."""
    token = (SA_DIR / "token").read_text().strip()
    request = urllib.request.Request(url, method=method, data=None if body is None else json.dumps(body).encode(),
                                     headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json",
                                              "Accept": "application/json"})
    context = ssl.create_default_context(cafile=str(SA_DIR / "ca.crt")) if url.startswith("https:") else None
    try:
        with urllib.request.urlopen(request, timeout=30, context=context) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def main() -> int:
    name = os.environ["TAURO_AUTH_SECRET"]
    namespace = (SA_DIR / "namespace").read_text().strip()
    secrets_url = f"{api_base()}/api/v1/namespaces/{namespace}/secrets"
    status = call("GET", f"{secrets_url}/{name}")
    if status == 200:
        print(f"Secret {namespace}/{name} exists: kept as it is")
        return 0
    if status != 404:
        print(f"reading Secret {namespace}/{name} failed: HTTP {status}", file=sys.stderr)
        return 1
    secret_key = secrets.token_urlsafe(48)
    admin_key = apikeys.new_key(secret_key).key
    body: dict[str, object] = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "labels": json.loads(os.environ.get("TAURO_SECRET_LABELS") or "{}")},
        "type": "Opaque",
        "stringData": {
            os.environ.get("TAURO_SECRET_KEY_KEY", "SECRET_KEY"): secret_key,
            os.environ.get("TAURO_ADMIN_API_KEY_KEY", "TAURO_ADMIN_API_KEY"): admin_key,
        },
    }
    status = call("POST", secrets_url, body)
    if status in (200, 201):
        print(f"Secret {namespace}/{name} created with SECRET_KEY and a first admin API key")
        return 0
    if status == 409:
        print(f"Secret {namespace}/{name} was created meanwhile: kept as it is")
        return 0
    print(f"creating Secret {namespace}/{name} failed: HTTP {status}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
