"""The per-customer summary and historical value, computed in SQL from the interactions.

Two GROUP BYs on the read-only connection: purchases are first summed per customer and UTC
calendar day (several purchases on one day are one transaction, as in the papers), then per
customer: the number of days (x = days - 1 repeat transactions), the first and last day, the
value of all days and of the first day (mean repeat spend = (all - first) / x). Nothing per
interaction reaches Python. Customers who said no to profiling are left out, as crm leaves
them out of every run (docs/privacy.md), so no fit, check or report learns from them. Days are counted to the last day of the period, the day before the
analysis date (interactions before `as_of` count), so `T` of a first purchase on that day is 0.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import numpy as np
from attrs import frozen
from numpy.typing import NDArray
from sqlalchemy import Connection, Date, Integer, and_, case, cast, func, literal, select
from sqlalchemy.sql.elements import ColumnElement

from crm.core.facts import PURCHASE, as_of_moment, profiling_allowed
from crm.core.schema import Tables
from crm_clv.summary import CustomerSummary

EPOCH = date(1970, 1, 1)


def _day_number(column: Any, dialect: str) -> ColumnElement[int]:
    """Whole UTC days since 1970-01-01 of a timestamp column, on SQLite and PostgreSQL."""
    if dialect == "sqlite":
        # julianday of a calendar date is N.5; 2440587.5 is 1970-01-01
        return cast(func.julianday(func.date(column)) - 2440587.5, Integer)
    return cast(cast(column, Date) - cast(literal(EPOCH.isoformat()), Date), Integer)


@frozen
class PurchaseHistory:
    """Per purchasing customer (ascending internal id), in days and minor units."""

    customer_id: NDArray[np.int64]
    transactions: NDArray[np.float64]  # distinct purchase days
    first_day: NDArray[np.float64]  # days since 1970-01-01
    last_day: NDArray[np.float64]
    revenue_minor: NDArray[np.float64]
    first_day_minor: NDArray[np.float64]
    period_end: float  # last day counted, days since 1970-01-01

    def summary(self, days_per_unit: float) -> CustomerSummary:
        x = self.transactions - 1
        with np.errstate(invalid="ignore", divide="ignore"):
            mean_spend = np.where(x > 0, (self.revenue_minor - self.first_day_minor) / x, np.nan)
        return CustomerSummary(
            x,
            (self.last_day - self.first_day) / days_per_unit,
            (self.period_end - self.first_day) / days_per_unit,
            mean_spend,
        )

    def restricted_to(self, customer_ids: NDArray[np.int64]) -> PurchaseHistory:
        keep = np.isin(self.customer_id, customer_ids)
        return PurchaseHistory(
            customer_id=self.customer_id[keep],
            transactions=self.transactions[keep],
            first_day=self.first_day[keep],
            last_day=self.last_day[keep],
            revenue_minor=self.revenue_minor[keep],
            first_day_minor=self.first_day_minor[keep],
            period_end=self.period_end,
        )

    def tenure_days(self) -> NDArray[np.float64]:
        return self.period_end + 1 - self.first_day


def profiled_purchases(tables: Tables) -> ColumnElement[bool]:
    """Purchases of customers who may be profiled (all but the few who said no)."""
    i, c = tables.interaction, tables.customer
    opted_out = select(c.c.id).where(~profiling_allowed(tables))
    return and_(i.c.kind == literal(PURCHASE), i.c.customer_id.not_in(opted_out))


def load_history(
    connection: Connection, tables: Tables, as_of: date, since: date | None = None
) -> PurchaseHistory:
    """Purchase days before `as_of` (and on or after `since`, for a holdout window)."""
    i = tables.interaction
    dialect = connection.dialect.name
    day = _day_number(i.c.occurred_at, dialect)
    conditions = [profiled_purchases(tables), i.c.occurred_at < as_of_moment(as_of)]
    if since is not None:
        conditions.append(i.c.occurred_at >= as_of_moment(since))
    days = (
        select(
            i.c.customer_id,
            day.label("day"),
            func.coalesce(func.sum(i.c.amount_minor), 0).label("value"),
        )
        .where(and_(*conditions))
        .group_by(i.c.customer_id, day)
        .subquery("days")
    )
    # the first day beside every day of the customer, by a window rather than a self-join
    # (PostgreSQL planned the join of the two aggregates as a nested loop: seconds for CDNOW)
    ranked = select(
        days.c.customer_id,
        days.c.day,
        days.c.value,
        func.min(days.c.day).over(partition_by=days.c.customer_id).label("first_day"),
    ).subquery("ranked")
    query = (
        select(
            ranked.c.customer_id,
            func.count().label("transactions"),
            func.min(ranked.c.first_day).label("first_day"),
            func.max(ranked.c.day).label("last_day"),
            func.sum(ranked.c.value).label("revenue"),
            func.sum(case((ranked.c.day == ranked.c.first_day, ranked.c.value), else_=0)).label(
                "first_value"
            ),
        )
        .group_by(ranked.c.customer_id)
        .order_by(ranked.c.customer_id)
    )
    rows = connection.execute(query).all()
    columns = np.array(rows, dtype=np.float64).reshape(-1, 6) if rows else np.zeros((0, 6))
    return PurchaseHistory(
        customer_id=columns[:, 0].astype(np.int64),
        transactions=columns[:, 1],
        first_day=columns[:, 2],
        last_day=columns[:, 3],
        revenue_minor=columns[:, 4],
        first_day_minor=columns[:, 5],
        period_end=float((as_of - timedelta(days=1) - EPOCH).days),
    )
