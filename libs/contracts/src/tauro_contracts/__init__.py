"""Tauro's shared contracts.

Everything that crosses a process boundary is defined here: the command and event
payloads (pydantic v2, frozen, no extra fields), the envelopes that carry them, the
registry that maps type names to classes and Kafka topics, error codes, and the
pipeline definition model with its validation rules. Services import only this and
``tauro_platform``, never each other.
"""
