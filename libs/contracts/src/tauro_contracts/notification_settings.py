"""Notification settings: who is told when a run ends, and on which outcomes.

The same block is accepted on a schedule (``config.notifications``), on a pipeline
(``config.notifications``, the default of all its runs) and on a run at creation
(``notifications``). Every field left out (``null``) is taken from the next, less specific
level: run, then schedule, then pipeline (``tauro_notifier.domain.settings.resolve``).

Format rules (an address that is not one, a URL that is not http(s), more than
``MAX_RECIPIENTS`` addresses) are checked by the model itself, so a bad value is a
VALIDATION_ERROR naming the field. Whether a webhook may point at a private address is a
deployment policy (``NOTIFY_ALLOW_PRIVATE_WEBHOOKS``), not a format: the gateway applies it
to incoming commands with ``notification_errors``; stored events are never re-judged by it.
This module imports nothing of the registry, so the pipeline model can use it.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator

from tauro_contracts.errors import ErrorDetail

MAX_RECIPIENTS = 20
MAX_URL_LENGTH = 2048
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
EMAIL_PATTERN = re.compile(rf"^[A-Za-z0-9.!#$%&'*+/=?^_`{{|}}~-]{{1,64}}@{_LABEL}(?:\.{_LABEL})*$")
PRIVATE_HOST_SUFFIXES = (".localhost", ".local", ".internal", ".localdomain")


def email_problem(address: str) -> str | None:
    """Why ``address`` is not a usable e-mail address, or None."""
    if not isinstance(address, str) or not address.strip():
        return "an e-mail address must be a non-empty string"
    if len(address) > 320:
        return "an e-mail address has at most 320 characters"
    if not EMAIL_PATTERN.match(address):
        return f"'{address}' is not an e-mail address (expected name@domain)"
    return None


def url_problem(url: str) -> str | None:
    """Why ``url`` cannot be a webhook URL (format only), or None."""
    if len(url) > MAX_URL_LENGTH:
        return f"a webhook URL has at most {MAX_URL_LENGTH} characters"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError as exc:
        return f"not a valid URL: {exc}"
    if parts.scheme not in ("http", "https"):
        return "a webhook URL must start with http:// or https://"
    if not parts.hostname:
        return "a webhook URL needs a host"
    if any(c.isspace() for c in url):
        return "a webhook URL cannot contain spaces"
    return None


def is_private_address(address: str) -> bool:
    """Loopback, private (RFC 1918, ULA), link-local, unspecified, reserved or multicast."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return bool(ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_unspecified or ip.is_reserved
                or ip.is_multicast)


def private_host_problem(url: str) -> str | None:
    """Why the webhook's host is private on its face (an IP literal or a local name), or None.
    Names are resolved and checked again when the notifier sends."""
    host = (urlsplit(url).hostname or "").rstrip(".").lower()
    if host == "localhost" or host.endswith(PRIVATE_HOST_SUFFIXES):
        return f"'{host}' is a local host name"
    try:
        private = is_private_address(host)
    except ValueError:
        return None
    return f"{host} is a private, loopback or link-local address" if private else None


_ADDRESS = {"type": "string", "maxLength": 320, "pattern": EMAIL_PATTERN.pattern}
EMAIL_SHAPE: dict[str, Any] = {"anyOf": [
    _ADDRESS, {"type": "array", "items": _ADDRESS, "maxItems": MAX_RECIPIENTS}, {"type": "null"}]}
_H = "[0-9A-Fa-f]{1,4}"
_IPV6 = "|".join((
    f"(?:{_H}:){{7}}{_H}", f"(?:{_H}:){{1,7}}:", f"(?:{_H}:){{1,6}}:{_H}", f"(?:{_H}:){{1,5}}(?::{_H}){{1,2}}",
    f"(?:{_H}:){{1,4}}(?::{_H}){{1,3}}", f"(?:{_H}:){{1,3}}(?::{_H}){{1,4}}", f"(?:{_H}:){{1,2}}(?::{_H}){{1,5}}",
    f"{_H}:(?::{_H}){{1,6}}", f":(?:(?::{_H}){{1,7}}|:)"))
_PORT = "(?:6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[0-9]{1,4})"
URL_PATTERN = re.compile(
    rf"^https?://(?:[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?|\[(?:{_IPV6})\])(?::{_PORT})?(?:[/?#]\S*)?$")
