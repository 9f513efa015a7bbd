"""Per-customer facts, aggregated in SQL and handed to scorers as numpy columns.

One row per customer comes back from the database, never one per interaction: the heavy GROUP BY
runs where the data is, on the covering index `ix_interaction_facts`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, time
from typing import TYPE_CHECKING, Any

import numpy as np
from attrs import field, frozen
from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    and_,
    case,
    exists,
    func,
    literal,
    or_,
    select,
    type_coerce,
)
from sqlalchemy.exc import OperationalError
from sqlalchemy.types import String

from crm.core.errors import CrmError
from crm.core.schema import Tables

if TYPE_CHECKING:
    from numpy.typing import NDArray

PURCHASE = "purchase"
#: Purposes a customer consents to, each a `consent_<purpose>` column of `customer`.
CONSENT_PURPOSES = ("email", "sms", "phone", "profiling")


def as_of_moment(as_of: date) -> datetime:
    """The analysis moment: midnight UTC at the start of `as_of` (interactions before it count)."""
    return datetime.combine(as_of, time.min)


def purchase_facts_query(tables: Tables, as_of: date) -> Select[Any]:
    """One row per customer: identity, demographics, consent and purchase aggregates before
    `as_of`.

    Frequency counts distinct order ids, plus one per purchase that has no order id, so a file
    with order lines and a file with one row per purchase both count purchases. Customers with
    `consent_profiling` false are left out (see `profiling_allowed`).
    """
    i = tables.interaction
    c = tables.customer
    purchases = (
        select(
            i.c.customer_id,
            func.min(i.c.occurred_at).label("first_purchase"),
            func.max(i.c.occurred_at).label("last_purchase"),
            (
                func.count(i.c.order_id.distinct())
                + func.sum(case((i.c.order_id.is_(None), 1), else_=0))
            ).label("purchases"),
            func.coalesce(func.sum(i.c.amount_minor), 0).label("revenue_minor"),
        )
        .where(and_(i.c.kind == literal(PURCHASE), i.c.occurred_at < as_of_moment(as_of)))
        .group_by(i.c.customer_id)
        .subquery("p")
    )
    return (
        select(
            c.c.id,
            c.c.external_id,
            c.c.country,
            c.c.city,
            c.c.gender,
            type_coerce(c.c.birth_date, String).label("birth_date"),
            type_coerce(purchases.c.first_purchase, String).label("first_purchase"),
            type_coerce(purchases.c.last_purchase, String).label("last_purchase"),
            purchases.c.purchases,
            purchases.c.revenue_minor,
            *(c.c[f"consent_{purpose}"] for purpose in CONSENT_PURPOSES),
        )
        .select_from(c.outerjoin(purchases, purchases.c.customer_id == c.c.id))
        .where(profiling_allowed(tables))
        .where(existed_at(tables, as_of))
        .where(not_merged_away(tables))
        .order_by(c.c.id)
    )


def existed_at(tables: Tables, as_of: date) -> ColumnElement[bool]:
    """Customers who exist at analysis date `as_of`: created by its moment (midnight UTC at its
    start, that instant included), or with an interaction (of any kind) before it. A run back-dated with `crm segment --as-of` leaves out customers
    who came later, so comparing it with a later run shows them as entered."""
    c, i = tables.customer, tables.interaction
    moment = as_of_moment(as_of)
    interacted = exists().where(and_(i.c.customer_id == c.c.id, i.c.occurred_at < moment))
    return or_(c.c.created_at <= moment, interacted)


def profiling_refused_query(tables: Tables, as_of: date) -> Select[Any]:
    """How many customers who exist at `as_of` (merged-away records aside) are left out of the
    run because their `consent_profiling` is false: said, so that nobody is dropped silently."""
    c = tables.customer
    return (
        select(func.count())
        .select_from(c)
        .where(c.c.consent_profiling.is_(False))
        .where(existed_at(tables, as_of))
        .where(not_merged_away(tables))
    )


def not_merged_away(tables: Tables) -> ColumnElement[bool]:
    """Customer rows that are still their own: a customer merged into another
    (crm.core.merging) lives on in the survivor's row."""
    alias = tables.customer_alias
    return ~exists().where(alias.c.merged_customer_id == tables.customer.c.id)


