"""compose.yaml, the Dockerfile and `make compose-env`, checked without a Docker engine.

compose.yaml is loaded by a real Compose implementation: `docker compose config` where the
plugin exists, otherwise compose-go (the library inside `docker compose`: schema validation,
interpolation, YAML merges, normalization, consistency checks) through tools/composecheck,
built once per user from the Go module proxy. The invariants an operator relies on are then
checked on the normalized model: health checks, init, restart policies, resources, pinned
images, the secrets from .env, the executors' shared volume, the observability tools wired to
the repo's files. The Dockerfile is parsed as text, and its dependency layer is replayed
with uv on exactly the files it copies.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import shlex
import shutil
import socket
import stat
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from tauro_platform import apikeys
from tauro_platform.observability.metrics import MetricsServer

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_ENV = ROOT / "scripts" / "compose-env.sh"
TAURO_SERVICES = ("gateway", "runs", "scheduler", "executor", "streaming", "notifier")
METRICS_PORT = 9464
GATEWAY_PORT = 8000
NAMED_PORTS = {"gateway": GATEWAY_PORT}  # the port each service's health check fetches /metrics from


# ---------------------------------------------------------------- loading compose.yaml


def _clean_env() -> dict[str, str]:
    """The process environment minus anything compose.yaml interpolates, so only the env file counts."""
    return {k: v for k, v in os.environ.items()
            if not k.startswith(("TAURO_DEPLOY_", "COMPOSE_")) and k not in ("SMTP_HOST", "LOG_LEVEL")}


def _docker_compose() -> bool:
    if shutil.which("docker") is None:
        return False
    probe = subprocess.run(["docker", "compose", "version"], capture_output=True, timeout=30)
    return probe.returncode == 0


@pytest.fixture(scope="module")
def compose_config() -> Iterator[Any]:
    """A function env_file -> (returncode, stdout, stderr) running the real compose loader."""
    if _docker_compose():
        def run(env_file: Path) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                ["docker", "compose", "--project-directory", str(ROOT), "-f", str(ROOT / "compose.yaml"),
                 "--env-file", str(env_file), "config", "--format", "json"],
                capture_output=True, text=True, timeout=120, env=_clean_env())
        yield run
        return
    if shutil.which("go") is None:
        pytest.skip("neither the docker compose plugin nor Go (to build compose-go) is available")
    build = subprocess.run(["bash", str(ROOT / "tools" / "composecheck" / "build.sh")],
                           capture_output=True, text=True, timeout=900)
    assert build.returncode == 0, f"building tools/composecheck failed:\n{build.stderr}"
    binary = build.stdout.strip().splitlines()[-1]

    def run_check(env_file: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [binary, "--project-directory", str(ROOT), "-f", str(ROOT / "compose.yaml"),
             "--env-file", str(env_file), "--no-os-env"],
            capture_output=True, text=True, timeout=120, env=_clean_env())
    yield run_check


@pytest.fixture(scope="module")
def env_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("compose") / ".env"
    subprocess.run(["bash", str(COMPOSE_ENV), str(path)], check=True, capture_output=True, timeout=60)
    return path


def _read_env(path: Path) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
    return {k.strip(): v.strip() for k, v in pairs}


@pytest.fixture(scope="module")
def model(compose_config: Any, env_file: Path) -> dict[str, Any]:
    result = compose_config(env_file)
    assert result.returncode == 0, f"compose.yaml does not load:\n{result.stderr}"
    loaded: dict[str, Any] = json.loads(result.stdout)
    return loaded


def _services(model: dict[str, Any]) -> dict[str, dict[str, Any]]:
    services: dict[str, dict[str, Any]] = model["services"]
    return services


# ---------------------------------------------------------------- make compose-env


def test_compose_env_writes_a_secret_and_a_valid_admin_key_once(tmp_path: Path) -> None:
    path = tmp_path / ".env"
    subprocess.run(["bash", str(COMPOSE_ENV), str(path)], check=True, capture_output=True)
    first = path.read_text()
    values = _read_env(path)
    secret, key = values["TAURO_DEPLOY_SECRET_KEY"], values["TAURO_DEPLOY_ADMIN_API_KEY"]
    assert len(secret) >= 32
    assert apikeys.key_id_of(secret, key) is not None  # a key of this deployment, as the services check
    assert values["TAURO_DEPLOY_GRAFANA_PASSWORD"]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600  # secrets: owner only

    subprocess.run(["bash", str(COMPOSE_ENV), str(path)], check=True, capture_output=True)
    assert path.read_text() == first  # idempotent: nothing regenerated, nothing overwritten


def test_compose_env_keeps_what_is_there_and_refuses_a_foreign_key(tmp_path: Path) -> None:
    path = tmp_path / ".env"
    own_secret = "s" * 40
    path.write_text(f"OTHER=1\nTAURO_DEPLOY_SECRET_KEY={own_secret}")  # no final newline
    subprocess.run(["bash", str(COMPOSE_ENV), str(path)], check=True, capture_output=True)
    values = _read_env(path)
    assert values["OTHER"] == "1" and values["TAURO_DEPLOY_SECRET_KEY"] == own_secret
    assert apikeys.key_id_of(own_secret, values["TAURO_DEPLOY_ADMIN_API_KEY"]) is not None

    foreign = tmp_path / "foreign.env"
    foreign.write_text(f"TAURO_DEPLOY_SECRET_KEY={'t' * 40}\n"
                       f"TAURO_DEPLOY_ADMIN_API_KEY={values['TAURO_DEPLOY_ADMIN_API_KEY']}\n")
    refused = subprocess.run(["bash", str(COMPOSE_ENV), str(foreign)], capture_output=True, text=True)
    assert refused.returncode != 0 and "not a key of" in refused.stderr


def test_compose_refuses_to_start_without_the_generated_env(compose_config: Any, tmp_path: Path) -> None:
    empty = tmp_path / "empty.env"
    empty.write_text("")
    result = compose_config(empty)
    assert result.returncode != 0
    assert "make compose-env" in result.stderr


# ---------------------------------------------------------------- the services


def test_the_tauro_services_are_those_of_make_up(model: dict[str, Any]) -> None:
    """compose.yaml and scripts/dist.sh (`make up`) run the same services the same way."""
    dist = (ROOT / "scripts" / "dist.sh").read_text()
    match = re.search(r"^SERVICES=\(([^)]*)\)", dist, re.MULTILINE)
    assert match is not None
    assert set(match.group(1).split()) == set(TAURO_SERVICES)
    built = {name for name, svc in _services(model).items() if "build" in svc}
    assert built == set(TAURO_SERVICES)
    for name in TAURO_SERVICES:
        svc = _services(model)[name]
        assert svc["command"] == ["python", "-m", f"tauro_{name}"]
        assert Path(svc["build"]["context"]).resolve() == ROOT
        assert svc["environment"]["OTEL_SERVICE_NAME"] == f"tauro-{name}"


def test_every_service_has_a_health_check(model: dict[str, Any]) -> None:
    for name, svc in _services(model).items():
        check = svc.get("healthcheck")
        assert check and check.get("test") and not check.get("disable"), f"{name} has no health check"
        assert check["test"][0] in ("CMD", "CMD-SHELL"), name
        assert check.get("interval") and check.get("timeout") and check.get("retries"), name


def test_tauro_health_checks_fetch_the_metrics_port_the_service_serves(model: dict[str, Any]) -> None:
    for name in TAURO_SERVICES:
        svc = _services(model)[name]
        env = svc["environment"]
        assert int(env["METRICS_PORT"]) == METRICS_PORT and env["METRICS_HOST"] == "0.0.0.0"
        port = NAMED_PORTS.get(name, METRICS_PORT)
        if name == "gateway":
            assert int(env["PORT"]) == GATEWAY_PORT and env["HOST"] == "0.0.0.0"
        probe = " ".join(svc["healthcheck"]["test"])
        assert f"http://127.0.0.1:{port}/metrics" in probe, f"{name}: {probe}"
        assert svc["healthcheck"].get("start_period"), name  # start-up (migrations) is not a failure


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_tauro_health_checks_pass_against_a_metrics_server_and_fail_without(model: dict[str, Any]) -> None:
    """Each Tauro service's health check command, run as written (only the port moved to a
    free one), against the platform's own MetricsServer: exit 0; with nothing listening: not 0."""
    server = MetricsServer("127.0.0.1", 0)
    server.start()
    closed = _free_port()
    try:
        for name in TAURO_SERVICES:
            test = _services(model)[name]["healthcheck"]["test"]
            assert test[:2] == ["CMD", "python"], name
            port = NAMED_PORTS.get(name, METRICS_PORT)

            def probe(to: int, args: list[str] = test[2:], port: int = port) -> int:
                argv = [sys.executable, *(a.replace(f":{port}/", f":{to}/") for a in args)]
                return subprocess.run(argv, capture_output=True, timeout=30).returncode

            assert probe(server.port) == 0, f"{name}: the health check fails against a live /metrics"
            assert probe(closed) != 0, f"{name}: the health check passes with nothing listening"
    finally:
        server.stop()


