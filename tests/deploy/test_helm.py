"""The Helm chart (deploy/helm/tauro) as an operator meets it.

Helm v4 itself (built from the Go module proxy by scripts/infra/helm.sh, cached per user)
lints the chart and renders it with the default values and with the scale-out values
(ci/scale-out-values.yaml); the rendered manifests are checked for what the issue asks
(probes, resources, non-root security contexts, secrets by reference, a
PodDisruptionBudget per service, every executor replica on the same ReadWriteMany
volume) and validated offline against the Kubernetes JSON schemas of two Kubernetes
versions (kubernetes-validate bundles them). The ServiceMonitor's CRD is not in those
schemas: its shape is checked by hand. The keygen hook's script is run against a small
fake Kubernetes API.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from tauro_platform import apikeys
from tauro_platform.settings import Settings

# A first build of helm (no cached binary, e.g. CI on a new machine) compiles for minutes.
pytestmark = pytest.mark.timeout(1800)

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "deploy" / "helm" / "tauro"
SCALE_OUT = CHART / "ci" / "scale-out-values.yaml"
SERVICES = ("gateway", "runs", "scheduler", "executor", "streaming", "notifier")
# The oldest Kubernetes the chart supports (Chart.yaml kubeVersion is >= 1.27) that is
# still common, and the newest schemas kubernetes-validate ships.
K8S_VERSIONS = ("1.30.0", kubernetes_validate.latest_version())
RELEASE = "prod"
Manifest = dict[str, Any]


@pytest.fixture(scope="session")
def helm() -> str:
    out = subprocess.run(["bash", str(ROOT / "scripts" / "infra" / "helm.sh"), "build"],
                         capture_output=True, text=True, timeout=1700, check=True).stdout
    found = dict(line.split("=", 1) for line in out.splitlines() if line.startswith("TAURO_HELM"))
    if "TAURO_HELM" not in found:
        pytest.skip(f"no helm binary: {found.get('TAURO_HELM_SKIP', out)}")
    return found["TAURO_HELM"]


def run_helm(helm: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HELM_CACHE_HOME": "/tmp/tauro-helm-test/cache",
           "HELM_CONFIG_HOME": "/tmp/tauro-helm-test/config", "HELM_DATA_HOME": "/tmp/tauro-helm-test/data"}
    return subprocess.run([helm, *args], capture_output=True, text=True, timeout=120, env=env)


def render(helm: str, *args: str) -> list[Manifest]:
    result = run_helm(helm, "template", RELEASE, str(CHART), "--namespace", "tauro", *args)
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


@pytest.fixture(scope="session")
def default_render(helm: str) -> list[Manifest]:
    return render(helm)


@pytest.fixture(scope="session")
def scale_out_render(helm: str) -> list[Manifest]:
    return render(helm, "-f", str(SCALE_OUT))


@pytest.fixture(params=["default", "scale-out"])
def rendered(request: pytest.FixtureRequest) -> list[Manifest]:
    return request.getfixturevalue("default_render" if request.param == "default" else "scale_out_render")


def of_kind(docs: list[Manifest], kind: str) -> dict[str, Manifest]:
    return {doc["metadata"]["name"]: doc for doc in docs if doc["kind"] == kind}


def deployments(docs: list[Manifest]) -> dict[str, Manifest]:
    """The Deployments by service (app.kubernetes.io/component)."""
    return {d["metadata"]["labels"]["app.kubernetes.io/component"]: d for d in of_kind(docs, "Deployment").values()}


def container(deployment: Manifest) -> Manifest:
    containers = deployment["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    return containers[0]


def env_of(deployment: Manifest) -> dict[str, Manifest]:
    return {item["name"]: item for item in container(deployment).get("env", [])}


def secret_ref(deployment: Manifest, name: str) -> tuple[str, str]:
    ref = env_of(deployment)[name]
    assert "value" not in ref, f"{name} is written into the Deployment instead of read from a Secret"
    key_ref = ref["valueFrom"]["secretKeyRef"]
    return key_ref["name"], key_ref["key"]


# --- helm lint ---------------------------------------------------------------------


@pytest.mark.parametrize("values", [None, SCALE_OUT], ids=["default", "scale-out"])
@pytest.mark.parametrize("strict", [False, True], ids=["lint", "lint-strict"])
def test_helm_lint(helm: str, values: Path | None, strict: bool) -> None:
    args = ["lint", str(CHART)] + (["--strict"] if strict else []) + (["-f", str(values)] if values else [])
    result = run_helm(helm, *args)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 chart(s) failed" in result.stdout
    assert "[ERROR]" not in result.stdout and "[WARNING]" not in result.stdout, result.stdout


def test_helm_is_v4(helm: str) -> None:
    result = run_helm(helm, "version", "--short")
    assert result.returncode == 0 and result.stdout.startswith("v4."), result.stdout + result.stderr


# --- what every service's Deployment has ----------------------------------------------


def test_a_deployment_per_service_running_its_module(rendered: list[Manifest]) -> None:
    found = deployments(rendered)
    assert sorted(found) == sorted(SERVICES)
    for service, deployment in found.items():
        assert container(deployment)["command"] == ["python", "-m", f"tauro_{service}"]
        assert env_of(deployment)["OTEL_SERVICE_NAME"]["value"] == f"tauro-{service}"


def test_every_deployment_has_probes_resources_and_runs_non_root(rendered: list[Manifest]) -> None:
    for service, deployment in deployments(rendered).items():
        pod = deployment["spec"]["template"]["spec"]
        main = container(deployment)
        ports = {p["name"]: p["containerPort"] for p in main["ports"]}
        assert ports["metrics"] == 9464, service
        for probe in ("livenessProbe", "readinessProbe"):
            assert main[probe]["httpGet"]["port"] in ports, (service, probe)
        assert main["livenessProbe"]["httpGet"] == {"path": "/metrics", "port": "metrics"}
        if service == "gateway":
            assert ports["http"] == 8000
            assert main["readinessProbe"]["httpGet"] == {"path": "/health", "port": "http"}
        else:
            assert main["readinessProbe"]["httpGet"] == {"path": "/metrics", "port": "metrics"}
        assert main["resources"]["requests"]["cpu"] and main["resources"]["requests"]["memory"], service
        assert main["resources"]["limits"]["memory"], service
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["runAsUser"] == 10001 and pod["securityContext"]["fsGroup"] == 10001
        assert main["securityContext"]["runAsNonRoot"] is True
        assert main["securityContext"]["allowPrivilegeEscalation"] is False
        assert main["securityContext"]["readOnlyRootFilesystem"] is True
        assert main["securityContext"]["capabilities"]["drop"] == ["ALL"]
        assert pod["automountServiceAccountToken"] is False
        # A read-only root needs somewhere to write: /tmp is an emptyDir (HOME points there).
        volumes = {v["name"]: v for v in pod["volumes"]}
        mounts = {m["mountPath"]: m["name"] for m in main["volumeMounts"]}
        assert "emptyDir" in volumes[mounts["/tmp"]]
        # The settings every service shares come from the chart's ConfigMap.
        assert main["envFrom"] == [{"configMapRef": {"name": f"{RELEASE}-tauro-config"}}]


def test_settings_the_chart_sets_are_tauro_settings(rendered: list[Manifest]) -> None:
    """A misspelt variable would be ignored silently (extra="ignore"): every name must be a
    setting of tauro_platform.settings.Settings (HOME aside)."""
    known = {name.upper() for name in Settings.model_fields}
    config = of_kind(rendered, "ConfigMap")[f"{RELEASE}-tauro-config"]["data"]
    names = set(config) - {"HOME"}
    for deployment in deployments(rendered).values():
        names |= set(env_of(deployment))
    assert names - known == set()
    assert config["TAURO_MODE"] == "distributed"
    assert config["METRICS_HOST"] == "0.0.0.0" and config["METRICS_PORT"] == "9464"


@pytest.mark.parametrize("service", SERVICES)
def test_each_pods_environment_is_valid_settings(scale_out_render: list[Manifest], service: str,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """The environment a pod gets (ConfigMap + its own env, Secrets filled in) passes
    Tauro's settings validation, production checks included."""
    for name in [n for n in os.environ if n.upper() in {f.upper() for f in Settings.model_fields}]:
        monkeypatch.delenv(name)
    secret_key = "k" * 48
    secret_values = {"SECRET_KEY": secret_key, "TAURO_ADMIN_API_KEY": apikeys.new_key(secret_key).key,
                     "MONGODB_URL": "mongodb://tauro:pw@tauro-mongodb-0.tauro-mongodb-svc:27017/admin?replicaSet=x",
                     "SMTP_USERNAME": "tauro", "SMTP_PASSWORD": "pw"}
    config = of_kind(scale_out_render, "ConfigMap")[f"{RELEASE}-tauro-config"]["data"]
    for name, value in config.items():
        monkeypatch.setenv(name, value)
    for name, item in env_of(deployments(scale_out_render)[service]).items():
        monkeypatch.setenv(name, item["value"] if "value" in item else secret_values[name])
    settings = Settings(_env_file=None)
    settings.check_for_production()
    assert settings.tauro_mode == "distributed" and settings.enable_auth is True
    assert settings.kafka_bootstrap_servers == "tauro-kafka-bootstrap.kafka.svc:9092"
    assert settings.kafka_partitions == 6 and settings.metrics_port == 9464
    assert settings.otel_service_name == f"tauro-{service}"
    if service == "gateway":
        assert (settings.host, settings.port) == ("0.0.0.0", 8000)
    if service == "executor":
        assert str(settings.tauro_work_dir) == "/data/work" and str(settings.tauro_output_dir) == "/data/output"
    if service == "notifier":
        assert (settings.smtp_host, settings.smtp_port, settings.smtp_starttls) == ("smtp.example.com", 587, True)


