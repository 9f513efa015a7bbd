"""Ordered event sequences: each customer's tracked interactions as numpy columns, in chunks.

Journey models (funnels, AIDAS) need every customer's events in time order, not one aggregate per
customer. `EventSequences` reads them with one SQLAlchemy Core `select()` on the read-only
connection: the event code is computed in SQL by a CASE over the rules, so only interactions some
rule tracks leave the database, and they arrive ordered by customer and time. Rows are turned into
columns a partition at a time and handed out in `EventChunk`s whose boundaries never split a
customer, so memory stays bounded however long the log is and a model can compute per chunk.

    sequences = EventSequences(rules=(EventRule(kinds=("visit",)), EventRule(kinds=("purchase",))))
    for chunk in sequences.chunks(connection, tables):
        ...  # chunk.customer_id, chunk.code, chunk.time: aligned numpy columns
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from attrs import field, frozen
from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Connection,
    Integer,
    Select,
    and_,
    case,
    cast,
    false,
    func,
    select,
)

from crm.core.event_rules import (
    STAGE_CHANGE,
    WINDOW_END,
    EventRule,
    _moment,
    before_window_end,
    epoch_seconds,
    rule_condition,
)
from crm.core.schema import Tables

if TYPE_CHECKING:
    from numpy.typing import NDArray

# EventRule and its SQL live in crm.core.event_rules; they are re-exported here, where journey
# plugins have always imported them from.
__all__ = [
    "DEFAULT_CHUNK_ROWS",
    "EXTRAS",
    "STAGE_CHANGE",
    "EventChunk",
    "EventRule",
    "EventSequences",
    "Extra",
    "epoch_seconds",
    "rule_condition",
]

#: Optional columns a reader may ask for besides customer, code and time.
Extra = Literal["channel", "campaign", "amount", "order_id", "stage"]
EXTRAS: tuple[Extra, ...] = ("channel", "campaign", "amount", "order_id", "stage")
#: Rows fetched per partition; a chunk holds about this many events (more when one customer's
#: events do not fit, since a customer is never split).
DEFAULT_CHUNK_ROWS = 262_144
MAX_BIT_RULES = 62


def _rule_tuple(rules: Iterable[EventRule]) -> tuple[EventRule, ...]:
    return tuple(rules)


def _extra_tuple(extras: Iterable[Extra]) -> tuple[Extra, ...]:
    return tuple(extras)


@frozen(kw_only=True)
class EventChunk:
    """Events of whole customers, ordered by customer, then time, then code; all columns aligned.

    `time` is UTC `datetime64[s]`. The optional columns are None unless asked for: `channel`,
    `campaign`, `order_id`, `stage` are object arrays (str or None); `amount_minor` is int64 minor
    units with 0 where `amount_known` is false.
    """

    customer_id: NDArray[np.int64]
    code: NDArray[np.int64]
    time: NDArray[np.datetime64]
    channel: NDArray[np.object_] | None = None
    campaign: NDArray[np.object_] | None = None
    amount_minor: NDArray[np.int64] | None = None
    amount_known: NDArray[np.bool_] | None = None
    order_id: NDArray[np.object_] | None = None
    stage: NDArray[np.object_] | None = None

    def __len__(self) -> int:
        return int(self.customer_id.shape[0])

    def customer_starts(self) -> NDArray[np.intp]:
        """Position of each customer's first event (for `np.ufunc.reduceat` and friends)."""
        if not len(self):
            return np.zeros(0, dtype=np.intp)
        changes = np.flatnonzero(self.customer_id[1:] != self.customer_id[:-1]) + 1
        return np.concatenate([[0], changes]).astype(np.intp)

    def customers(self) -> NDArray[np.int64]:
        """The distinct customers of this chunk, ascending."""
        return self.customer_id[self.customer_starts()]

    def take(self, index: Any) -> EventChunk:
        """The events at `index` (a slice, a mask or positions), every column alike."""

        def pick(column: Any) -> Any:
            return None if column is None else column[index]

        return EventChunk(
            customer_id=self.customer_id[index],
            code=self.code[index],
            time=self.time[index],
            channel=pick(self.channel),
            campaign=pick(self.campaign),
            amount_minor=pick(self.amount_minor),
            amount_known=pick(self.amount_known),
            order_id=pick(self.order_id),
            stage=pick(self.stage),
        )

    @classmethod
    def concatenate(cls, chunks: Sequence[EventChunk], extras: tuple[Extra, ...]) -> EventChunk:
        def joined(name: str, dtype: Any) -> Any:
            parts = [getattr(chunk, name) for chunk in chunks]
            if not parts or parts[0] is None:
                return np.zeros(0, dtype=dtype) if _wanted(name, extras) else None
            return np.concatenate(parts)

        return cls(
            customer_id=joined("customer_id", np.int64),
            code=joined("code", np.int64),
            time=joined("time", "datetime64[s]"),
            channel=joined("channel", object),
            campaign=joined("campaign", object),
            amount_minor=joined("amount_minor", np.int64),
            amount_known=joined("amount_known", bool),
            order_id=joined("order_id", object),
            stage=joined("stage", object),
        )