def test_tauro_services_run_under_an_init_with_restart_and_resources(model: dict[str, Any]) -> None:
    for name in TAURO_SERVICES:
        assert _services(model)[name].get("init") is True, f"{name}: no init as PID 1"
    for name, svc in _services(model).items():
        assert svc.get("restart") in ("unless-stopped", "always", "on-failure"), f"{name}: restart policy"
        resources = (svc.get("deploy") or {}).get("resources") or {}
        limits, reservations = resources.get("limits") or {}, resources.get("reservations") or {}
        assert limits.get("memory") and limits.get("cpus"), f"{name}: no resource limits"
        assert reservations.get("memory"), f"{name}: no memory reservation"
        assert int(reservations["memory"]) <= int(limits["memory"]), name


def test_every_tauro_service_gets_the_secret_key_and_the_admin_key(model: dict[str, Any], env_file: Path) -> None:
    values = _read_env(env_file)
    for name in TAURO_SERVICES:
        env = _services(model)[name]["environment"]
        assert env["TAURO_MODE"] == "distributed"  # authentication on
        assert env.get("ENABLE_AUTH", "true").lower() == "true"
        assert env["SECRET_KEY"] == values["TAURO_DEPLOY_SECRET_KEY"], name
        assert env["TAURO_ADMIN_API_KEY"] == values["TAURO_DEPLOY_ADMIN_API_KEY"], name
        assert env["KAFKA_BOOTSTRAP_SERVERS"] == "kafka:9092" and "mongo:27017" in env["MONGODB_URL"], name


