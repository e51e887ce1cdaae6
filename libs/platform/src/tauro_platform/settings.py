"""One validated settings object per process, from the environment and ``.env``.

Names follow the Tauro API docs (``MONGODB_URL``, ``CORS_ALLOW_ORIGINS``,
``MAX_CONCURRENT_RUNS``, ``SCHEDULER_*``, ...) plus ``KAFKA_BOOTSTRAP_SERVERS`` and
Tauro's own ``TAURO_*``. Bad values stop start-up with a message naming the variable.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from tauro_platform import apikeys

EXAMPLE_SECRET = "your-secret-key-here-change-in-production"
MIN_SECRET_LENGTH = 32


def _split(value: object) -> object:
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            import json

            return json.loads(text)
        return [part.strip() for part in text.split(",") if part.strip()]
    return value


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    tauro_mode: Literal["embedded", "distributed"] = "embedded"
    tauro_data_dir: Path = Path(".tauro/data")
    tauro_instance_id: str | None = None
    pipelines_dir: Path | None = Path("examples/pipelines")
    tauro_work_dir: Path = Path(".tauro/work")
    tauro_output_dir: Path = Path(".tauro/output")
    executor_heartbeat_seconds: float = Field(default=2.0, gt=0, le=60)
    executor_lease_seconds: float = Field(default=15.0, gt=0, le=600,
                                          description="an executor silent this long has lost its attempts")
    executor_warm_worker: bool = Field(default=True, description="start attempts by forking a warm helper "
                                       "process (false: a fresh interpreter per attempt)")

    streams_dir: Path = Field(default=Path("examples/streams"),
                              description="folder of stream definition files; POST /stream/run's config is inside it")
    stream_callable_modules: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="modules the python processors of inline (API) stream definitions may use")
    stream_batch_size: int = Field(default=500, ge=1, le=10_000, description="records per partition per commit")
    stream_stats_interval_seconds: float = Field(default=1.0, gt=0, le=60)
    stream_replica_ttl_seconds: float = Field(default=15.0, gt=0, le=600,
                                              description="a streaming replica silent this long is presumed dead")

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    log_format: Literal["json", "text"] = "json"
    # uvloop (a libuv event loop, several times faster per callback) when installed; "asyncio"
    # keeps the standard library's loop.
    event_loop: Literal["auto", "uvloop", "asyncio"] = "auto"

    kafka_bootstrap_servers: str = "127.0.0.1:19092"
    kafka_partitions: int = Field(default=4, ge=1, le=256)
    kafka_session_timeout_ms: int = Field(
        default=6000, ge=1000, le=300_000,
        description="a consumer silent this long is presumed dead and its partitions move (failover time); "
                    "at least the broker's group.min.session.timeout.ms (6000 on a stock broker)")
    tauro_namespace: str = Field(default="", pattern=r"^[a-z0-9._-]{0,40}$",
                                 description="prefix of every Kafka topic and group name")
    mongodb_url: str = Field(default="mongodb://127.0.0.1:27018/?directConnection=true&retryWrites=false", repr=False)
    mongodb_database: str = Field(default="tauro", pattern=r"^[A-Za-z0-9_-]{1,60}$")
    mongodb_pool_size: int = Field(default=10, ge=1, le=500)
    mongodb_timeout: int = Field(default=30, ge=1, le=600)
    auto_migrate: bool = True

    cors_allow_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    cors_allow_methods: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
    )
    cors_allow_headers: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["Content-Type", "Authorization", "X-Request-ID", "X-API-Key", "Idempotency-Key"]
    )
    cors_allow_credentials: bool = False
    cors_max_age: int = Field(default=3600, ge=0)

    secret_key: str = Field(default="", repr=False)
    enable_auth: bool = Field(default=False, description="default: on in the distributed mode, off in the embedded one")
    api_key_header: str = Field(default="X-API-Key", pattern=r"^[A-Za-z0-9-]{1,64}$")
    auth_token_ttl_seconds: int = Field(default=900, ge=60, le=86_400, description="lifetime of a bearer token")
    tauro_admin_api_key: SecretStr | None = Field(
        default=None, description="a key from `tauro keygen`, registered at start-up as a global admin key")

    rate_limit_enabled: bool = True
    rate_limit_requests: int = Field(default=100, ge=1)
    rate_limit_window: int = Field(default=60, ge=1)
    rate_limit_auth_failures: int = Field(
        default=10, ge=1, description="refused credentials a client address may send per RATE_LIMIT_AUTH_WINDOW "
        "before all its authenticated requests get 429 until the window turns")
    rate_limit_auth_window: int = Field(default=60, ge=1)

    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    command_timeout_seconds: float = Field(default=10.0, gt=0, le=300)

    max_concurrent_runs: int = Field(default=10, ge=1, le=10_000)
    default_timeout: int = Field(default=3600, ge=1)
    default_retry_attempts: int = Field(default=3, ge=1, le=20)
    default_retry_delay: float = Field(default=5.0, ge=0)

    scheduler_enabled: bool = True
    scheduler_timezone: str = "UTC"

    otel_service_name: str | None = None
    otel_exporter_otlp_endpoint: str | None = None
    otel_exporter_otlp_traces_endpoint: str | None = None
    otel_exporter_otlp_protocol: Literal["http/protobuf", "grpc"] = "http/protobuf"
    otel_exporter_otlp_traces_protocol: Literal["http/protobuf", "grpc"] | None = None
    otel_traces_exporter: Literal["otlp", "none", "console"] = "otlp"
    otel_sdk_disabled: bool = False

    metrics_port: int = Field(default=0, ge=0, le=65535, description="a service's own /metrics port; 0 = off")
    metrics_host: str = Field(default="127.0.0.1", description="address the per-service /metrics server binds")
    metrics_sample_seconds: float = Field(default=10.0, gt=0, le=600, description="consumer lag sampling interval")
    service_heartbeat_seconds: float = Field(default=5.0, gt=0, le=60)
    health_required_services: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["runs", "executor"],
        description="services without a fresh heartbeat make /health answer 503")
    health_heartbeat_max_age_seconds: float = Field(default=15.0, gt=0, le=3600)
    health_check_timeout_seconds: float = Field(default=2.0, gt=0, le=4.5,
                                                description="each /health probe's time limit")

    # notifications (the notifier service; NOTIFY_ALLOW_PRIVATE_WEBHOOKS also in the gateway)
    smtp_host: str | None = Field(default=None, description="SMTP server for e-mail notifications (none: no e-mail)")
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_from: str = Field(default="tauro@localhost", max_length=320, description="sender of notification e-mails")
    smtp_username: str | None = Field(default=None, repr=False)
    smtp_password: SecretStr | None = Field(default=None, repr=False)
    smtp_starttls: bool = Field(default=False, description="upgrade the SMTP connection with STARTTLS")
    notify_enabled: bool = Field(default=True, description="run the notifier (embedded mode)")
    notify_webhook_secret: SecretStr | None = Field(
        default=None, repr=False, description="HMAC key of webhook signatures (default: derived from SECRET_KEY)")
    notify_allow_private_webhooks: bool = Field(
        default=False, description="allow webhooks to loopback, private and link-local addresses")
    notify_send_timeout_seconds: float = Field(default=20.0, gt=0, le=300, description="one SMTP or HTTP attempt")
    notify_retry_initial_seconds: float = Field(default=2.0, gt=0, le=3600, description="first retry delay")
    notify_retry_max_seconds: float = Field(default=300.0, gt=0, le=86_400, description="longest retry delay")
    notify_give_up_seconds: float = Field(default=3600.0, gt=0, le=7 * 86_400,
                                          description="a delivery still failing this long after the run ended "
                                                      "is given up")
    notify_max_age_seconds: float = Field(default=86_400.0, gt=0, description="runs that ended longer ago than "
                                          "this when the notifier first sees them are not notified")
    tauro_public_url: str | None = Field(default=None, description="base URL of the API in notification links "
                                         "(default http://HOST:PORT)")

    @field_validator("cors_allow_origins", "cors_allow_methods", "cors_allow_headers", mode="before")
    @classmethod
    def _lists(cls, value: object) -> object:
        return _split(value)

    @field_validator("cors_allow_origins")
    @classmethod
    def _no_wildcard(cls, origins: list[str]) -> list[str]:
        if "*" in origins:
            raise ValueError("use an explicit allow-list, not '*'")
        return origins

    @field_validator("stream_callable_modules", mode="before")
    @classmethod
    def _module_list(cls, value: object) -> object:
        return _split(value)

    @model_validator(mode="after")
    def _auth_on_when_distributed(self) -> Settings:
        if "enable_auth" not in self.model_fields_set and self.tauro_mode == "distributed":
            self.enable_auth = True
        return self

    @field_validator("health_required_services", mode="before")
    @classmethod
    def _service_list(cls, value: object) -> object:
        return _split(value)

    def check_for_production(self) -> None:
        """The distributed mode, and authentication in any mode, refuse a missing, example or
        short secret (it signs tokens and keys the API key hashes)."""
        if self.tauro_mode == "distributed" or self.enable_auth:
            if self.secret_key in ("", EXAMPLE_SECRET) or len(self.secret_key) < MIN_SECRET_LENGTH:
                raise ValueError(f"SECRET_KEY must be set to a real secret of at least {MIN_SECRET_LENGTH} "
                                 "characters in the distributed mode and whenever ENABLE_AUTH is on")
        if self.tauro_admin_api_key is not None:
            try:
                valid = apikeys.key_id_of(self.secret_key, self.tauro_admin_api_key.get_secret_value()) is not None
            except apikeys.ForeignKey:
                valid = False
            if not valid:
                raise ValueError("TAURO_ADMIN_API_KEY is not a key of this deployment (generate one with "
                                 "`tauro keygen` under the same SECRET_KEY)")


def load_settings() -> Settings:
    """Settings for this process, or exit with a clear message naming what is wrong."""
    try:
        settings = Settings()
        settings.check_for_production()
    except (ValidationError, ValueError) as exc:
        print(f"tauro: invalid settings:\n{exc}", file=sys.stderr)
        raise SystemExit(2) from exc
    return settings
