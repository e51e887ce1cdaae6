"""The message bus port: Kafka semantics (topics, partitions, consumer groups, committed offsets)."""

from tauro_platform.bus.port import Bus, Handler, Message, Subscription

__all__ = ["Bus", "Handler", "Message", "Subscription"]