def test_secrets_are_referenced_not_inlined(default_render: list[Manifest], scale_out_render: list[Manifest]) -> None:
    for docs, auth_secret, mongo in (
        (default_render, f"{RELEASE}-tauro-auth", ("tauro-mongodb-admin-tauro", "connectionString.standard")),
        (scale_out_render, "tauro-auth", ("tauro-mongodb-admin-tauro", "connectionString.standard")),
    ):
        for service, deployment in deployments(docs).items():
            assert secret_ref(deployment, "SECRET_KEY") == (auth_secret, "SECRET_KEY"), service
            assert secret_ref(deployment, "MONGODB_URL") == mongo, service
            # Only the runs service registers the first admin key; nobody else gets it.
            if service == "runs":
                assert secret_ref(deployment, "TAURO_ADMIN_API_KEY") == (auth_secret, "TAURO_ADMIN_API_KEY")
            else:
                assert "TAURO_ADMIN_API_KEY" not in env_of(deployment)
        # Secrets from existing Secrets or the keygen hook: the chart renders none itself.
        assert of_kind(docs, "Secret") == {}
    # The generated default: a hook Job creates the Secret the Deployments read.
    job = of_kind(default_render, "Job")[f"{RELEASE}-tauro-keygen"]
    assert job["metadata"]["annotations"]["helm.sh/hook"] == "pre-install,pre-upgrade"
    keygen = job["spec"]["template"]["spec"]["containers"][0]
    # The script tested below, passed whole to the image's python.
    assert keygen["command"] == ["python", "-c", (CHART / "files" / "keygen.py").read_text()]
    job_env = {e["name"]: e.get("value") for e in keygen["env"]}
    assert job_env["TAURO_AUTH_SECRET"] == f"{RELEASE}-tauro-auth"
    role = of_kind(default_render, "Role")[f"{RELEASE}-tauro-keygen"]
    assert {"resources": ["secrets"], "resourceNames": [f"{RELEASE}-tauro-auth"], "verbs": ["get"],
            "apiGroups": [""]} in role["rules"]
    assert of_kind(scale_out_render, "Job") == {}  # existingSecret: no keygen


