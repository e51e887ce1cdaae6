"""The ``tauro`` command. ``tauro dev`` runs the whole platform in one process on the
embedded adapters (SQLite event store and bus, in-memory read models rebuilt from
the log), the way ``temporal server start-dev`` does."""