def profiling_allowed(tables: Tables) -> ColumnElement[bool]:
    """Customers who may be scored: all but those whose `consent_profiling` is false.

    A customer who said no to profiling is in no run: not scored, not segmented, not stored.
    An unknown consent (NULL, never asked) does not exclude; scoring is then on the operator's
    legal basis (docs/privacy.md).
    """
    return tables.customer.c.consent_profiling.is_not(False)


def kind_counts_query(tables: Tables, as_of: date) -> Select[Any]:
    i = tables.interaction
    return (
        select(i.c.customer_id, i.c.kind, func.count().label("n"))
        .where(i.c.occurred_at < as_of_moment(as_of))
        .group_by(i.c.customer_id, i.c.kind)
    )


def _datetimes(values: list[Any]) -> NDArray[np.datetime64]:
    # SQLite returns ISO text and PostgreSQL returns datetime objects; numpy parses both, and the
    # text path avoids building one Python datetime per customer.
    cleaned = [None if v is None else (v if isinstance(v, str) else v.isoformat()) for v in values]
    return np.array(
        [np.datetime64("NaT") if v is None else v.replace(" ", "T") for v in cleaned],
        dtype="datetime64[s]",
    )


def _year_and_month_day(
    days: NDArray[np.datetime64],
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    year_start = days.astype("datetime64[Y]")
    month_start = days.astype("datetime64[M]")
    month = (month_start - year_start.astype("datetime64[M]")).astype(np.int64) + 1
    day = (days - month_start.astype("datetime64[D]")).astype(np.int64) + 1
    return year_start.astype(np.int64) + 1970, month * 100 + day


@frozen
class Facts:
    """Per-customer facts as columns aligned on `customer_id` (sorted ascending).

    Times are `datetime64[s]` in UTC with NaT where a customer never purchased; money is int64 minor
    units (cents). `kind_counts()` runs its own aggregate the first time it is asked for.
    """

    as_of: date
    customer_id: NDArray[np.int64]
    external_id: NDArray[np.object_]
    country: NDArray[np.object_]
    city: NDArray[np.object_]
    gender: NDArray[np.object_]
    birth_date: NDArray[np.datetime64]
    first_purchase: NDArray[np.datetime64]
    last_purchase: NDArray[np.datetime64]
    purchases: NDArray[np.int64]
    revenue_minor: NDArray[np.int64]
    #: Consent by purpose (`CONSENT_PURPOSES`): 1.0 yes, 0.0 no, NaN never asked.
    consent: Mapping[str, NDArray[np.float64]] = field(factory=dict)
    _connection: Connection | None = field(default=None, repr=False, eq=False, alias="connection")
    _tables: Tables | None = field(default=None, repr=False, eq=False, alias="tables")
    _cache: dict[str, Any] = field(factory=dict, repr=False, eq=False, init=False)

    def __len__(self) -> int:
        return int(self.customer_id.shape[0])

    @property
    def has_purchased(self) -> NDArray[np.bool_]:
        return self.purchases > 0

    def recency_days(self) -> NDArray[np.float64]:
        """Whole days from the UTC date of the last purchase to `as_of`; NaN without purchases."""
        last_day = self.last_purchase.astype("datetime64[D]")
        days = (np.datetime64(self.as_of, "D") - last_day).astype("timedelta64[D]")
        out = days.astype(np.float64)
        out[np.isnat(last_day)] = np.nan
        return out

    def age_years(self) -> NDArray[np.float64]:
        """Age in whole years on `as_of`; NaN where the birth date is unknown."""
        born = self.birth_date.astype("datetime64[D]")
        known = ~np.isnat(born)
        out = np.full(len(self), np.nan)
        if known.any():
            b_year, b_month_day = _year_and_month_day(born[known])
            a_year, a_month_day = _year_and_month_day(np.array([self.as_of], dtype="datetime64[D]"))
            out[known] = a_year[0] - b_year - (a_month_day[0] < b_month_day)
        return out

    def kind_counts(self) -> Mapping[str, NDArray[np.int64]]:
        """Interactions per kind before `as_of`, one int64 column per kind seen."""
        if "kind_counts" not in self._cache:
            if self._connection is None or self._tables is None or self._connection.closed:
                raise RuntimeError(
                    "kind_counts() queries the database: call it while scoring (from a scorer or "
                    "stage model), when the run's connection is open; its answer is kept after"
                )
            counts: dict[str, NDArray[np.int64]] = {}
            rows = self._connection.execute(kind_counts_query(self._tables, self.as_of)).all()
            if rows:
                ids, kinds, ns = zip(*rows, strict=True)
                id_array = np.array(ids, dtype=np.int64)
                # Customers who refused profiling are not in these columns: drop their rows
                # here rather than join `customer` in the aggregate (an index-only scan now).
                ours = np.isin(id_array, self.customer_id)
                positions = self.index_of(id_array[ours])
                kind_array = np.array(kinds, dtype=object)[ours]
                n_array = np.array(ns, dtype=np.int64)[ours]
                for kind in sorted(set(kind_array.tolist())):
                    mask = kind_array == kind
                    column = np.zeros(len(self), dtype=np.int64)
                    column[positions[mask]] = n_array[mask]
                    counts[kind] = column
            self._cache["kind_counts"] = counts
        result: Mapping[str, NDArray[np.int64]] = self._cache["kind_counts"]
        return result

    def index_of(self, customer_ids: NDArray[np.int64]) -> NDArray[np.intp]:
        """Row positions of `customer_ids` in these columns."""
        return np.searchsorted(self.customer_id, customer_ids)

    @classmethod
    def load(cls, connection: Connection, tables: Tables, as_of: date) -> Facts:
        try:
            return cls._load(connection, tables, as_of)
        except (OperationalError, OverflowError) as exc:
            if isinstance(exc, OperationalError) and "overflow" not in str(exc.orig):
                raise
            # Only a database filled by a crm without the importer's amount limits gets here.
            raise CrmError(
                "a customer's amounts add up to more than 64-bit integers hold; this database "
                "holds amounts beyond the importer's limit (see README, Imports)"
            ) from None

    @classmethod
    def _load(cls, connection: Connection, tables: Tables, as_of: date) -> Facts:
        rows = connection.execute(purchase_facts_query(tables, as_of)).all()
        width = 10 + len(CONSENT_PURPOSES)
        columns: list[Sequence[Any]] = list(zip(*rows, strict=True)) if rows else [[]] * width
        (ids, external, country, city, gender, born, first, last, purchases, revenue) = columns[:10]
        consent = {
            purpose: np.array([np.nan if v is None else float(v) for v in values], dtype=float)
            for purpose, values in zip(CONSENT_PURPOSES, columns[10:], strict=True)
        }
        return cls(
            as_of=as_of,
            customer_id=np.array(ids, dtype=np.int64),
            external_id=np.array(external, dtype=object),
            country=np.array(country, dtype=object),
            city=np.array(city, dtype=object),
            gender=np.array(gender, dtype=object),
            birth_date=_datetimes(list(born)).astype("datetime64[D]"),
            first_purchase=_datetimes(list(first)),
            last_purchase=_datetimes(list(last)),
            purchases=np.array([p or 0 for p in purchases], dtype=np.int64),
            revenue_minor=np.array([int(r or 0) for r in revenue], dtype=np.int64),
            consent=consent,
            connection=connection,
            tables=tables,
        )
