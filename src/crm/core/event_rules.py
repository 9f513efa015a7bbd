"""Event rules: which interactions make an event of a code, and the SQL that tests it.

`EventRule` is the data a journey model configures; `rule_condition` turns it into a SQLAlchemy
condition over `tables.interaction`, which `crm.EventSequences` (crm.core.events) puts in its CASE
and which a plugin may reuse for an aggregate of its own, so both count the same interactions.
`epoch_seconds` and `before_window_end` are the time arithmetic of that statement, per dialect.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from attrs import field, frozen
from sqlalchemy import (
    BigInteger,
    ColumnElement,
    DateTime,
    Integer,
    and_,
    cast,
    func,
    literal,
    literal_column,
    or_,
    true,
    type_coerce,
)
from sqlalchemy.types import String

from crm.core.schema import Tables

STAGE_CHANGE = "stage_change"


def _as_tuple(value: Sequence[str] | str) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value)


@frozen
class EventRule:
    """Which interactions make an event of one code (the rule's position in the rule list).

    An interaction matches when its kind is one of `kinds`, or it is a `stage_change` whose stage
    is one of `stages` (either suffices; with neither, every kind matches), and, when given, its
    channel is one of `channels` and its campaign one of `campaigns`. A value ending in `*`
    matches by prefix (`"black-friday-*"`). An interaction matching several rules gets the code
    of the first, so list specific rules before general ones.
    """

    kinds: tuple[str, ...] = field(default=(), converter=_as_tuple)
    stages: tuple[str, ...] = field(default=(), converter=_as_tuple)
    channels: tuple[str, ...] = field(default=(), converter=_as_tuple)
    campaigns: tuple[str, ...] = field(default=(), converter=_as_tuple)


def _one_of(column: Any, values: tuple[str, ...]) -> ColumnElement[bool]:
    exact = [v for v in values if not v.endswith("*")]
    prefixes = [v[:-1] for v in values if v.endswith("*")]
    tests: list[ColumnElement[bool]] = [column.in_(exact)] if exact else []
    tests += [column.startswith(prefix, autoescape=True) for prefix in prefixes]
    return or_(*tests)


def rule_condition(tables: Tables, rule: EventRule) -> ColumnElement[bool]:
    """The SQL condition under which an interaction matches `rule`."""
    i = tables.interaction
    what: list[ColumnElement[bool]] = []
    if rule.kinds:
        what.append(_one_of(i.c.kind, rule.kinds))
    if rule.stages:
        what.append(and_(i.c.kind == STAGE_CHANGE, _one_of(i.c.stage, rule.stages)))
    condition: ColumnElement[bool] = or_(*what) if what else true()
    if rule.channels:
        condition = and_(condition, _one_of(i.c.channel, rule.channels))
    if rule.campaigns:
        condition = and_(condition, _one_of(i.c.campaign, rule.campaigns))
    return condition


def _moment(value: date | datetime) -> datetime:
    # A date means midnight UTC at its start, as everywhere in crm (times are stored naive UTC).
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value
    return datetime.combine(value, time.min)


def epoch_seconds(column: Any, dialect: str) -> ColumnElement[Any]:
    """Whole seconds since 1970 (UTC) computed in SQL: integers cross the wire, not datetimes."""
    # Rounded to the nearest second on both, so they agree. SQLite: julianday arithmetic, three
    # times faster than strftime('%s') (measured on 1M rows); its error is far below a second.
    if dialect == "sqlite":
        return cast(func.round((func.julianday(column) - 2440587.5) * 86400.0), Integer)
    if dialect == "postgresql":
        return cast(func.round(func.extract("epoch", column)), BigInteger)
    return type_coerce(column, String)  # parsed by numpy below


#: Per dialect, `entered` plus whole seconds, comparable to the stored times and at most one
#: second early. SQLite's datetime() drops the stored fraction and prints "YYYY-MM-DD HH:MM:SS",
#: which sorts before the stored "YYYY-MM-DD HH:MM:SS.ffffff" of the same second.
WINDOW_END: dict[str, Any] = {
    "sqlite": lambda entered, seconds: func.datetime(entered, f"+{seconds} seconds"),
    "postgresql": lambda entered, seconds: (
        entered + literal_column(f"INTERVAL '{seconds} seconds'")
    ),
}
#: The smaller of two times, per dialect (SQLite's two-argument min(), PostgreSQL's least()).
SMALLER: dict[str, Any] = {"sqlite": func.min, "postgresql": func.least}


def before_window_end(
    occurred_at: Any,
    entered: Any,
    span: timedelta | None,
    end: date | datetime | None,
    dialect: str,
) -> list[ColumnElement[bool]]:
    """`occurred_at` below the end of the window and below `end`, as one bound an index can use.

    A loose bound: the exact test is on rounded seconds (`seconds <= until`). An event rounds to
    at most `until` only if it is before floor(entered) + span + 1.5 s, so two seconds beyond the
    floor of `entered` keep every such event. One expression, because given two upper bounds
    SQLite ranges the index on one of them, and it picks `end`.
    """
    if dialect not in WINDOW_END or span is None:
        return []
    seconds = int(span.total_seconds()) + 2
    bound = WINDOW_END[dialect](entered, seconds)
    if end is not None:
        # Rendered as the dialect stores times, so SQLite's min() compares text with text.
        end_time = literal(_moment(end), DateTime)
        return [occurred_at < SMALLER[dialect](bound, end_time)]
    return [occurred_at < bound]