def test_secrets_from_values_go_into_the_charts_own_secrets(helm: str) -> None:
    secret_key = "s" * 48
    admin_key = apikeys.new_key(secret_key).key
    url = "mongodb://tauro:pw@mongo-0.mongo:27017/?replicaSet=rs0"
    docs = render(helm, "--set", f"auth.secretKey={secret_key}", "--set", f"auth.adminApiKey={admin_key}",
                  "--set", f"mongodb.url={url}")
    secrets = of_kind(docs, "Secret")
    assert secrets[f"{RELEASE}-tauro-auth"]["stringData"] == {
        "SECRET_KEY": secret_key, "TAURO_ADMIN_API_KEY": admin_key}
    assert secrets[f"{RELEASE}-tauro-mongodb"]["stringData"] == {"MONGODB_URL": url}
    assert of_kind(docs, "Job") == {}
    runs = deployments(docs)["runs"]
    assert secret_ref(runs, "MONGODB_URL") == (f"{RELEASE}-tauro-mongodb", "MONGODB_URL")
    assert url not in json.dumps([d for d in docs if d["kind"] != "Secret"])


# --- scale-out ------------------------------------------------------------------------


def test_scale_out_replicas_and_a_disruption_budget_per_service(scale_out_render: list[Manifest]) -> None:
    found = deployments(scale_out_render)
    assert {s: d["spec"]["replicas"] for s, d in found.items()} == {
        "gateway": 2, "runs": 2, "scheduler": 2, "executor": 3, "streaming": 2, "notifier": 2}
    budgets = of_kind(scale_out_render, "PodDisruptionBudget")
    assert len(budgets) == len(SERVICES)
    for service, deployment in found.items():
        budget = budgets[f"{RELEASE}-tauro-{service}"]
        assert budget["spec"]["maxUnavailable"] == 1
        selector = budget["spec"]["selector"]["matchLabels"]
        pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert selector.items() <= pod_labels.items(), service
        # ... and that budget covers this service's pods only.
        assert selector["app.kubernetes.io/component"] == service


