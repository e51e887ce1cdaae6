"""The service runtime: command processing, request/reply, outbox relay and projections."""
