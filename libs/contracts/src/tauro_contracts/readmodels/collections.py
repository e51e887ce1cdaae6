"""The names of the read-model collections, in one place: the projections that write them, the
gateway routes that read them and the index declarations all use these constants."""

from __future__ import annotations

PROJECTS = "projects"
PIPELINES = "pipelines"
CONFIG_VERSIONS = "config_versions"
RUNS = "runs"
RUN_LOGS = "run_logs"
SCHEDULES = "schedules"
SCHEDULE_TICKS = "schedule_ticks"
STREAM_EXECUTIONS = "stream_executions"
STREAM_REPLICAS = "stream_replicas"
STREAM_WINDOW_STATE = "stream_window_state"
API_KEYS = "api_keys"
API_KEY_CREDENTIALS = "api_key_credentials"
DEAD_LETTERS = "dead_letters"
SERVICE_HEARTBEATS = "service_heartbeats"