URL_SHAPE: dict[str, Any] = {"pattern": URL_PATTERN.pattern}
"""The shapes the validators below check, declared in the schema too (OpenAPI, client generators, fuzzers):
the API accepts exactly what they describe; whether a webhook's host is private is checked at the
gateway (422 ``private_address``)."""


class NotificationSettings(BaseModel):
    """When a run ends, whom to tell. ``null`` fields are inherited (run > schedule > pipeline);
    after inheritance a missing flag is false, except ``on_timeout``, which follows ``on_failure``."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    on_success: bool | None = Field(default=None, description="Notify when the run ends SUCCESS")
    on_failure: bool | None = Field(default=None, description="Notify when the run ends FAILED")
    on_timeout: bool | None = Field(default=None, description="Notify when the run ends TIMED_OUT "
                                    "(unset: as on_failure)")
    on_cancel: bool | None = Field(default=None, description="Notify when the run ends CANCELLED")
    email: str | list[str] | None = Field(default=None, description="One address, or a list of addresses "
                                          f"(at most {MAX_RECIPIENTS})", examples=["alerts@company.com"],
                                          json_schema_extra=EMAIL_SHAPE)
    webhook_url: str | None = Field(default=None, max_length=MAX_URL_LENGTH, json_schema_extra=URL_SHAPE,
                                    description="http(s) URL that gets a signed JSON POST (Slack-compatible 'text')")

    @field_validator("email")
    @classmethod
    def _emails(cls, value: str | list[str] | None) -> str | list[str] | None:
        if value is None:
            return None
        addresses = [value] if isinstance(value, str) else value
        if isinstance(value, str) and "," in value:
            raise ValueError("give several addresses as a list, not separated by commas")
        if len(addresses) > MAX_RECIPIENTS:
            raise ValueError(f"at most {MAX_RECIPIENTS} addresses")
        for i, address in enumerate(addresses):
            problem = email_problem(address)
            if problem:
                raise ValueError(problem if isinstance(value, str) else f"[{i}]: {problem}")
        return value

    @field_validator("webhook_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        problem = url_problem(value)
        if problem:
            raise ValueError(problem)
        if not URL_PATTERN.match(value):
            raise ValueError("a webhook URL is http(s)://host[:port][/path] (a host name, IPv4 or [IPv6] address)")
        return value

    def emails(self) -> list[str]:
        """The addresses, as a list (duplicates removed, order kept)."""
        if self.email is None:
            return []
        addresses = [self.email] if isinstance(self.email, str) else self.email
        return list(dict.fromkeys(addresses))


SETTINGS_PATHS: tuple[tuple[str, ...], ...] = (("notifications",), ("config", "notifications"),
                                               ("spec", "config", "notifications"))
"""Where commands carry notification settings: a run's ``notifications``, a schedule's
``config.notifications``, a pipeline definition's ``spec.config.notifications``."""

FIELD_NAMES: dict[tuple[str, ...], str] = {("spec", "config", "notifications"): "config.notifications"}


def settings_in(command: Any) -> Iterable[tuple[str, NotificationSettings]]:
    """Each notification settings block of a command, with its field name in the API body."""
    for path in SETTINGS_PATHS:
        value = command
        for name in path:
            # A model's fields are in its __dict__; getattr of a missing name makes pydantic
            # build an AttributeError, a fair share of the cost of POST /runs.
            value = getattr(value, "__dict__", {}).get(name)
            if value is None:
                break
        if isinstance(value, NotificationSettings):
            yield FIELD_NAMES.get(path, ".".join(path)), value


def notification_errors(command: Any, allow_private_webhooks: bool) -> list[ErrorDetail]:
    """The deployment's webhook policy applied to a command's settings: a webhook on a private,
    loopback or link-local address is refused unless ``NOTIFY_ALLOW_PRIVATE_WEBHOOKS``."""
    errors: list[ErrorDetail] = []
    if allow_private_webhooks:
        return errors
    for field, settings in settings_in(command):
        if settings.webhook_url is not None:
            problem = private_host_problem(settings.webhook_url)
            if problem:
                errors.append(ErrorDetail(
                    field=f"{field}.webhook_url", type="private_address",
                    message=f"{problem}: webhooks to private addresses are refused "
                            "(NOTIFY_ALLOW_PRIVATE_WEBHOOKS=true allows them)"))
    return errors
