"""The runs service: owns projects, pipelines and runs.

It consumes ``tauro.commands.runs``, decides with the pure functions in ``domain``,
appends the resulting events to the event store, and keeps the read models the
gateway serves (projects, pipelines, config versions, runs) up to date.
"""