def test_tauro_services_wait_for_healthy_kafka_and_mongodb(model: dict[str, Any]) -> None:
    services = _services(model)
    for name in TAURO_SERVICES:
        depends = services[name]["depends_on"]
        for infra in ("kafka", "mongo"):
            assert depends[infra]["condition"] == "service_healthy", f"{name} -> {infra}"
    assert services["grafana"]["depends_on"]["prometheus"]["condition"] == "service_healthy"


def test_executors_share_one_writable_volume_for_work_and_output(model: dict[str, Any]) -> None:
    executor = _services(model)["executor"]
    env = executor["environment"]
    mounts = [m for m in executor.get("volumes", []) if m["type"] == "volume"]
    assert mounts, "the executor mounts no named volume"
    work, output = Path(env["TAURO_WORK_DIR"]), Path(env["TAURO_OUTPUT_DIR"])
    shared = [m for m in mounts if work.is_relative_to(m["target"]) and output.is_relative_to(m["target"])]
    assert shared, f"TAURO_WORK_DIR {work} and TAURO_OUTPUT_DIR {output} are not on a named volume"
    mount = shared[0]
    assert not mount.get("read_only")
    assert mount["source"] in model["volumes"]  # a project volume: every replica gets the same one
    # Scaling (--scale executor=3) needs no fixed container name and no published host port.
    assert "container_name" not in executor and not executor.get("ports")
    # The image's user owns the mount point, so a new volume is writable by it.
    dockerfile = Dockerfile.parse(ROOT / "Dockerfile")
    assert dockerfile.owned_by_user(mount["target"]), f"{mount['target']} is not created for the image's user"
    for name in TAURO_SERVICES:  # nothing else writes inside the image's root-owned /app
        svc_env = _services(model)[name]["environment"]
        for var in ("TAURO_WORK_DIR", "TAURO_OUTPUT_DIR", "TAURO_DATA_DIR"):
            assert Path(svc_env[var]).is_relative_to(mount["target"]), f"{name} {var}"


