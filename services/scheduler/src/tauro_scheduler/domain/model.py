"""The value objects every scheduling decision works on: the rule and the policy enums.

``ScheduleRule`` is *when* a schedule fires: its kind, expression, IANA time zone and,
for INTERVAL schedules, the anchor instant its ticks are counted from. Constructing one
validates it (``ScheduleValidationError`` with field-level details otherwise) and
normalises it: the kind upper-cased, the anchor converted to UTC and truncated to the
second. The parsed expression and the resolved zone are cached on the instance.

The policy enums carry the API's spellings: overlap ``skip | buffer_one | allow_all |
cancel_running`` and catch-up ``none | latest | all``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from tauro_contracts.errors import ErrorDetail

from .errors import ScheduleValidationError, detail
from .expressions import (
    CronExpression,
    IntervalExpression,
    ScheduleKind,
    expression_errors,
    kind_errors,
    timezone_errors,
)

__all__ = [
    "DEFAULT_CATCH_UP",
    "DEFAULT_OVERLAP",
    "CatchUpPolicy",
    "OverlapPolicy",
    "ScheduleKind",
    "ScheduleRule",
]


class OverlapPolicy(StrEnum):
    """What a tick does while runs of the same schedule are active (see ``policies``)."""

    SKIP = "skip"
    BUFFER_ONE = "buffer_one"
    ALLOW_ALL = "allow_all"
    CANCEL_RUNNING = "cancel_running"


class CatchUpPolicy(StrEnum):
    """What happens to ticks missed while the scheduler was down (see ``policies``)."""

    NONE = "none"
    LATEST = "latest"
    ALL = "all"


DEFAULT_OVERLAP = OverlapPolicy.SKIP
DEFAULT_CATCH_UP = CatchUpPolicy.LATEST


@dataclass(frozen=True)
class ScheduleRule:
    """When a schedule fires. Validated and normalised on construction.

    ``anchor`` is required for INTERVAL (ticks are ``anchor + k * interval`` for every
    integer ``k``) and ignored by CRON. It must be timezone-aware.
    """

    kind: ScheduleKind | str  # a name is validated and becomes the ScheduleKind
    expression: str
    timezone: str = "UTC"
    anchor: datetime | None = None
    _parsed: CronExpression | IntervalExpression = field(init=False, repr=False, compare=False)
    _zone: ZoneInfo = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        errors: list[ErrorDetail] = []
        kind, problems = kind_errors(self.kind)
        errors += problems
        parsed = None
        if kind is not None:
            parsed, problems = expression_errors(kind, self.expression)
            errors += problems
        zone, problems = timezone_errors(self.timezone)
        errors += problems
        anchor = self.anchor
        if anchor is not None:
            if not isinstance(anchor, datetime) or anchor.utcoffset() is None:
                errors.append(detail("anchor", "the anchor must be a timezone-aware datetime"))
                anchor = None
            else:
                anchor = anchor.astimezone(UTC).replace(microsecond=0)
        elif kind is ScheduleKind.INTERVAL:
            message = "an INTERVAL schedule needs an anchor instant (e.g. its creation time)"
            errors.append(detail("anchor", message))
        if errors:
            raise ScheduleValidationError(errors)
        assert kind is not None and parsed is not None and zone is not None
        object.__setattr__(self, "kind", kind)
        object.__setattr__(self, "expression", self.expression.strip())
        object.__setattr__(self, "anchor", anchor)
        object.__setattr__(self, "_parsed", parsed)
        object.__setattr__(self, "_zone", zone)

    @property
    def zone(self) -> ZoneInfo:
        return self._zone

    @property
    def parsed(self) -> CronExpression | IntervalExpression:
        return self._parsed

    @property
    def cron(self) -> CronExpression:
        if not isinstance(self._parsed, CronExpression):
            raise TypeError("not a CRON schedule")
        return self._parsed

    @property
    def interval(self) -> IntervalExpression:
        if not isinstance(self._parsed, IntervalExpression):
            raise TypeError("not an INTERVAL schedule")
        return self._parsed