def test_pdb_per_service_by_default(default_render: list[Manifest]) -> None:
    budgets = of_kind(default_render, "PodDisruptionBudget")
    assert sorted(b["spec"]["selector"]["matchLabels"]["app.kubernetes.io/component"] for b in budgets.values()) \
        == sorted(SERVICES)


def test_executor_replicas_share_one_read_write_many_volume(scale_out_render: list[Manifest]) -> None:
    executor = deployments(scale_out_render)["executor"]
    assert executor["spec"]["replicas"] == 3
    pod = executor["spec"]["template"]["spec"]
    # Every replica of the Deployment mounts the same claim: node outputs written by one
    # executor are read by the next node on another.
    work = next(v for v in pod["volumes"] if v["name"] == "work")
    claim = work["persistentVolumeClaim"]["claimName"]
    pvc = of_kind(scale_out_render, "PersistentVolumeClaim")[claim]
    assert pvc["spec"]["accessModes"] == ["ReadWriteMany"]
    assert pvc["spec"]["storageClassName"] == "nfs-client"
    assert pvc["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
    mount = next(m for m in container(executor)["volumeMounts"] if m["name"] == "work")["mountPath"]
    env = env_of(executor)
    assert env["TAURO_WORK_DIR"]["value"] == f"{mount}/work"
    assert env["TAURO_OUTPUT_DIR"]["value"] == f"{mount}/output"
    # The pause container is PID 1 and reaps the attempts' orphaned children.
    assert pod["shareProcessNamespace"] is True
    # Nobody else mounts it.
    for service, deployment in deployments(scale_out_render).items():
        if service != "executor":
            assert all("persistentVolumeClaim" not in v for v in deployment["spec"]["template"]["spec"]["volumes"])


def test_service_monitor_scrapes_every_services_metrics_port(scale_out_render: list[Manifest],
                                                             default_render: list[Manifest]) -> None:
    assert of_kind(default_render, "ServiceMonitor") == {}  # off by default
    (monitor,) = of_kind(scale_out_render, "ServiceMonitor").values()
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    assert monitor["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    spec = monitor["spec"]
    assert set(spec) == {"selector", "namespaceSelector", "endpoints"}
    assert spec["namespaceSelector"] == {"matchNames": ["tauro"]}
    assert spec["endpoints"] == [{"port": "metrics", "path": "/metrics", "interval": "30s", "scrapeTimeout": "10s"}]
    selector = spec["selector"]["matchLabels"]
    selected = [s for s in of_kind(scale_out_render, "Service").values()
                if selector.items() <= s["metadata"]["labels"].items()]
    assert sorted(s["metadata"]["labels"]["app.kubernetes.io/component"] for s in selected) == sorted(SERVICES)
    for service in selected:
        port = next(p for p in service["spec"]["ports"] if p["name"] == "metrics")
        assert port["targetPort"] == "metrics" and port["port"] == 9464
        pods = deployments(scale_out_render)[service["metadata"]["labels"]["app.kubernetes.io/component"]]
        assert service["spec"]["selector"].items() <= pods["spec"]["template"]["metadata"]["labels"].items()


def test_gateway_service_and_ingress(scale_out_render: list[Manifest]) -> None:
    gateway = of_kind(scale_out_render, "Service")[f"{RELEASE}-tauro-gateway"]
    assert {p["name"]: p["port"] for p in gateway["spec"]["ports"]} == {"http": 8000, "metrics": 9464}
    (ingress,) = of_kind(scale_out_render, "Ingress").values()
    backend = ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend == {"name": f"{RELEASE}-tauro-gateway", "port": {"name": "http"}}
    config = of_kind(scale_out_render, "ConfigMap")[f"{RELEASE}-tauro-config"]["data"]
    assert config["TAURO_PUBLIC_URL"] == "https://tauro.example.com"


# --- the Kubernetes schemas --------------------------------------------------------------


@pytest.mark.parametrize("k8s_version", K8S_VERSIONS)
def test_manifests_valid_against_kubernetes_schemas(rendered: list[Manifest], k8s_version: str) -> None:
    """Strict schemas: an unknown field (a typo, a misplaced key) is an error too."""
    checked = []
    for doc in rendered:
        if doc["apiVersion"].startswith("monitoring.coreos.com/"):
            continue  # a CRD: its shape is checked by test_service_monitor_...
        try:
            kubernetes_validate.validate(doc, k8s_version, strict=True)
        except kubernetes_validate.ValidationError as error:
            pytest.fail(f"{doc['kind']}/{doc['metadata']['name']} (Kubernetes {k8s_version}): "
                        f"{'.'.join(map(str, error.path))}: {error.message}")
        checked.append(doc["kind"])
    assert {"Deployment", "Service", "PodDisruptionBudget", "ConfigMap"} <= set(checked)


def test_the_validator_rejects_a_broken_manifest(default_render: list[Manifest]) -> None:
    """The schema check above can fail: a misplaced field and a wrong type are refused."""
    deployment = json.loads(json.dumps(deployments(default_render)["runs"]))
    container(deployment)["livenessProbe"]["httpGet"]["paht"] = "/metrics"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, K8S_VERSIONS[0], strict=True)
    deployment = json.loads(json.dumps(deployments(default_render)["runs"]))
    deployment["spec"]["replicas"] = "two"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, K8S_VERSIONS[0], strict=True)


