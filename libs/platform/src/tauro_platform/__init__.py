"""Tauro's platform library: the ports every service talks through, and their adapters.

Ports: the event store (``eventstore``), the message bus (``bus``) and the read
store for projections (``readstore``). Each has an embedded adapter (SQLite file or
in-process) for ``make run`` and a real one (MongoDB, Kafka) for the distributed
mode; one contract test suite per port runs against both. ``runtime`` turns a
service's pure decide functions into a command consumer with idempotency, outbox
relay and inline projection.
"""
