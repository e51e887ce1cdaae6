"""The testcontainers path's container definitions (tests/infra_containers.py), checked without
Docker: a KRaft ``apache/kafka`` broker configured like compose.yaml's and reachable at the
address it advertises, MongoDB as a credential-free one-member replica set whose member is the
address the client uses, and the readiness loops."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from pymongo.errors import OperationFailure

from tests import infra_containers as ic

COMPOSE = Path(__file__).resolve().parents[2] / "compose.yaml"
PER_DEPLOYMENT = {"KAFKA_LISTENERS", "KAFKA_ADVERTISED_LISTENERS", "KAFKA_CONTROLLER_QUORUM_VOTERS", "KAFKA_LOG_DIRS"}


def listeners(value: str) -> dict[str, str]:
    """``NAME://host:port,...`` -> ``{NAME: host:port}``."""
    return dict(item.split("://", 1) for item in value.split(","))


def test_kafka_is_the_apache_image_in_kraft_mode_advertising_the_mapped_host_port() -> None:
    spec = ic.kafka_spec("localhost", 45123)
    assert spec.image == "apache/kafka:3.9.1" and spec.command is None
    env = spec.env
    assert env["KAFKA_PROCESS_ROLES"] == "broker,controller" and env["CLUSTER_ID"]
    assert env["KAFKA_CONTROLLER_QUORUM_VOTERS"] == f"{env['KAFKA_NODE_ID']}@localhost:9093"
    bound, advertised = listeners(env["KAFKA_LISTENERS"]), listeners(env["KAFKA_ADVERTISED_LISTENERS"])
    assert advertised["HOST"] == "localhost:45123"
    container_port = int(bound["HOST"].rsplit(":", 1)[1])
    assert spec.ports == {container_port: 45123}  # the advertised port is the one mapped to HOST
    protocols = dict(item.split(":") for item in env["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"].split(","))
    assert set(bound) <= set(protocols) and env["KAFKA_CONTROLLER_LISTENER_NAMES"] in bound
    assert env["KAFKA_INTER_BROKER_LISTENER_NAME"] in advertised
    assert env["KAFKA_GROUP_MIN_SESSION_TIMEOUT_MS"] == "1000"  # the e2e services use 3 s sessions
    assert all(isinstance(value, str) for value in env.values())  # Docker's environment is strings


def test_kafka_is_configured_like_the_compose_broker() -> None:
    kafka = yaml.safe_load(COMPOSE.read_text())["services"]["kafka"]
    assert kafka["image"] == ic.KAFKA_IMAGE
    compose_env = {key: str(value).lower() if isinstance(value, bool) else str(value)
                   for key, value in kafka["environment"].items()}
    spec_env = ic.kafka_spec("localhost", 45123).env
    shared = {key: value for key, value in compose_env.items() if key not in PER_DEPLOYMENT}
    assert {key: spec_env.get(key) for key in shared} == shared


def test_mongo_is_a_replica_set_without_credentials_on_the_address_the_client_uses() -> None:
    spec = ic.mongo_spec(41234)
    assert spec.image == yaml.safe_load(COMPOSE.read_text())["services"]["mongo"]["image"]
    assert not any(key.startswith("MONGO_INITDB_ROOT") for key in spec.env)  # with --replSet they demand a keyFile
    command = spec.command or []
    assert command[command.index("--replSet") + 1] == ic.REPLICA_SET and "--bind_ip_all" in command
    assert int(command[command.index("--port") + 1]) == 41234 and spec.ports == {41234: 41234}
    url = urlsplit(ic.mongo_url("localhost", 41234))
    assert "directConnection=true" in url.query
    config = ic.replica_set_config("localhost", 41234)
    assert config["_id"] == ic.REPLICA_SET and [m["host"] for m in config["members"]] == [url.netloc]


class FakeAdmin:
    """An admin-database command runner answering ``replSetInitiate`` and ``hello`` from a script."""

    def __init__(self, initiate_error: int | None, primary: list[bool]) -> None:
        self.initiate_error, self.primary = initiate_error, primary
        self.calls: list[str] = []

    def __call__(self, name: str, *args: Any) -> dict[str, Any]:
        self.calls.append(name)
        if name == "replSetInitiate":
            if self.initiate_error is not None:
                raise OperationFailure("initiate", code=self.initiate_error)
            return {"ok": 1}
        return {"isWritablePrimary": self.primary.pop(0)}


def test_replica_set_readiness_initiates_then_waits_for_primary() -> None:
    fresh = FakeAdmin(None, [False])
    assert ic.replica_set_primary(fresh, ic.replica_set_config("h", 1)) is False
    assert fresh.calls == ["replSetInitiate", "hello"]
    assert ic.replica_set_primary(FakeAdmin(ic.ALREADY_INITIALIZED, [True]), {}) is True
    with pytest.raises(OperationFailure):  # a bad configuration is not "not ready yet"
        ic.replica_set_primary(FakeAdmin(93, [True]), {})


def test_wait_until_retries_through_errors_and_times_out_naming_what_and_why() -> None:
    answers: list[Any] = [ConnectionError("refused"), False, True]

    def check() -> bool:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return bool(answer)

    ic.wait_until(check, 5, "thing", interval=0)
    assert answers == []

    def refused() -> bool:
        raise ConnectionError("refused")

    with pytest.raises(TimeoutError, match=r"broker not ready after 0 s \(ConnectionError: refused\) logs"):
        ic.wait_until(refused, 0, "broker", interval=0, describe=lambda: "logs")
