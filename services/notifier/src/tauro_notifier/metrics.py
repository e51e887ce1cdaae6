"""The notifier's Prometheus counter (default registry: the gateway's ``/metrics`` in the embedded
mode, the notifier's own ``METRICS_PORT`` server in the distributed one)."""

from __future__ import annotations

from prometheus_client import Counter

NOTIFICATIONS_TOTAL = Counter(
    "tauro_notifications", "Notification attempts by channel and outcome: sent, retried (failed, "
    "will try again), failed (given up)", ["channel", "outcome"])
