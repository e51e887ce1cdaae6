"""Safe defaults: authentication on in the distributed mode, real secrets required, secrets kept
out of reprs and out of the processes that run user code, pipeline paths kept in their folders."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr
from tauro_executor.attempt import run_attempt
from tauro_gateway.security.pipelines import path_problem
from tauro_platform import apikeys
from tauro_platform.childenv import child_environment
from tauro_platform.settings import EXAMPLE_SECRET, Settings

from tests.unit.executor.helpers import Collected, spec

SECRET = "a-real-secret-for-the-tests-" + "x" * 20


def settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def test_auth_is_on_by_default_only_in_the_distributed_mode() -> None:
    assert settings(tauro_mode="distributed", secret_key=SECRET).enable_auth is True
    assert settings(tauro_mode="embedded").enable_auth is False
    assert settings(tauro_mode="distributed", secret_key=SECRET, enable_auth=False).enable_auth is False


def test_auth_on_by_default_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TAURO_MODE", "distributed")
    monkeypatch.setenv("SECRET_KEY", SECRET)
    assert settings().enable_auth is True
    monkeypatch.setenv("ENABLE_AUTH", "false")
    assert settings().enable_auth is False


@pytest.mark.parametrize("secret", ["", EXAMPLE_SECRET, "short-secret", "x" * 31])
def test_weak_secrets_are_refused_where_they_matter(secret: str) -> None:
    with pytest.raises(ValueError, match="SECRET_KEY"):
        settings(tauro_mode="distributed", secret_key=secret).check_for_production()
    with pytest.raises(ValueError, match="SECRET_KEY"):
        settings(tauro_mode="embedded", enable_auth=True, secret_key=secret).check_for_production()
    settings(tauro_mode="embedded", secret_key=secret).check_for_production()  # auth off: nothing to sign


def test_the_admin_key_must_belong_to_this_deployment() -> None:
    own = apikeys.new_key(SECRET).key
    settings(tauro_mode="distributed", secret_key=SECRET, tauro_admin_api_key=own).check_for_production()
    for bad in (apikeys.new_key("another-deployment-" + "y" * 20).key, "not-a-key"):
        with pytest.raises(ValueError, match="TAURO_ADMIN_API_KEY"):
            settings(tauro_mode="distributed", secret_key=SECRET,
                     tauro_admin_api_key=SecretStr(bad)).check_for_production()


def test_secrets_stay_out_of_the_settings_repr() -> None:
    key = apikeys.new_key(SECRET).key
    shown = repr(settings(secret_key=SECRET, tauro_admin_api_key=key,
                          mongodb_url="mongodb://user:hunter2@db/?x=1"))
    assert SECRET not in shown and key not in shown and "hunter2" not in shown


def test_keys_name_their_deployment_and_hash_with_the_secret() -> None:
    issued = apikeys.new_key(SECRET)
    assert apikeys.key_id_of(SECRET, issued.key) == issued.key_id
    assert apikeys.matches(SECRET, issued.key, issued.key_hash)
    assert not apikeys.matches("other-" + SECRET, issued.key, issued.key_hash)
    with pytest.raises(apikeys.ForeignKey):
        apikeys.key_id_of("other-" + SECRET, issued.key)
    assert apikeys.key_id_of(SECRET, issued.key + "x") is None


def test_user_code_does_not_inherit_the_services_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SECRET_KEY", SECRET)
    monkeypatch.setenv("MONGODB_URL", "mongodb://user:hunter2@db")
    monkeypatch.setenv("TAURO_KEEP", "1")
    env = child_environment({"EXTRA": "2"})
    assert "SECRET_KEY" not in env and "MONGODB_URL" not in env and env["TAURO_KEEP"] == "1" and env["EXTRA"] == "2"


async def test_a_shell_node_printing_its_environment_logs_no_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SECRET_KEY", SECRET)
    logs = Collected()
    outcome = await run_attempt(spec(tmp_path, "env", "shell", {"command": "env"}), timeout_seconds=30, on_log=logs)
    assert outcome.status == "succeeded", outcome.error
    text = "\n".join(line.message for line in logs.lines)
    assert "PATH=" in text and SECRET not in text


@pytest.mark.parametrize(("path", "safe"), [
    ("examples/data/orders.csv", True), ("{{ output_dir }}/orders_{{ date }}.jsonl", True),
    ("{{work_dir}}/x.parquet", True), ("data/{{ run_id }}.csv", True),
    ("/etc/passwd", False), ("~/.ssh/id_rsa", False), ("../secrets.csv", False), ("a/../../b", False),
    ("{{ output_dir }}/../x", False), ("{{ output_dir }}/{{ target }}", False), ("C:/x", False),
])
def test_pipeline_paths_stay_in_their_folders(path: str, safe: bool) -> None:
    assert (path_problem(path) is None) is safe, path_problem(path)
