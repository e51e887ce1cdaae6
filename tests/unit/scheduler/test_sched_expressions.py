"""Parsing and validation of CRON and INTERVAL expressions, time zones and the rule model."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from croniter import croniter
from hypothesis import given, settings
from hypothesis import strategies as st
from sched_support import cron_field
from tauro_contracts.errors import ErrorCode
from tauro_scheduler.domain import (
    ScheduleKind,
    ScheduleRule,
    ScheduleValidationError,
    parse_cron,
    parse_interval,
    parse_timezone,
    validate_schedule,
)

# ------------------------------------------------------------------------- CRON: valid


@pytest.mark.parametrize(
    ("expression", "field", "expected"),
    [
        ("0 2 * * *", "hours", {2}),
        ("*/15 * * * *", "minutes", {0, 15, 30, 45}),
        ("5-20/5 * * * *", "minutes", {5, 10, 15, 20}),
        ("5/20 * * * *", "minutes", {5, 25, 45}),
        ("1,2,3 * * * *", "minutes", {1, 2, 3}),
        ("0 9-17 * * *", "hours", set(range(9, 18))),
        ("0 0 1,15 * *", "days_of_month", {1, 15}),
        ("0 0 * jan-mar *", "months", {1, 2, 3}),
        ("0 0 * JUL,dec *", "months", {7, 12}),
        ("0 9 * * mon-fri", "days_of_week", {1, 2, 3, 4, 5}),
        ("0 9 * * 1-5", "days_of_week", {1, 2, 3, 4, 5}),
        ("0 0 * * 7", "days_of_week", {0}),
        ("0 0 * * 5-7", "days_of_week", {0, 5, 6}),
        ("0 0 * * SUN", "days_of_week", {0}),
        ("0 0 * * */2", "days_of_week", {0, 2, 4, 6}),
        ("  0   0 *  * *  ", "hours", {0}),
        ("*/60 * * * *", "minutes", {0}),
        ("5-5 * * * *", "minutes", {5}),  # croniter reads "a-a" as "*"; cronie and we read it as "a"
        ("0 0 * * 0-0", "days_of_week", {0}),
    ],
)
def test_cron_fields(expression: str, field: str, expected: set[int]) -> None:
    assert getattr(parse_cron(expression), field) == expected


@pytest.mark.parametrize(
    ("alias", "equivalent"),
    [
        ("@yearly", "0 0 1 1 *"),
        ("@annually", "0 0 1 1 *"),
        ("@monthly", "0 0 1 * *"),
        ("@weekly", "0 0 * * 0"),
        ("@daily", "0 0 * * *"),
        ("@midnight", "0 0 * * *"),
        ("@hourly", "0 * * * *"),
        ("@DAILY", "0 0 * * *"),
    ],
)
def test_aliases(alias: str, equivalent: str) -> None:
    a, b = parse_cron(alias), parse_cron(equivalent)
    assert (a.minutes, a.hours, a.days_of_month, a.months, a.days_of_week) == (
        b.minutes,
        b.hours,
        b.days_of_month,
        b.months,
        b.days_of_week,
    )
    assert (a.dom_restricted, a.dow_restricted) == (b.dom_restricted, b.dow_restricted)


def test_spec_examples_parse() -> None:
    for expression in [
        "0 0 * * *",
        "0 * * * *",
        "0 0 * * 0",
        "0 0 1 * *",
        "0 2 * * *",
        "*/15 * * * *",
        "0 9 * * 1-5",
    ]:
        parse_cron(expression)


def test_hour_wildcard_is_decided_by_values_not_spelling() -> None:
    assert parse_cron("*/15 * * * *").hour_wildcard
    assert parse_cron("0 */1 * * *").hour_wildcard
    assert parse_cron("0 0-23 * * *").hour_wildcard
    assert parse_cron("0 0-11,12-23 * * *").hour_wildcard
    assert not parse_cron("0 */2 * * *").hour_wildcard
    assert not parse_cron("30 1 * * *").hour_wildcard


def test_day_fields_or_when_both_restricted_and_when_star_prefixed() -> None:
    both = parse_cron("0 0 1,15 * mon")  # the 1st, the 15th, and every Monday
    assert both.day_matches(datetime(2024, 1, 1).date())  # Monday and the 1st
    assert both.day_matches(datetime(2024, 1, 8).date())  # Monday
    assert both.day_matches(datetime(2024, 1, 15).date())
    assert not both.day_matches(datetime(2024, 1, 9).date())
    star_step = parse_cron("0 0 */2 * 1")  # Vixie: '*'-prefixed dom -> both must match
    assert star_step.day_matches(datetime(2024, 1, 1).date())  # odd day, Monday
    assert not star_step.day_matches(datetime(2024, 1, 8).date())  # even day, Monday
    assert not star_step.day_matches(datetime(2024, 1, 3).date())  # odd day, Wednesday
    dom_only = parse_cron("0 0 13 * *")
    assert dom_only.day_matches(datetime(2024, 2, 13).date())
    assert not dom_only.day_matches(datetime(2024, 2, 14).date())


# ------------------------------------------------------------------------- CRON: invalid


@pytest.mark.parametrize(
    ("expression", "fragment"),
    [
        ("", "must not be empty"),
        ("   ", "must not be empty"),
        ("* * * *", "got 4"),
        ("0 0 * * * *", "seconds and year fields are not supported"),
        ("0 0 0 * * * 2024", "got 7"),
        ("@reboot", "@reboot is not supported"),
        ("@every 5m", "unknown alias"),
        ("60 * * * *", "minute field: value 60 is out of range 0-59"),
        ("* 24 * * *", "hour field: value 24 is out of range 0-23"),
        ("* * 0 * *", "day-of-month field: value 0 is out of range 1-31"),
        ("* * 32 * *", "day-of-month field: value 32"),
        ("* * * 13 *", "month field: value 13"),
        ("* * * 0 *", "month field: value 0"),
        ("* * * * 8", "day-of-week field: value 8"),
        ("* * * foo *", "month field: 'foo' is not a number or a name"),
        ("* * * * funday", "day-of-week field: 'funday'"),
        ("mon * * * *", "minute field: 'mon' is not a number"),
        ("5-2 * * * *", "runs backwards"),
        ("* * * * fri-mon", "runs backwards"),
        ("*/0 * * * *", "step 0"),
        ("*/61 * * * *", "step 61"),
        ("*/x * * * *", "step 'x'"),
        ("1,,2 * * * *", "empty list item"),
        ("-1 * * * *", "'-1' is neither a value nor a range"),
        ("1- * * * *", "'1-' is neither a value nor a range"),
        ("0 0 L * *", "non-standard cron syntax 'L'"),
        ("0 0 15W * *", "non-standard cron syntax '15W'"),
        ("0 0 * * 1#2", "non-standard cron syntax '1#2'"),
        ("0 0 ? * *", "non-standard cron syntax '?'"),
        ("H * * * *", "non-standard cron syntax 'H'"),
        ("0 0 * * 5L", "non-standard cron syntax '5L'"),
        ("0 0 30 2 *", "never fires"),
        ("0 0 31 4,6,9,11 *", "never fires"),
        ("1.5 * * * *", "minute field"),
        ("\u00b2 * * * *", "minute field: '\u00b2' is not a number"),
        ("*/\u0661 * * * *", "is not a whole number"),
        ("0 0 * * * " + "x" * 300, "at most 200 characters"),
    ],
)
def test_invalid_cron(expression: str, fragment: str) -> None:
    with pytest.raises(ScheduleValidationError) as caught:
        parse_cron(expression)
    error = caught.value
    assert error.code is ErrorCode.VALIDATION_ERROR
    assert all(d.field == "expression" for d in error.details)
    assert any(fragment in d.message for d in error.details), [d.message for d in error.details]


def test_every_bad_field_is_reported() -> None:
    with pytest.raises(ScheduleValidationError) as caught:
        parse_cron("61 25 * 13 *")
    messages = [d.message for d in caught.value.details]
    assert len(messages) == 3
    assert {m.split(" field")[0] for m in messages} == {"minute", "hour", "month"}


def test_leap_day_and_restricted_dow_are_satisfiable() -> None:
    parse_cron("0 0 29 2 *")
    parse_cron("0 0 30 2 mon")  # dom and dow both restricted: OR, so Mondays in February fire
    parse_cron("0 0 31 * *")


# ------------------------------------------------------------------------- CRON vs croniter expansion


def _croniter_sets(expression: str) -> list[set[int]]:
    ranges = [(0, 59), (0, 23), (1, 31), (1, 12), (0, 6)]
    fields = croniter.expand(expression)[0]
    out = []
    for values, (low, high) in zip(fields, ranges, strict=True):
        expanded: set[int] = set()
        for v in values:
            expanded |= set(range(low, high + 1)) if v == "*" else {int(v) % 7 if high == 6 else int(v)}
        out.append(expanded)
    return out


@settings(max_examples=100, deadline=None)
@given(cron_field(0, 59), cron_field(0, 23), cron_field(1, 31), cron_field(1, 12), cron_field(0, 7))
def test_field_sets_agree_with_croniter(m: str, h: str, dom: str, mon: str, dow: str) -> None:
    expression = f"{m} {h} {dom} {mon} {dow}"
    try:
        mine = parse_cron(expression)
    except ScheduleValidationError as error:
        assert any("never fires" in d.message for d in error.details)
        return
    theirs = _croniter_sets(expression)
    assert [mine.minutes, mine.hours, mine.days_of_month, mine.months, mine.days_of_week] == theirs


# ------------------------------------------------------------------------- INTERVAL


@pytest.mark.parametrize(
    ("expression", "seconds", "canonical"),
    [
        ("15s", 15, "15s"),
        ("30m", 1800, "30m"),
        ("2h", 7200, "2h"),
        ("1d", 86400, "1d"),
        ("1h30m", 5400, "1h30m"),
        ("1d12h", 129600, "1d12h"),
        ("1d2h3m4s", 93784, "1d2h3m4s"),
        ("90m", 5400, "1h30m"),
        ("1s", 1, "1s"),
        ("0h1s", 1, "1s"),
        (" 5m ", 300, "5m"),
        ("3660d", 3660 * 86400, "3660d"),
    ],
)
def test_intervals(expression: str, seconds: int, canonical: str) -> None:
    parsed = parse_interval(expression)
    assert parsed.seconds == seconds
    assert parsed.delta == timedelta(seconds=seconds)
    assert parsed.canonical == canonical


@pytest.mark.parametrize(
    ("expression", "fragment"),
    [
        ("", "must not be empty"),
        ("0s", "at least 1 second"),
        ("0d0h0m0s", "at least 1 second"),
        ("-5m", "cannot be negative"),
        ("-0s", "cannot be negative"),
        ("5", "is not an interval"),
        ("m", "is not an interval"),
        ("1m1h", "is not an interval"),
        ("1h1h", "is not an interval"),
        ("1h 30m", "is not an interval"),
        ("1.5h", "is not an interval"),
        ("1H", "is not an interval"),
        ("1w", "is not an interval"),
        ("P1D", "is not an interval"),
        ("\u0661h", "is not an interval"),
        ("abc", "is not an interval"),
        ("3661d", "at most 3660d"),
        ("9999999999s", "is not an interval"),
    ],
)
def test_invalid_intervals(expression: str, fragment: str) -> None:
    with pytest.raises(ScheduleValidationError) as caught:
        parse_interval(expression)
    [problem] = caught.value.details
    assert problem.field == "expression"
    assert fragment in problem.message


@given(st.integers(0, 400), st.integers(0, 23), st.integers(0, 59), st.integers(0, 59))
def test_interval_round_trip(d: int, h: int, m: int, s: int) -> None:
    total = d * 86400 + h * 3600 + m * 60 + s
    text = "".join(f"{n}{u}" for n, u in ((d, "d"), (h, "h"), (m, "m"), (s, "s")) if n)
    if total == 0:
        return
    parsed = parse_interval(text)
    assert parsed.seconds == total
    assert parse_interval(parsed.canonical).seconds == total


# ------------------------------------------------------------------------- time zones, kinds, rules


@pytest.mark.parametrize("name", ["UTC", "Etc/UTC", "Europe/Berlin", "America/New_York", "Australia/Sydney"])
def test_known_zones(name: str) -> None:
    assert parse_timezone(name).key == name


@pytest.mark.parametrize(
    "name",
    [
        "",
        "Mars/Base",
        "Europe/Berln",
        "../etc/passwd",
        "/etc/localtime",
        "America",
        " UTC",
        "EST5EDT,M3.2.0,M11.1.0",
        "localtime",
        "Factory",
        "posixrules",
        "right/UTC",
        "posix/Europe/Berlin",
    ],
)
def test_unknown_zones(name: str) -> None:
    with pytest.raises(ScheduleValidationError) as caught:
        parse_timezone(name)
    [problem] = caught.value.details
    assert problem.field == "timezone"
    assert problem.type == "unknown_timezone"


def test_validate_schedule_collects_every_field() -> None:
    assert validate_schedule("CRON", "0 2 * * *", "Europe/Berlin") == []
    assert validate_schedule("interval", "15s") == []
    problems = validate_schedule("CRON", "61 * * * *", "Nowhere/City")
    assert [p.field for p in problems] == ["expression", "timezone"]
    problems = validate_schedule("WEEKLY", "0s", "UTC")
    assert [p.field for p in problems] == ["kind"]
    assert [p.field for p in validate_schedule("INTERVAL", "0s", "UTC")] == ["expression"]


def test_rule_normalises() -> None:
    anchor = datetime(2024, 5, 1, 12, 30, 15, 987654, tzinfo=timezone(timedelta(hours=2)))
    rule = ScheduleRule("interval", " 1h30m ", "Europe/Berlin", anchor)  # type: ignore[arg-type]
    assert rule.kind is ScheduleKind.INTERVAL
    assert rule.expression == "1h30m"
    assert rule.anchor == datetime(2024, 5, 1, 10, 30, 15, tzinfo=UTC)
    assert rule.anchor is not None and rule.anchor.tzinfo is UTC
    assert rule.interval.seconds == 5400
    assert rule.zone.key == "Europe/Berlin"
    with pytest.raises(TypeError):
        _ = rule.cron
    same = ScheduleRule(ScheduleKind.INTERVAL, "1h30m", "Europe/Berlin", anchor.astimezone(UTC))
    assert same == rule and hash(same) == hash(rule)


def test_rule_rejects_with_every_detail() -> None:
    with pytest.raises(ScheduleValidationError) as caught:
        ScheduleRule(ScheduleKind.CRON, "* * *", "Nowhere/City", datetime(2024, 1, 1))
    assert [d.field for d in caught.value.details] == ["expression", "timezone", "anchor"]
    with pytest.raises(ScheduleValidationError) as caught:
        ScheduleRule(ScheduleKind.INTERVAL, "15s")
    assert [d.field for d in caught.value.details] == ["anchor"]
    assert caught.value.to_dict()["code"] == "VALIDATION_ERROR"


def test_cron_rule_needs_no_anchor() -> None:
    rule = ScheduleRule(ScheduleKind.CRON, "@daily", "Australia/Sydney")
    assert rule.cron.hours == {0}
    with pytest.raises(TypeError):
        _ = rule.interval
