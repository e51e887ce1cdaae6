"""The security middleware: authenticate, rate-limit, and name the actor, before any route runs.

A client address that sent ``RATE_LIMIT_AUTH_FAILURES`` refused credentials within
``RATE_LIMIT_AUTH_WINDOW`` seconds gets 429 for every authenticated request until the window
turns, before its credentials are checked (``ratelimit.FailureLimiter``).

It sits inside CORS (so preflights need no credentials and refusals carry CORS
headers) and inside the request-context middleware (so 401 and 429 carry the request
id and the security headers). It finds the route itself, so an unauthenticated
request gets 401 before its body is even parsed, and a route without a rule is
refused with 403 whatever the caller holds.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi.routing import APIRoute, RouteContext, iter_route_contexts
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tauro_gateway.middleware import error_body
from tauro_gateway.security.authn import Authenticator, AuthError, challenge
from tauro_gateway.security.principal import ANONYMOUS, Principal
from tauro_gateway.security.ratelimit import FailureLimiter, RateLimiter, Verdict
from tauro_gateway.security.rules import DOCS, NO_RULE, UI, Access, Rule, rule_for

log = logging.getLogger("tauro.gateway.security")


def route_templates(app: Any) -> list[tuple[RouteContext, str | None]]:
    """Every route with its full path template (None for routes FastAPI serves itself)."""
    return [(rc, rc.path_format if isinstance(rc.original_route, APIRoute) else None)
            for rc in iter_route_contexts(app.routes)]


def route_rule(scope: Scope) -> Rule | None:
    """The rule of the route this request goes to; None when no route matches (404/405)."""
    app = scope["app"]
    routes = getattr(app.state, "security_routes", None)
    if routes is None:
        routes = app.state.security_routes = route_templates(app)
    for route, template in routes:
        match, _ = route.matches(scope)
        if match is Match.FULL:
            if template is None:
                return UI if scope["path"] == "/" or scope["path"].startswith("/ui") else DOCS
            return rule_for(scope["method"], template) or NO_RULE
    return None


class SecurityMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] == "OPTIONS":
            await self.app(scope, receive, send)
            return
        ctx = scope["app"].state.ctx
        settings = ctx.settings
        state = scope.setdefault("state", {})
        rule = route_rule(scope)
        principal: Principal | None = ANONYMOUS
        if settings.enable_auth:
            principal = None
            if rule is None or rule.access is not Access.PUBLIC:
                guard = FailureLimiter(ctx.read_store, settings.rate_limit_auth_failures,
                                       settings.rate_limit_auth_window)
                address = _address(scope)
                verdict = await guard.check(address)
                if not verdict.allowed:
                    await _refuse_failures(send, state, verdict)
                    return
                headers = {k.lower(): v for k, v in scope["headers"]}
                try:
                    principal = await Authenticator(settings, ctx.read_store).authenticate(headers)
                except AuthError as exc:
                    if exc.offered and not (verdict := await guard.failed(address)).allowed:
                        await _refuse_failures(send, state, verdict)
                        return
                    await _refuse(send, state, 401, "UNAUTHORIZED", exc.message,
                                  [(b"www-authenticate", challenge(settings, exc).encode())])
                    return
        if rule is NO_RULE and settings.enable_auth:
            log.error("route without an access rule refused", extra={"path": scope.get("path")})
            await _refuse(send, state, 403, "FORBIDDEN", "this route has no access rule")
            return
        state["principal"] = principal
        state["access_rule"] = rule
        state["actor"] = principal.actor if principal else None
        extra: list[tuple[bytes, bytes]] = []
        if settings.rate_limit_enabled and (rule is None or rule.rate_limited):
            limiter = RateLimiter(ctx.read_store, settings.rate_limit_requests, settings.rate_limit_window)
            verdict = await limiter.hit(_subject(scope, principal))
            extra = [(b"x-ratelimit-limit", str(verdict.limit).encode()),
                     (b"x-ratelimit-remaining", str(verdict.remaining).encode()),
                     (b"x-ratelimit-reset", str(verdict.retry_after).encode())]
            if not verdict.allowed:
                await _refuse(send, state, 429, "RATE_LIMIT_EXCEEDED",
                              f"over {verdict.limit} requests in {limiter.window} s; retry in {verdict.retry_after} s",
                              [(b"retry-after", str(verdict.retry_after).encode()), *extra])
                return

        async def send_with_limits(message: Message) -> None:
            if message["type"] == "http.response.start" and extra:
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, send_with_limits)


def _subject(scope: Scope, principal: Principal | None) -> str:
    if principal is not None and principal.key_id is not None:
        return f"key:{principal.key_id}"
    return _address(scope)


def _address(scope: Scope) -> str:
    client = scope.get("client")
    return f"addr:{client[0] if client else 'unknown'}"


async def _refuse_failures(send: Send, state: dict[str, Any], verdict: Verdict) -> None:
    """429 for an address over its budget of refused credentials (checked before any credential)."""
    log.warning("client address over its budget of failed authentications", extra={"limit": verdict.limit})
    await _refuse(send, state, 429, "RATE_LIMIT_EXCEEDED",
                  f"too many failed authentication attempts from this address (over {verdict.limit}); "
                  f"retry in {verdict.retry_after} s", [(b"retry-after", str(verdict.retry_after).encode())])


async def _refuse(send: Send, state: dict[str, Any], status: int, code: str, message: str,
                  headers: list[tuple[bytes, bytes]] | None = None) -> None:
    body = error_body(code, message, state.get("request_id", ""))
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), *(headers or [])]})
    await send({"type": "http.response.body", "body": body})