def test_only_the_api_listens_beyond_the_loopback(model: dict[str, Any]) -> None:
    published: dict[str, list[tuple[str, int, int]]] = {}
    for name, svc in _services(model).items():
        for port in svc.get("ports") or []:
            published.setdefault(name, []).append((port.get("host_ip", ""), int(port["published"]), port["target"]))
    assert published["gateway"] == [("", GATEWAY_PORT, GATEWAY_PORT)]
    # The host addresses of scripts/infra/up.sh, so tests run against either.
    assert ("127.0.0.1", 19092, 19092) in published["kafka"]
    assert ("127.0.0.1", 27018, 27017) in published["mongo"]
    assert {p[1] for p in published["jaeger"]} == {16686, 4317, 4318}
    assert ("127.0.0.1", 9090, 9090) in published["prometheus"]
    assert ("127.0.0.1", 3000, 3000) in published["grafana"]
    for name in TAURO_SERVICES:  # `--scale <service>=N` needs no fixed host port and no fixed name
        assert name == "gateway" or name not in published, f"{name} publishes a host port"
        assert "container_name" not in _services(model)[name], name
    host_ports = [p[1] for ports in published.values() for p in ports]
    assert len(host_ports) == len(set(host_ports))
    for name, ports in published.items():
        if name != "gateway":
            assert all(ip == "127.0.0.1" for ip, _, _ in ports), f"{name} is published beyond the loopback"


# ---------------------------------------------------------------- images


PINNED = re.compile(r"^[a-z0-9./_-]+:v?\d+\.\d+\.\d+(?:[-.][A-Za-z0-9.]+)*(?:@sha256:[0-9a-f]{64})?$")


def test_images_are_pinned_to_exact_versions(model: dict[str, Any]) -> None:
    for name, svc in _services(model).items():
        if name in TAURO_SERVICES:
            assert svc["image"] == "tauro:local"  # built here from the Dockerfile
            continue
        image = svc["image"]
        assert PINNED.match(image), f"{name}: {image} is not pinned to an exact version"
        assert ":latest" not in image
    images = {name: svc["image"] for name, svc in _services(model).items()}
    assert images["kafka"] == "apache/kafka:3.9.1"
    assert re.fullmatch(r"mongo:7\.0\.\d+", images["mongo"])
    assert re.fullmatch(r"jaegertracing/jaeger:2\.\d+\.\d+", images["jaeger"]), "Jaeger v2, not the v1 all-in-one"
    assert re.fullmatch(r"prom/prometheus:v3\.\d+\.\d+", images["prometheus"])
    assert re.fullmatch(r"grafana/grafana:\d+\.\d+\.\d+", images["grafana"])


# ---------------------------------------------------------------- observability wiring


