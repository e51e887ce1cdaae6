"""Parsing and validation of schedule expressions and time zones.

CRON: the standard 5-field form ``minute hour day-of-month month day-of-week``.

- Each field is a comma-separated list of items: ``*``, ``*/n``, ``a``, ``a-b``, ``a-b/n``
  and ``a/n`` (= ``a-max/n``, as Vixie cron's and croniter's extension).
- Ranges: minute 0-59, hour 0-23, day-of-month 1-31, month 1-12 or ``jan``-``dec``,
  day-of-week 0-7 or ``sun``-``sat`` (0 and 7 are both Sunday). Names are
  case-insensitive and may be used in ranges (``mon-fri``). A range must not run
  backwards; a step is 1 up to the field's span.
- Day matching follows Vixie cron / cronie: if the day-of-month or the day-of-week field
  starts with ``*`` the day must match both fields; if neither does (both restricted),
  a day matching either fires (``0 0 1,15 * mon`` = the 1st, the 15th and every Monday).
- Aliases (as croniter accepts them): ``@yearly``/``@annually`` = ``0 0 1 1 *``,
  ``@monthly`` = ``0 0 1 * *``, ``@weekly`` = ``0 0 * * 0``, ``@daily``/``@midnight`` =
  ``0 0 * * *``, ``@hourly`` = ``0 * * * *``. ``@reboot`` is rejected (a schedule fires on
  time, not at start-up), as are 6- and 7-field forms (seconds, years) and the
  non-standard ``L``, ``W``, ``#``, ``?`` and ``H`` extensions.
- An expression that can never fire (``0 0 30 2 *``, ``0 0 31 4,6,9,11 *``) is rejected.

INTERVAL: whole numbers with units ``d``, ``h``, ``m``, ``s``, each at most once and in
that order: ``15s``, ``30m``, ``2h``, ``1d``, ``1h30m``, ``1d12h``. At least 1 second, at
most ``MAX_INTERVAL_DAYS`` days; lower-case units only (``M`` could be read as months).

Time zones are IANA names resolved with :mod:`zoneinfo` (``UTC``, ``Europe/Berlin``).

Every problem is reported as an ``ErrorDetail`` naming the request field
(``expression``, ``timezone`` or ``kind``); ``validate_schedule`` collects all of them,
the ``parse_*`` functions raise ``ScheduleValidationError`` with them.
"""

from __future__ import annotations

import re
from calendar import monthrange
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tauro_contracts.errors import ErrorDetail
from tauro_contracts.readmodels import ScheduleKind

from .errors import ScheduleValidationError, detail

MAX_EXPRESSION_LENGTH = 200
MAX_INTERVAL_DAYS = 3660

ALIASES: dict[str, str] = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}

_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")


@dataclass(frozen=True)
class _Field:
    name: str
    low: int
    high: int
    names: dict[str, int]


_FIELDS = (
    _Field("minute", 0, 59, {}),
    _Field("hour", 0, 23, {}),
    _Field("day-of-month", 1, 31, {}),
    _Field("month", 1, 12, {n: i + 1 for i, n in enumerate(_MONTHS)}),
    _Field("day-of-week", 0, 7, {n: i for i, n in enumerate(_DAYS)}),
)

# Files in a zoneinfo directory that are not IANA zones, or are host-dependent ("localtime")
# or count leap seconds ("right/...").
_NOT_IANA = frozenset({"localtime", "posixrules", "Factory"})
_NON_STANDARD = re.compile(r"^(?:\?|H|L|LW|[0-9]*[LW]|[0-9]*#[0-9]*|H\(.*)$", re.IGNORECASE)
_NUMBER = re.compile(r"[0-9]{1,9}")
_INTERVAL = re.compile(
    r"(?:(?P<d>[0-9]{1,9})d)?(?:(?P<h>[0-9]{1,9})h)?(?:(?P<m>[0-9]{1,9})m)?(?:(?P<s>[0-9]{1,9})s)?"
)
_INTERVAL_HINT = (
    "use whole numbers with units d, h, m, s in that order, each at most once (e.g. 15s, 1h30m, 1d12h)"
)


@dataclass(frozen=True)
class CronExpression:
    """A parsed 5-field cron: the sets of values each field allows (day-of-week 0-6, Sunday 0)."""

    source: str
    minutes: frozenset[int]
    hours: frozenset[int]
    days_of_month: frozenset[int]
    months: frozenset[int]
    days_of_week: frozenset[int]
    dom_restricted: bool
    dow_restricted: bool
    minute_list: tuple[int, ...] = field(init=False, repr=False, compare=False)
    hour_list: tuple[int, ...] = field(init=False, repr=False, compare=False)
    month_list: tuple[int, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "minute_list", tuple(sorted(self.minutes)))
        object.__setattr__(self, "hour_list", tuple(sorted(self.hours)))
        object.__setattr__(self, "month_list", tuple(sorted(self.months)))

    @property
    def hour_wildcard(self) -> bool:
        """True when the hour field allows all 24 hours (``*``, ``*/1``, ``0-23``, ...).

        Such a cron is evaluated on real elapsed time across DST changes (see ``timeline``).
        """
        return len(self.hours) == 24

    def day_matches(self, day: date) -> bool:
        if day.month not in self.months:
            return False
        dom_ok = day.day in self.days_of_month
        dow_ok = day.isoweekday() % 7 in self.days_of_week
        if self.dom_restricted and self.dow_restricted:
            return dom_ok or dow_ok
        return dom_ok and dow_ok

    def matches(self, wall: datetime) -> bool:
        """Does this local wall time match (its seconds and time zone are ignored)?"""
        return wall.minute in self.minutes and wall.hour in self.hours and self.day_matches(wall.date())


