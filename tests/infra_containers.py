"""Kafka and MongoDB as Docker containers for the tests: the testcontainers path of tests/conftest.py.

Taken when a Docker engine answers and ``TAURO_TEST_KAFKA`` / ``TAURO_TEST_MONGODB_URL`` are
not set. The container definitions are plain data built by pure functions (unit-tested without
Docker in tests/unit/test_infra_containers.py); only ``kafka_container`` and
``mongo_container`` talk to Docker, through testcontainers' generic ``DockerContainer``:

- Kafka: the ``apache/kafka`` image in KRaft mode, configured like compose.yaml's kafka service
  (testcontainers' ``KafkaContainer.with_kraft()`` only accepts Confluent images). Clients reach
  it through a HOST listener advertised as ``<docker host>:<port>``; the port is a free host port
  chosen before the start, so the advertised address is known when the broker starts.
- MongoDB: ``mongod --replSet rs0`` without root credentials (with them, ``--replSet`` demands a
  keyFile), listening on the same free port inside and outside the container, so the replica
  set member's address is the one the client uses; initiated, then awaited as PRIMARY.

Both wait for readiness with a real client (Kafka metadata naming the broker, MongoDB
``hello`` saying writable primary), not for a log line.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

KAFKA_IMAGE = "apache/kafka:3.9.1"
MONGO_IMAGE = "mongo:7.0.28"
KAFKA_HOST_LISTENER_PORT = 19092  # the container port the HOST listener binds (as in compose.yaml)
REPLICA_SET = "rs0"
READY_TIMEOUT = 180.0


@dataclass(frozen=True)
class ContainerSpec:
    """What to run: the image, its environment, its command and ``container port -> host port``."""

    image: str
    env: dict[str, str] = field(default_factory=dict)
    command: list[str] | None = None
    ports: dict[int, int] = field(default_factory=dict)


def kafka_spec(host: str, host_port: int, image: str = KAFKA_IMAGE) -> ContainerSpec:
    """A single KRaft broker+controller. Setting any ``KAFKA_*`` variable replaces the image's
    default configuration, so all of it is here. Three listeners: PLAINTEXT (inter-broker, inside
    the container), CONTROLLER, and HOST, advertised as ``host:host_port`` for the tests."""
    env = {
        "CLUSTER_ID": "pR6wLn4kTuiG4EjFJRhZ7g",
        "KAFKA_NODE_ID": "1",
        "KAFKA_PROCESS_ROLES": "broker,controller",
        "KAFKA_CONTROLLER_QUORUM_VOTERS": "1@localhost:9093",
        "KAFKA_LISTENERS": f"PLAINTEXT://:9092,CONTROLLER://:9093,HOST://:{KAFKA_HOST_LISTENER_PORT}",
        "KAFKA_ADVERTISED_LISTENERS": f"PLAINTEXT://localhost:9092,HOST://{host}:{host_port}",
        "KAFKA_LISTENER_SECURITY_PROTOCOL_MAP": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,HOST:PLAINTEXT",
        "KAFKA_CONTROLLER_LISTENER_NAMES": "CONTROLLER",
        "KAFKA_INTER_BROKER_LISTENER_NAME": "PLAINTEXT",
        "KAFKA_NUM_PARTITIONS": "4",
        "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR": "1",
        "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR": "1",
        "KAFKA_TRANSACTION_STATE_LOG_MIN_ISR": "1",
        "KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS": "0",
        "KAFKA_GROUP_MIN_SESSION_TIMEOUT_MS": "1000",  # the e2e services use 3 s sessions
        "KAFKA_AUTO_CREATE_TOPICS_ENABLE": "true",
    }
    return ContainerSpec(image=image, env=env, ports={KAFKA_HOST_LISTENER_PORT: host_port})


def mongo_spec(port: int, image: str = MONGO_IMAGE) -> ContainerSpec:
    """``mongod`` as a one-member replica set (transactions and change streams need one), no
    credentials, listening on ``port`` inside the container and published on the same port."""
    return ContainerSpec(image=image, command=["--replSet", REPLICA_SET, "--bind_ip_all", "--port", str(port)],
                         ports={port: port})


def replica_set_config(host: str, port: int) -> dict[str, Any]:
    """The ``replSetInitiate`` document: one member at the address the client uses."""
    return {"_id": REPLICA_SET, "members": [{"_id": 0, "host": f"{host}:{port}"}]}


def mongo_url(host: str, port: int) -> str:
    return f"mongodb://{host}:{port}/?directConnection=true"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("", 0))
        return int(probe.getsockname()[1])


def wait_until(check: Callable[[], bool], timeout: float, what: str, *, interval: float = 1.0,
               describe: Callable[[], str] = lambda: "") -> None:
    """Call ``check`` until it returns True; an exception counts as not ready yet. On time-out,
    raise ``TimeoutError`` naming ``what``, the last error and ``describe()`` (e.g. log tails)."""
    deadline = time.monotonic() + timeout
    last = "not ready"
    while True:
        try:
            if check():
                return
        except Exception as exc:
            last = f"{type(exc).__name__}: {exc}"
        if time.monotonic() >= deadline:
            raise TimeoutError(f"{what} not ready after {timeout:.0f} s ({last}) {describe()}".rstrip())
        time.sleep(interval)


def kafka_broker_ready(bootstrap: str) -> bool:
    """True when the broker at ``bootstrap`` answers a metadata request that names a broker."""

    async def probe() -> bool:
        from aiokafka import AIOKafkaProducer

        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, request_timeout_ms=5000)
        try:
            await producer.start()
            return bool(producer.client.cluster.brokers())
        finally:
            await producer.stop()

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(probe())
    with ThreadPoolExecutor(1) as thread:  # called under a running loop: probe on a fresh one
        return thread.submit(asyncio.run, probe()).result()


ALREADY_INITIALIZED = 23  # MongoDB's error code for replSetInitiate on an initiated set


def replica_set_primary(command: Callable[..., Mapping[str, Any]], config: dict[str, Any]) -> bool:
    """Initiate the replica set (once: ``AlreadyInitialized`` is fine); True once the node that
    ``command`` (an admin-database command runner) reaches is the writable primary."""
    from pymongo.errors import OperationFailure

    try:
        command("replSetInitiate", config)
    except OperationFailure as exc:
        if exc.code != ALREADY_INITIALIZED:
            raise
    return bool(command("hello").get("isWritablePrimary"))


def mongo_primary_ready(url: str, config: dict[str, Any]) -> bool:
    from pymongo import MongoClient

    client: MongoClient[dict[str, Any]]
    with MongoClient(url, serverSelectionTimeoutMS=3000) as client:
        return replica_set_primary(client.admin.command, config)


def _docker_container(spec: ContainerSpec) -> Any:
    from testcontainers.core.container import DockerContainer

    container = DockerContainer(spec.image)
    for key, value in spec.env.items():
        container.with_env(key, value)
    for container_port, host_port in spec.ports.items():
        container.with_bind_ports(container_port, host_port)
    if spec.command:
        container.with_command(spec.command)
    return container


def _docker_host() -> str:
    from testcontainers.core.docker_client import DockerClient

    return str(DockerClient().host())


def _log_tail(container: Any) -> Callable[[], str]:
    def tail() -> str:
        try:
            out, err = container.get_logs()
        except Exception as exc:
            return f"(no logs: {exc})"
        return "; last log lines:\n" + "\n".join((out + err).decode(errors="replace").splitlines()[-30:])

    return tail


@contextmanager
def kafka_container() -> Iterator[str]:
    """Start the Kafka container, wait for the broker, yield its bootstrap address, remove it."""
    host, port = _docker_host(), free_port()
    with _docker_container(kafka_spec(host, port)) as container:
        bootstrap = f"{host}:{port}"
        wait_until(lambda: kafka_broker_ready(bootstrap), READY_TIMEOUT, f"Kafka ({KAFKA_IMAGE}) at {bootstrap}",
                   describe=_log_tail(container))
        yield bootstrap


@contextmanager
def mongo_container() -> Iterator[str]:
    """Start MongoDB, initiate the one-member replica set, wait for PRIMARY, yield the URL."""
    host, port = _docker_host(), free_port()
    with _docker_container(mongo_spec(port)) as container:
        url = mongo_url(host, port)
        config = replica_set_config(host, port)
        wait_until(lambda: mongo_primary_ready(url, config), READY_TIMEOUT, f"MongoDB ({MONGO_IMAGE}) at {url}",
                   describe=_log_tail(container))
        yield url