def _binds(svc: dict[str, Any]) -> dict[str, Path]:
    """Container path -> host path of a service's bind mounts (read-only ones only)."""
    binds = {}
    for mount in svc.get("volumes") or []:
        if mount["type"] == "bind":
            assert mount.get("read_only"), f"{mount['target']} should be mounted read-only"
            binds[mount["target"]] = Path(mount["source"])
    return binds


def _env_default(value: str) -> str:
    """``${env:NAME:-default}`` (OpenTelemetry collector syntax) -> default."""
    return re.sub(r"\$\{env:[A-Z_]+:-([^}]*)\}", r"\1", value)


def test_every_bind_mount_is_a_file_of_the_repo(model: dict[str, Any]) -> None:
    """Docker would silently create an empty directory for a missing bind source."""
    for name, svc in _services(model).items():
        for mount in svc.get("volumes") or []:
            if mount["type"] == "bind":
                source = Path(mount["source"])
                assert source.is_relative_to(ROOT), f"{name}: {source} is outside the repo"
                assert source.exists(), f"{name} mounts {source.relative_to(ROOT)}, which is missing"
                assert source.is_dir() == (Path(mount["target"]).suffix == ""), f"{name}: {mount['target']}"


def test_jaeger_is_v2_with_the_repo_configuration_and_receives_the_traces(model: dict[str, Any]) -> None:
    jaeger = _services(model)["jaeger"]
    binds = _binds(jaeger)
    config_path = jaeger["command"][jaeger["command"].index("--config") + 1]
    assert binds[config_path] == ROOT / "deploy" / "jaeger" / "config.yaml"
    config = yaml.safe_load(binds[config_path].read_text())
    assert jaeger["environment"]["JAEGER_LISTEN_HOST"] == "0.0.0.0"
    otlp = config["receivers"]["otlp"]["protocols"]
    endpoints = {
        "grpc": otlp["grpc"]["endpoint"], "http": otlp["http"]["endpoint"],
        "query": config["extensions"]["jaeger_query"]["http"]["endpoint"]}
    for endpoint in endpoints.values():
        assert endpoint.startswith("${env:JAEGER_LISTEN_HOST:-"), f"{endpoint} ignores JAEGER_LISTEN_HOST"
    ports = {kind: int(_env_default(endpoint).rsplit(":", 1)[1]) for kind, endpoint in endpoints.items()}
    assert ports == {"grpc": 4317, "http": 4318, "query": 16686}
    assert {int(p["target"]) for p in jaeger["ports"]} == set(ports.values())
    assert f":{ports['query']}/" in " ".join(jaeger["healthcheck"]["test"])
    for name in TAURO_SERVICES:  # OTLP over HTTP/protobuf to the receiver above
        env = _services(model)[name]["environment"]
        assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == f"http://jaeger:{ports['http']}", name
        assert env["OTEL_EXPORTER_OTLP_PROTOCOL"] == "http/protobuf", name


def test_prometheus_uses_the_repo_configuration_and_rules(model: dict[str, Any]) -> None:
    prometheus = _services(model)["prometheus"]
    binds = _binds(prometheus)
    flags = dict(arg.split("=", 1) for arg in prometheus["command"] if "=" in arg)
    config_file = flags["--config.file"]
    assert binds[config_file] == ROOT / "deploy" / "prometheus" / "prometheus.yml"
    config = yaml.safe_load(binds[config_file].read_text())
    # Every rule_files pattern (relative to the configuration file) lands in a mount of the
    # repo's rules and matches at least one rules file there.
    assert config.get("rule_files")
    for pattern in config["rule_files"]:
        in_container = Path(config_file).parent / pattern
        mount = next((target for target in binds if in_container.is_relative_to(target)), None)
        assert mount is not None, f"rule_files {pattern}: {in_container} is not mounted"
        host_dir = binds[mount]
        assert host_dir == ROOT / "deploy" / "prometheus" / "rules"
        relative = str(in_container.relative_to(mount))
        assert [p for p in host_dir.rglob("*") if fnmatch.fnmatch(str(p.relative_to(host_dir)), relative)], pattern
    # Each scrape job reaches a service on the port it serves /metrics on.
    services = _services(model)

    def metrics_port(host: str) -> int:
        assert host in services, f"a scrape job names {host}, which is no service"
        return GATEWAY_PORT if host == "gateway" else int(services[host]["environment"]["METRICS_PORT"])

    scraped = set()
    for job in config["scrape_configs"]:
        for sd in job.get("dns_sd_configs", []):
            for host in sd["names"]:
                assert sd["port"] == metrics_port(host), job["job_name"]
                scraped.add(host)
        for static in job.get("static_configs", []):
            for target in static["targets"]:
                host, port = target.rsplit(":", 1)
                assert int(port) == metrics_port(host), job["job_name"]
                scraped.add(host)
    assert scraped >= set(TAURO_SERVICES)


