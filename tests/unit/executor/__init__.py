"""Unit tests of the executor's task-attempt machinery (no Kafka, no event store)."""
