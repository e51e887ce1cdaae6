"""MongoDB schema migrations: numbered, recorded, applied in order, reversible.

Each migration is a module ``versions/NNNN_name.py`` with a ``description`` and async
``up(db)`` / ``down(db)``. Applied migrations are recorded in ``_migrations``.
``python -m tauro_platform.migrations up | down [--to N] | status | create NAME``;
services apply pending migrations at start-up when ``AUTO_MIGRATE`` is on (default).
"""