def test_grafana_provisions_the_repo_datasource_and_dashboards(model: dict[str, Any]) -> None:
    grafana = _services(model)["grafana"]
    binds = _binds(grafana)
    provisioning = ROOT / "deploy" / "grafana" / "provisioning"
    assert binds["/etc/grafana/provisioning"] == provisioning
    dashboards_dir = ROOT / "deploy" / "grafana" / "dashboards"
    dashboards_target = next(target for target, source in binds.items() if source == dashboards_dir)
    assert list(dashboards_dir.glob("*.json")), "no generated dashboards in deploy/grafana/dashboards"
    assert grafana["environment"]["GF_SECURITY_ADMIN_PASSWORD"]

    providers = [p for f in sorted((provisioning / "dashboards").glob("*.y*ml"))
                 for p in yaml.safe_load(f.read_text()).get("providers", [])]
    assert providers, "no dashboard provider in deploy/grafana/provisioning/dashboards"
    for provider in providers:  # a file provider reads its path recursively
        assert Path(dashboards_target).is_relative_to(provider["options"]["path"]), provider

    datasources = [d for f in sorted((provisioning / "datasources").glob("*.y*ml"))
                   for d in yaml.safe_load(f.read_text()).get("datasources", [])]
    prometheus = [d for d in datasources if d["type"] == "prometheus"]
    assert prometheus, "no Prometheus datasource"
    for source in prometheus:
        match = re.fullmatch(r"http://([a-z0-9-]+):(\d+)/?", source["url"])
        assert match and match.group(1) == "prometheus" and match.group(1) in _services(model), source["url"]
        assert int(match.group(2)) == 9090  # Prometheus' listen port in its container


# ---------------------------------------------------------------- the Dockerfile


@dataclass(frozen=True)
class Instruction:
    keyword: str
    args: str


@dataclass(frozen=True)
class Dockerfile:
    instructions: list[Instruction]

    @classmethod
    def parse(cls, path: Path) -> Dockerfile:
        """Instructions with line continuations joined and comments dropped (no heredocs used)."""
        instructions, pending = [], ""
        for raw in path.read_text().splitlines():
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            if line.endswith("\\"):
                pending += line[:-1] + " "
                continue
            text = pending + line
            pending = ""
            keyword, _, args = text.partition(" ")
            instructions.append(Instruction(keyword.upper(), args.strip()))
        assert not pending, "dangling line continuation"
        return cls(instructions)

    def all(self, keyword: str) -> list[tuple[int, Instruction]]:
        return [(i, ins) for i, ins in enumerate(self.instructions) if ins.keyword == keyword]

    def user(self) -> str:
        users = self.all("USER")
        assert users, "no USER: the services would run as root"
        return users[-1][1].args.split(":")[0]

    def owned_by_user(self, directory: str) -> bool:
        """A RUN creates ``directory`` owned by the final USER (install -d -o USER, or chown USER)."""
        user = self.user()
        for _, run in self.all("RUN"):
            for command in re.split(r"&&|;", run.args):
                words = shlex.split(command)
                if words[:2] == ["install", "-d"] and "-o" in words and words[words.index("-o") + 1] == user:
                    if directory in words:
                        return True
                if words and words[0] == "chown" and any(w.split(":")[0] == user for w in words[1:]):
                    if directory in words:
                        return True
        return False