def _wanted(name: str, extras: tuple[Extra, ...]) -> bool:
    base = {"customer_id", "code", "time"}
    return name in base or name in extras or (name.startswith("amount") and "amount" in extras)


@frozen(kw_only=True)
class EventSequences:
    """A reader of tracked events: `rules` give the codes, `start`/`end` the time range.

    `start` is inclusive and `end` exclusive (a date means midnight UTC at its start, so
    `end=as_of` keeps what happened before the analysis date). `extras` names the optional
    columns to fetch; each costs transfer time, so ask only for what the model reads.
    """

    rules: tuple[EventRule, ...] = field(converter=_rule_tuple)
    start: date | datetime | None = None
    end: date | datetime | None = None
    extras: tuple[Extra, ...] = field(default=(), converter=_extra_tuple)
    #: "first": `code` is the index of the first rule an interaction matches; "all": `code` is a
    #: bitmask with bit k set when it matches rule k (at most 62 rules), for overlapping rules.
    match: Literal["first", "all"] = "first"
    #: With `span`: only each customer's events from their first event of rule `anchor` (None:
    #: of any rule) to `span` after it, edges included; customers without one have no events.
    #: A journey with a window needs nothing outside it, and this keeps it in the database.
    anchor: int | None = None
    span: timedelta | None = None
    chunk_rows: int = DEFAULT_CHUNK_ROWS

    def __attrs_post_init__(self) -> None:
        unknown = [e for e in self.extras if e not in EXTRAS]
        if unknown:
            raise ValueError(f"unknown extra columns {unknown}; expected some of {list(EXTRAS)}")
        if self.match not in ("first", "all"):
            raise ValueError(f"match must be 'first' or 'all', got {self.match!r}")
        if self.match == "all" and len(self.rules) > MAX_BIT_RULES:
            raise ValueError(f"match='all' holds at most {MAX_BIT_RULES} rules in a bitmask")
        if self.anchor is not None and not 0 <= self.anchor < len(self.rules):
            raise ValueError(
                f"anchor must index a rule (0..{len(self.rules) - 1}), got {self.anchor}"
            )
        if self.span is not None and self.span.total_seconds() < 0:
            raise ValueError(f"span must not be negative, got {self.span}")
        if self.chunk_rows < 1:
            raise ValueError(f"chunk_rows must be at least 1, got {self.chunk_rows}")

    def query(self, tables: Tables, dialect: str) -> Select[Any]:
        """The one statement that reads the events (ordered by customer, time, then id)."""
        i, c = tables.interaction, tables.customer
        conditions = [rule_condition(tables, rule) for rule in self.rules]
        code, tracked = self._code(conditions)
        seconds = epoch_seconds(i.c.occurred_at, dialect)
        wanted: list[Any] = [i.c.customer_id, code.label("code"), seconds]
        extra_columns = {
            "channel": i.c.channel,
            "campaign": i.c.campaign,
            "amount": i.c.amount_minor,
            "order_id": i.c.order_id,
            "stage": i.c.stage,
        }
        wanted += [extra_columns[name] for name in self.extras]
        in_range = []
        if self.start is not None:
            in_range.append(i.c.occurred_at >= _moment(self.start))
        if self.end is not None:
            in_range.append(i.c.occurred_at < _moment(self.end))
        # Customers who said no to profiling are in no journey (docs/privacy.md): a short list.
        opted_out = select(c.c.id).where(c.c.consent_profiling.is_(False))
        where = [tracked, i.c.customer_id.not_in(opted_out.scalar_subquery())]
        # With a window, `end` is part of the window's upper bound (before_window_end).
        folds_end = self.span is not None and dialect in WINDOW_END and self.end is not None
        where += in_range[:-1] if folds_end else in_range
        source: Any = i
        if self.span is not None:
            anchor = tracked if self.anchor is None else conditions[self.anchor]
            entered = func.min(i.c.occurred_at)
            first = (
                select(
                    i.c.customer_id,
                    entered.label("entered"),
                    (epoch_seconds(entered, dialect) + int(self.span.total_seconds())).label(
                        "until"
                    ),
                )
                .where(anchor, *in_range)
                .group_by(i.c.customer_id)
                .subquery("first_event")
            )
            source = i.join(first, first.c.customer_id == i.c.customer_id)
            # From the first anchor event to `span` seconds after it, in whole seconds like the
            # times handed out. Both ends are also a range on ix_interaction_customer_time, so
            # the database reads only the window of each customer, not everything up to `end`.
            where += [i.c.occurred_at >= first.c.entered, seconds <= first.c.until]
            where += before_window_end(
                i.c.occurred_at, first.c.entered, self.span, self.end, dialect
            )
        # Filtering on the code itself (not on `kind IN ...`) keeps SQLite from a multi-index OR
        # plan with one row lookup per match: it scans ix_interaction_customer_time, already in
        # the order asked for. The tie-break on the event code is done in numpy per chunk.
        return (
            select(*wanted)
            .select_from(source)
            .where(and_(*where))
            .order_by(i.c.customer_id, i.c.occurred_at, i.c.id)
        )

    def _code(
        self, conditions: list[ColumnElement[bool]]
    ) -> tuple[ColumnElement[Any], ColumnElement[bool]]:
        if not conditions:
            return cast(-1, Integer), false()
        if self.match == "first":
            first = case(*((cond, index) for index, cond in enumerate(conditions)), else_=-1)
            return first, first >= 0
        if self.disjoint():
            # No interaction can match two rules: one CASE (a quarter faster than the sum).
            bit = case(*((cond, 1 << index) for index, cond in enumerate(conditions)), else_=0)
            return bit, bit != 0
        bits = sum(
            (case((cond, 1 << index), else_=0) for index, cond in enumerate(conditions)),
            start=cast(0, BigInteger),
        )
        return bits, bits != 0

    def disjoint(self) -> bool:
        """True when no interaction can match two rules: each rule names only kinds or only
        stages (no channel, campaign or wildcard), no value is in two rules, and no kind rule
        names `stage_change` while a stage rule exists."""
        kinds: list[str] = []
        stages: list[str] = []
        for rule in self.rules:
            if rule.channels or rule.campaigns or bool(rule.kinds) == bool(rule.stages):
                return False
            if any(value.endswith("*") for value in (*rule.kinds, *rule.stages)):
                return False
            kinds += rule.kinds
            stages += rule.stages
        clash = bool(stages) and STAGE_CHANGE in kinds
        return not clash and len(kinds) == len(set(kinds)) and len(stages) == len(set(stages))

    def chunks(self, connection: Connection, tables: Tables) -> Iterator[EventChunk]:
        """Stream the events; each chunk holds whole customers, in customer order."""
        statement = self.query(tables, connection.dialect.name)
        cursor = _driver_cursor(connection, statement)
        carried: EventChunk | None = None
        try:
            while rows := cursor.fetchmany(self.chunk_rows):
                chunk = self._columns(rows)
                if carried is not None:
                    chunk = EventChunk.concatenate([carried, chunk], self.extras)
                # The last customer may continue in the next partition: hold their events back.
                last_start = int(chunk.customer_starts()[-1])
                carried = chunk.take(slice(last_start, None))
                if last_start:
                    yield _ordered(chunk.take(slice(0, last_start)))
        finally:
            cursor.close()
        if carried is not None and len(carried):
            yield _ordered(carried)

    def read(self, connection: Connection, tables: Tables) -> EventChunk:
        """Every event in one chunk (for small logs and tests)."""
        return EventChunk.concatenate(list(self.chunks(connection, tables)), self.extras)

    def _columns(self, rows: Sequence[Any]) -> EventChunk:
        if not self.extras and not isinstance(rows[0][2], str):
            # All ints: one C-level pass over the flattened tuples (2.5x np.array(rows)).
            flat = itertools.chain.from_iterable(rows)
            base = np.fromiter(flat, dtype=np.int64, count=3 * len(rows)).reshape(-1, 3)
            return EventChunk(
                customer_id=base[:, 0].copy(),
                code=base[:, 1].copy(),
                time=base[:, 2].astype("datetime64[s]"),
            )
        columns = list(zip(*rows, strict=True))
        seconds = columns[2]
        if seconds and isinstance(seconds[0], str):
            times = np.array([s.replace(" ", "T") for s in seconds], dtype="datetime64[s]")
        else:
            times = np.array(seconds, dtype=np.int64).astype("datetime64[s]")
        extra = dict(zip(self.extras, columns[3:], strict=True))
        amount_minor = amount_known = None
        if "amount" in extra:
            raw = extra["amount"]
            amount_known = np.array([a is not None for a in raw], dtype=bool)
            amount_minor = np.array([0 if a is None else a for a in raw], dtype=np.int64)

        def text(name: str) -> NDArray[np.object_] | None:
            return np.array(extra[name], dtype=object) if name in extra else None

        return EventChunk(
            customer_id=np.array(columns[0], dtype=np.int64),
            code=np.array(columns[1], dtype=np.int64),
            time=times,
            channel=text("channel"),
            campaign=text("campaign"),
            amount_minor=amount_minor,
            amount_known=amount_known,
            order_id=text("order_id"),
            stage=text("stage"),
        )