@dataclass(frozen=True)
class IntervalExpression:
    """A parsed interval: a fixed elapsed duration of whole seconds."""

    source: str
    seconds: int

    @property
    def delta(self) -> timedelta:
        return timedelta(seconds=self.seconds)

    @property
    def canonical(self) -> str:
        """The normal form, e.g. ``90m`` -> ``1h30m``."""
        rest = self.seconds
        parts = []
        for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
            amount, rest = divmod(rest, size)
            if amount:
                parts.append(f"{amount}{unit}")
        return "".join(parts)


# --------------------------------------------------------------------------- CRON


def _value(token: str, spec: _Field) -> tuple[int | None, str | None]:
    if _NUMBER.fullmatch(token):
        number = int(token)
        if not spec.low <= number <= spec.high:
            return None, f"{spec.name} field: value {number} is out of range {spec.low}-{spec.high}"
        return number, None
    if spec.names and token.lower() in spec.names:
        return spec.names[token.lower()], None
    if _NON_STANDARD.match(token):
        return None, f"{spec.name} field: non-standard cron syntax '{token}' is not supported"
    if spec.names:
        first, last = next(iter(spec.names)), list(spec.names)[-1]
        return None, f"{spec.name} field: '{token}' is not a number or a name ({first}-{last})"
    return None, f"{spec.name} field: '{token}' is not a number"


def _item(item: str, spec: _Field) -> tuple[set[int], list[str]]:
    if item == "":
        return set(), [f"{spec.name} field: empty list item"]
    base, slash, step_text = item.partition("/")
    step = 1
    if slash:
        if not _NUMBER.fullmatch(step_text):
            return set(), [f"{spec.name} field: step '{step_text}' in '{item}' is not a whole number"]
        step = int(step_text)
        span = spec.high - spec.low + (0 if spec.name == "day-of-week" else 1)
        if not 1 <= step <= span:
            return set(), [f"{spec.name} field: step {step} in '{item}' must be between 1 and {span}"]
    if base == "*":
        low, high = spec.low, spec.high
    else:
        start_text, dash, end_text = base.partition("-")
        if dash and not (start_text and end_text):
            return set(), [f"{spec.name} field: '{item}' is neither a value nor a range like 1-5"]
        low_value, error = _value(start_text, spec)
        if error:
            return set(), [error]
        assert low_value is not None
        low = high = low_value
        if dash:
            high_value, error = _value(end_text, spec)
            if error:
                return set(), [error]
            assert high_value is not None
            high = high_value
            if high < low:
                problem = f"{spec.name} field: range '{base}' runs backwards (start must not exceed end)"
                return set(), [problem]
        elif slash:
            high = spec.high
    return set(range(low, high + 1, step)), []


def _field(text: str, spec: _Field) -> tuple[set[int], list[str]]:
    values: set[int] = set()
    errors: list[str] = []
    for item in text.split(","):
        got, problems = _item(item, spec)
        values |= got
        errors += problems
    return values, errors


def _never_fires(months: set[int], days: set[int]) -> bool:
    """True when no day in ``days`` exists in any of ``months`` (29 February counts)."""
    longest = {month: 29 if month == 2 else monthrange(2001, month)[1] for month in months}
    return not any(day <= longest[month] for month in months for day in days)


def cron_errors(expression: str) -> tuple[CronExpression | None, list[ErrorDetail]]:
    """Parse a CRON expression; on failure return ``None`` and every problem found."""

    def bad(*messages: str) -> tuple[None, list[ErrorDetail]]:
        return None, [detail("expression", m, "invalid_cron") for m in messages]

    if not isinstance(expression, str) or not expression.strip():
        return bad("a CRON expression must not be empty; e.g. '0 2 * * *' fires daily at 02:00")
    text = expression.strip()
    if len(text) > MAX_EXPRESSION_LENGTH:
        return bad(f"a CRON expression must be at most {MAX_EXPRESSION_LENGTH} characters")
    if text.startswith("@"):
        alias = text.lower()
        if alias == "@reboot":
            return bad("@reboot is not supported: a schedule fires on time, not at start-up")
        if alias not in ALIASES:
            return bad(f"unknown alias '{text}'; supported: {', '.join(ALIASES)}")
        text = ALIASES[alias]
    parts = text.split()
    if len(parts) != 5:
        extra = " (seconds and year fields are not supported)" if len(parts) in (6, 7) else ""
        return bad(
            "a CRON expression has 5 fields (minute hour day-of-month month day-of-week); "
            f"got {len(parts)}{extra}"
        )
    values: list[set[int]] = []
    problems: list[str] = []
    for part, spec in zip(parts, _FIELDS, strict=True):
        got, errors = _field(part, spec)
        values.append(got)
        problems += errors
    if problems:
        return bad(*problems)
    minutes, hours, days, months, weekdays = values
    weekdays = {d % 7 for d in weekdays}
    dom_restricted = not parts[2].startswith("*")
    dow_restricted = not parts[4].startswith("*")
    if not (dom_restricted and dow_restricted) and _never_fires(months, days):
        return bad(f"the expression never fires: day-of-month {parts[2]} does not occur in month {parts[3]}")
    return (
        CronExpression(
            source=expression.strip(),
            minutes=frozenset(minutes),
            hours=frozenset(hours),
            days_of_month=frozenset(days),
            months=frozenset(months),
            days_of_week=frozenset(weekdays),
            dom_restricted=dom_restricted,
            dow_restricted=dow_restricted,
        ),
        [],
    )