def _copies(ins: Instruction) -> tuple[list[str], str]:
    words = [w for w in shlex.split(ins.args) if not w.startswith("--")]
    return words[:-1], words[-1]


def _workspace_members() -> list[Path]:
    root = tomllib.loads((ROOT / "pyproject.toml").read_text())
    members = []
    for pattern in root["tool"]["uv"]["workspace"]["members"]:
        members += sorted(p.parent for p in ROOT.glob(f"{pattern}/pyproject.toml"))
    return members


@pytest.fixture(scope="module")
def dockerfile() -> Dockerfile:
    return Dockerfile.parse(ROOT / "Dockerfile")


def test_dockerfile_base_image_and_uv_are_pinned(dockerfile: Dockerfile) -> None:
    froms = dockerfile.all("FROM")
    assert len(froms) == 1
    assert re.fullmatch(r"python:3\.11\.\d+-slim-bookworm(@sha256:[0-9a-f]{64})?", froms[0][1].args)
    runs = " ".join(ins.args for _, ins in dockerfile.all("RUN"))
    assert re.search(r"\buv==\d+\.\d+\.\d+\b", runs) or any(
        re.search(r"--from=ghcr\.io/astral-sh/uv:\d+\.\d+\.\d+", ins.args) for _, ins in dockerfile.all("COPY"))


def test_dependencies_are_a_layer_of_their_own_before_the_sources(dockerfile: Dockerfile) -> None:
    syncs = [(i, ins) for i, ins in dockerfile.all("RUN") if "uv sync" in ins.args]
    assert len(syncs) == 2, "one sync for the dependencies, one for the workspace members"
    (deps_at, deps), (members_at, members) = syncs
    for flag in ("--frozen", "--no-dev", "--all-packages", "--no-install-workspace"):
        assert flag in deps.args, f"dependency sync without {flag}"
    assert "--no-install-workspace" not in members.args and "--frozen" in members.args
    # Before the dependency sync only the lock and the pyproject.toml files are copied ...
    copied_before = []
    for i, ins in dockerfile.all("COPY"):
        sources, dest = _copies(ins)
        if i < deps_at:
            assert all(Path(s).name in ("pyproject.toml", "uv.lock") for s in sources), ins.args
            copied_before += [str(Path(dest.rstrip("/")) / Path(s).name) if dest.endswith("/") else s
                              for s in sources]
    # ... every workspace member's among them (a member added later must be added here too) ...
    expected = {"pyproject.toml", "uv.lock"} | {
        str((m / "pyproject.toml").relative_to(ROOT)) for m in _workspace_members()}
    assert {str(Path(p)) for p in copied_before} == expected
    # ... and the sources only after it, before the second sync.
    later = [_copies(ins)[0] for i, ins in dockerfile.all("COPY") if deps_at < i < members_at]
    assert {s.rstrip("/") for sources in later for s in sources} >= {"libs", "services", "apps", "examples"}


def _uv() -> list[str]:
    if os.environ.get("UV"):  # set by `uv run`
        return [os.environ["UV"]]
    found = shutil.which("uv")
    return [found] if found else ["python3", "-m", "uv"]


def _replay_copy(ins: Instruction, context: Path) -> None:
    """A COPY from the build context (the repo, minus .dockerignore) into ``context``."""
    sources, dest = _copies(ins)
    skip = shutil.ignore_patterns("__pycache__", "*.pyc", ".venv", "*.egg-info")
    for source in sources:
        origin = ROOT / source
        if origin.is_dir():
            shutil.copytree(origin, context / dest.rstrip("/"), ignore=skip, dirs_exist_ok=True)
        else:
            target = context / dest / origin.name if dest.endswith("/") else context / dest
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(origin, target)


