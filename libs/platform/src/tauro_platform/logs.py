"""Structured logging: JSON lines (or plain text) with the ``extra`` fields of each record.

Each JSON line also carries the fields bound to the current task (request id, run id,
command id; see ``observability.logcontext``) and the current trace and span ids. No
secrets: fields named like a secret are masked, credentials in URLs are hidden, and a
settings object is never written out.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any

from pydantic_settings import BaseSettings

from tauro_platform.observability.logcontext import bound
from tauro_platform.observability.tracing import current_ids

_STANDARD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}
SECRET_WORDS = ("secret", "password", "passwd", "api_key", "apikey", "token", "authorization", "cookie",
                "credential", "private_key")
_URL_CREDENTIALS = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)[^/@\s:]+:[^/@\s]+@")
MASK = "***"


def redact(value: Any) -> Any:
    """``value`` safe to log: credentials in URLs hidden, settings objects left out."""
    if isinstance(value, BaseSettings):
        return "<settings>"
    if isinstance(value, str):
        return _URL_CREDENTIALS.sub(r"\g<scheme>***:***@", value)
    return value


def _is_secret(key: str) -> bool:
    return any(word in key.lower() for word in SECRET_WORDS)


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self._service = service

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "timestamp": datetime.fromtimestamp(record.created, UTC).isoformat().replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "service": self._service,
            "message": redact(record.getMessage()),
        }
        ids = current_ids()
        if ids is not None:
            entry["trace_id"], entry["span_id"] = ids
        fields = {**bound(), **{k: v for k, v in record.__dict__.items()
                                           if k not in _STANDARD and not k.startswith("_")}}
        for key, value in fields.items():
            entry[key] = MASK if _is_secret(key) else redact(value)
        if record.exc_info:
            entry["exception"] = redact(self.formatException(record.exc_info))
        return json.dumps(entry, default=str)


class TextFormatter(logging.Formatter):
    """Plain lines, with the trace id when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        ids = current_ids()
        record.trace = f" trace={ids[0]}" if ids else ""
        return str(redact(super().format(record)))


def configure_logging(service: str, level: str = "INFO", fmt: str = "json") -> None:
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(JsonFormatter(service))
    else:
        handler.setFormatter(TextFormatter(f"%(asctime)s %(levelname)s [{service}] %(name)s: %(message)s%(trace)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("aiokafka", "pymongo", "uvicorn.access"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