# --- what the chart refuses ------------------------------------------------------------


@pytest.mark.parametrize(("args", "says"), [
    (["--set", "executor.replicas=3", "--set", "executor.sharedVolume.enabled=false"], "sharedVolume"),
    (["--set", "executor.replicas=2", "--set", "executor.sharedVolume.accessModes={ReadWriteOnce}"], "ReadWriteMany"),
    (["--set", "auth.secretKey=short"], "secretKey"),
    (["--set", "mongodb.existingSecret="], "mongodb"),
    (["--set", "executor.replica=3"], "replica"),
    (["--set", "config.corsAllowOrigins={*}"], "corsAllowOrigins"),
], ids=["executors-without-shared-volume", "executors-on-rwo", "short-secret", "no-mongodb", "typo", "cors-star"])
def test_values_that_cannot_work_are_refused(helm: str, args: list[str], says: str) -> None:
    result = run_helm(helm, "template", RELEASE, str(CHART), *args)
    assert result.returncode != 0
    assert says in result.stderr, result.stderr


# --- the keygen hook's script ------------------------------------------------------------


class FakeKubernetesAPI(BaseHTTPRequestHandler):
    """GET and POST of Secrets in one namespace, as much of the API as keygen.py uses."""

    secrets: dict[str, Manifest] = {}
    requests: list[tuple[str, str, str]] = []

    def _answer(self, status: int, body: Manifest) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self.requests.append(("GET", self.path, self.headers.get("Authorization", "")))
        name = self.path.rsplit("/", 1)[-1]
        if self.path.startswith("/api/v1/namespaces/tauro/secrets/") and name in self.secrets:
            self._answer(200, self.secrets[name])
        else:
            self._answer(404, {"kind": "Status", "code": 404})

    def do_POST(self) -> None:
        self.requests.append(("POST", self.path, self.headers.get("Authorization", "")))
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        name = body["metadata"]["name"]
        if self.path != "/api/v1/namespaces/tauro/secrets":
            self._answer(404, {"kind": "Status", "code": 404})
        elif name in self.secrets:
            self._answer(409, {"kind": "Status", "code": 409})
        else:
            self.secrets[name] = body
            self._answer(201, body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def fake_api() -> Iterator[str]:
    FakeKubernetesAPI.secrets = {}
    FakeKubernetesAPI.requests = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeKubernetesAPI)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_keygen_creates_the_auth_secret_once(fake_api: str, tmp_path: Path) -> None:
    (tmp_path / "token").write_text("sa-token\n")
    (tmp_path / "namespace").write_text("tauro")
    env = {**os.environ, "KUBERNETES_API_URL": fake_api, "TAURO_SERVICEACCOUNT_DIR": str(tmp_path),
           "TAURO_AUTH_SECRET": "prod-tauro-auth", "TAURO_SECRET_LABELS": '{"app.kubernetes.io/instance": "prod"}'}
    script = CHART / "files" / "keygen.py"

    first = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=60)
    assert first.returncode == 0, first.stderr
    secret = FakeKubernetesAPI.secrets["prod-tauro-auth"]
    data = secret["stringData"]
    assert len(data["SECRET_KEY"]) >= 32
    # A key of this deployment: what the runs service accepts as TAURO_ADMIN_API_KEY.
    assert apikeys.key_id_of(data["SECRET_KEY"], data["TAURO_ADMIN_API_KEY"]) is not None
    Settings(tauro_mode="distributed", secret_key=data["SECRET_KEY"],
             tauro_admin_api_key=data["TAURO_ADMIN_API_KEY"]).check_for_production()
    assert secret["metadata"]["labels"] == {"app.kubernetes.io/instance": "prod"}
    assert all(auth == "Bearer sa-token" for _, _, auth in FakeKubernetesAPI.requests)

    # An upgrade runs it again: the Secret (and every key issued under it) is kept.
    second = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=60)
    assert second.returncode == 0, second.stderr
    assert FakeKubernetesAPI.secrets["prod-tauro-auth"]["stringData"] == data
    assert [method for method, _, _ in FakeKubernetesAPI.requests] == ["GET", "POST", "GET"]