def _replay_sync(run: Instruction, context: Path) -> str:
    command = shlex.split(run.args[run.args.index("uv sync"):].split("&&")[0])
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "UV_PROJECT_ENVIRONMENT")}
    env.update(UV_PROJECT_ENVIRONMENT=str(context / ".venv"), UV_PYTHON_DOWNLOADS="never")
    result = subprocess.run([*_uv(), *command[1:]], cwd=context, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, f"{run.args}\n{result.stderr}"
    return result.stderr + result.stdout


def test_the_two_uv_layers_replayed_on_exactly_the_files_they_copy(dockerfile: Dockerfile, tmp_path: Path) -> None:
    """Replays the image's COPY and `uv sync` steps in a scratch directory: the dependency
    layer must install from the lock and the pyproject.toml files alone, third-party packages
    only (no workspace member, no dev tool); the second layer adds the members, and every
    service's module imports."""
    (deps_at, deps), (members_at, members) = [(i, ins) for i, ins in dockerfile.all("RUN") if "uv sync" in ins.args]
    for i, ins in dockerfile.all("COPY"):
        if i < deps_at:
            _replay_copy(ins, tmp_path)
    first = re.findall(r"^ \+ ([A-Za-z0-9_.-]+)==", _replay_sync(deps, tmp_path), re.MULTILINE)
    assert "fastapi" in first and "aiokafka" in first and "pymongo" in first, first
    assert not [p for p in first if p.startswith("tauro")], "workspace members in the dependency layer"
    assert not {"pytest", "ruff", "mypy", "hypothesis", "croniter"} & set(first), "dev tools in the image"

    for i, ins in dockerfile.all("COPY"):
        if deps_at < i < members_at:
            _replay_copy(ins, tmp_path)
    second = re.findall(r"^ \+ ([A-Za-z0-9_.-]+)[= ]", _replay_sync(members, tmp_path), re.MULTILINE)
    assert {f"tauro-{name}" for name in TAURO_SERVICES} <= set(second), second
    modules = ", ".join(f"tauro_{name}.service" if name != "gateway" else "tauro_gateway.app"
                        for name in TAURO_SERVICES)
    imported = subprocess.run([str(tmp_path / ".venv" / "bin" / "python"), "-c", f"import {modules}"],
                              cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert imported.returncode == 0, imported.stderr


def test_the_image_runs_as_a_non_root_user_that_owns_data(dockerfile: Dockerfile) -> None:
    user = dockerfile.user()
    assert user not in ("root", "0") and int(user) >= 1000
    last = dockerfile.instructions[-1]
    assert last.keyword == "CMD"
    user_at = dockerfile.all("USER")[-1][0]
    assert not [ins for ins in dockerfile.instructions[user_at:] if ins.keyword == "RUN"]
    assert dockerfile.owned_by_user("/data")
    env = " ".join(ins.args for _, ins in dockerfile.all("ENV"))
    for var in ("TAURO_WORK_DIR", "TAURO_OUTPUT_DIR", "TAURO_DATA_DIR"):  # never inside root-owned /app
        match = re.search(rf"\b{var}=(\S+)", env)
        assert match and Path(match.group(1)).is_relative_to("/data"), var


def test_dockerignore_keeps_local_state_and_secrets_out(dockerfile: Dockerfile) -> None:
    patterns = {line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
                if line.strip() and not line.startswith("#")}
    assert {".git", ".venv", ".cache", ".tauro", ".env"} <= patterns
    for _, ins in dockerfile.all("COPY"):  # what the Dockerfile copies is not ignored
        for source in _copies(ins)[0]:
            top = source.rstrip("/").split("/")[0]
            assert top not in patterns and (ROOT / source).exists(), source
