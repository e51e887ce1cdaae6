"""Tauro notifier: tells people when runs end, by e-mail and webhooks.

It is built as an outside integration of Tauro's public event contract: it consumes the
``tauro.events.runs.v1``, ``tauro.events.schedules.v1`` and ``tauro.events.logs.v1`` topics
in its own consumer group (``tauro-notifier``), decodes only the published ``EventEnvelope``
and payload schemas, deduplicates by ``event_id`` and keeps what it needs in read models of
its own (``notifier_runs``, ``notifier_schedules``, ``notifier_logs``). Its deliveries are
events on ``notifications:<run_id>`` streams, projected to the ``notifications`` read model
that ``GET /runs/{id}/notifications`` shows.
"""