def _driver_cursor(connection: Connection, statement: Select[Any]) -> Any:
    """The statement on a cursor of the driver itself, in the connection's transaction.

    Plain tuples: SQLAlchemy's Row objects cost more than the rest of the transfer, and every
    column here is already an int, a str or None. The values of the statement (kinds, stages,
    dates) are rendered by the dialect's own literal rendering, which quotes and formats them as
    its bind processors would. PostgreSQL gets a server-side cursor, so memory stays flat.
    """
    sql = str(statement.compile(dialect=connection.dialect, compile_kwargs={"literal_binds": True}))
    raw: Any = connection.connection.dbapi_connection
    if connection.dialect.name == "postgresql":
        cursor = raw.cursor(name=f"crm_events_{id(statement):x}")
    else:
        cursor = raw.cursor()
    if connection.dialect.paramstyle in ("format", "pyformat"):
        # Rendered for a driver that reads "%s" placeholders, "%" comes out doubled; executed
        # without parameters, the driver sends the text as it is.
        sql = sql.replace("%%", "%")
    cursor.execute(sql)
    return cursor


def _ordered(chunk: EventChunk) -> EventChunk:
    """Ties in time are ordered by event code (stable, so the database's id order stays next)."""
    times = chunk.time.view(np.int64)
    same = (chunk.customer_id[1:] == chunk.customer_id[:-1]) & (times[1:] == times[:-1])
    if not same.any():
        return chunk
    order = np.lexsort((chunk.code, times, chunk.customer_id))
    return chunk.take(order)