def parse_cron(expression: str) -> CronExpression:
    parsed, errors = cron_errors(expression)
    if parsed is None:
        raise ScheduleValidationError(errors)
    return parsed


# --------------------------------------------------------------------------- INTERVAL


def interval_errors(expression: str) -> tuple[IntervalExpression | None, list[ErrorDetail]]:
    """Parse an INTERVAL expression; on failure return ``None`` and the problem."""

    def bad(message: str) -> tuple[None, list[ErrorDetail]]:
        return None, [detail("expression", message, "invalid_interval")]

    if not isinstance(expression, str) or not expression.strip():
        return bad(f"an INTERVAL expression must not be empty; {_INTERVAL_HINT}")
    text = expression.strip()
    if text.startswith("-"):
        return bad(f"an interval cannot be negative: '{text}'")
    found = _INTERVAL.fullmatch(text)
    if found is None or not any(found.groupdict().values()):
        return bad(f"'{text}' is not an interval; {_INTERVAL_HINT}")
    amounts = {unit: int(value or 0) for unit, value in found.groupdict().items()}
    seconds = amounts["d"] * 86400 + amounts["h"] * 3600 + amounts["m"] * 60 + amounts["s"]
    if seconds < 1:
        return bad(f"an interval must be at least 1 second; got '{text}'")
    if seconds > MAX_INTERVAL_DAYS * 86400:
        return bad(f"an interval must be at most {MAX_INTERVAL_DAYS}d; got '{text}'")
    return IntervalExpression(source=text, seconds=seconds), []


def parse_interval(expression: str) -> IntervalExpression:
    parsed, errors = interval_errors(expression)
    if parsed is None:
        raise ScheduleValidationError(errors)
    return parsed


# --------------------------------------------------------------------------- time zones and kinds


def timezone_errors(name: str) -> tuple[ZoneInfo | None, list[ErrorDetail]]:
    """Resolve an IANA time zone name; on failure return ``None`` and the problem."""
    problem = [
        detail(
            "timezone",
            f"unknown time zone '{name}'; use an IANA name such as 'UTC' or 'Europe/Berlin'",
            "unknown_timezone",
        )
    ]
    if not isinstance(name, str) or not name.strip() or name != name.strip():
        return None, problem
    if name in _NOT_IANA or name.startswith(("posix/", "right/")):
        return None, problem
    try:
        return ZoneInfo(name), []
    except (ZoneInfoNotFoundError, ValueError, OSError, TypeError):
        return None, problem


def parse_timezone(name: str) -> ZoneInfo:
    zone, errors = timezone_errors(name)
    if zone is None:
        raise ScheduleValidationError(errors)
    return zone


def kind_errors(kind: str) -> tuple[ScheduleKind | None, list[ErrorDetail]]:
    try:
        return ScheduleKind(str(kind).upper()), []
    except ValueError:
        return None, [detail("kind", f"kind must be CRON or INTERVAL; got '{kind}'", "invalid_kind")]


def expression_errors(
    kind: ScheduleKind, expression: str
) -> tuple[CronExpression | IntervalExpression | None, list[ErrorDetail]]:
    if kind is ScheduleKind.CRON:
        return cron_errors(expression)
    return interval_errors(expression)


def parse_expression(kind: ScheduleKind | str, expression: str) -> CronExpression | IntervalExpression:
    parsed_kind, errors = kind_errors(kind)
    if parsed_kind is None:
        raise ScheduleValidationError(errors)
    parsed, errors = expression_errors(parsed_kind, expression)
    if parsed is None:
        raise ScheduleValidationError(errors)
    return parsed


def validate_schedule(kind: str, expression: str, timezone: str = "UTC") -> list[ErrorDetail]:
    """Every problem with a (kind, expression, timezone) triple; empty when it is valid."""
    errors: list[ErrorDetail] = []
    parsed_kind, problems = kind_errors(kind)
    errors += problems
    if parsed_kind is not None:
        errors += expression_errors(parsed_kind, expression)[1]
    errors += timezone_errors(timezone)[1]
    return errors
