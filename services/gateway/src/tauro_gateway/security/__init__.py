"""Authentication, authorization and rate limiting of the REST API.

- :mod:`.middleware` authenticates every request that its route's rule does not make
  public (API key or bearer token), rate-limits it per key (or per client address), and
  puts the principal on the request; the principal is the ``actor`` of every command.
- :mod:`.rules` is the access rule of every route, keyed by method and path; a route
  without a rule is refused (and fails the test that checks the table against the
  OpenAPI document).
- :mod:`.authorize` applies a route's rule to the request (the project in the path, in
  the body, or of the object named in the path) and hands the route a read store
  scoped to the caller's projects (:mod:`.scoped`), so lists only show those.
"""
