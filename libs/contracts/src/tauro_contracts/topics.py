"""Kafka topic names. Event topics are a public, versioned contract (see docs/events.md)."""

from __future__ import annotations

COMMANDS_RUNS = "tauro.commands.runs"
COMMANDS_SCHEDULER = "tauro.commands.scheduler"
COMMANDS_EXECUTOR = "tauro.commands.executor"
COMMANDS_STREAMING = "tauro.commands.streaming"

EVENTS_PROJECTS = "tauro.events.projects.v1"
EVENTS_PIPELINES = "tauro.events.pipelines.v1"
EVENTS_RUNS = "tauro.events.runs.v1"
EVENTS_SCHEDULES = "tauro.events.schedules.v1"
EVENTS_STREAMS = "tauro.events.streams.v1"
EVENTS_NAMES = "tauro.events.names.v1"
EVENTS_LOGS = "tauro.events.logs.v1"
EVENTS_SECURITY = "tauro.events.security.v1"
EVENTS_NOTIFICATIONS = "tauro.events.notifications.v1"

REPLIES = "tauro.replies"
DEAD_LETTERS = "tauro.commands.dead-letters"
"""Commands that failed for good, with the reason in headers (``tauro-dead-letter-*``)."""

COMMAND_TOPICS = (COMMANDS_RUNS, COMMANDS_SCHEDULER, COMMANDS_EXECUTOR, COMMANDS_STREAMING)
EVENT_TOPICS = (
    EVENTS_PROJECTS, EVENTS_PIPELINES, EVENTS_RUNS, EVENTS_SCHEDULES, EVENTS_STREAMS, EVENTS_NAMES, EVENTS_LOGS,
    EVENTS_SECURITY, EVENTS_NOTIFICATIONS,
)
