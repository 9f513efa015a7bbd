"""Margin from a cost column: `[clv] cost_attribute` names the purchases' attribute with the cost.

Costs come in as an extra column of the interactions file (`crm import interactions
--keep-extra`), so they are text in the interaction's attributes, in currency units (`12.50`).
Per customer, in SQL: margin = the amounts of purchases with a readable cost less those costs,
plus the amounts of the other purchases times the `margin` rate. A cost that is missing or not
a plain number (`12.50`, `-3`; no thousands separators) is not guessed at: those purchases are
counted, and the count is a warning in the model card.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np
from attrs import frozen
from numpy.typing import NDArray
from sqlalchemy import Connection, Float, and_, case, cast, func, literal, not_, or_, select
from sqlalchemy.sql.elements import ColumnElement

from crm.core.facts import as_of_moment
from crm.core.schema import Tables
from crm_clv.history import profiled_purchases


def _readable(text: Any, dialect: str) -> ColumnElement[bool]:
    """Whether `text` is a plain decimal number, on SQLite (GLOB) and PostgreSQL (regex)."""
    if dialect == "sqlite":
        digits_and_dots = not_(
            func.substr(text, 2).op("GLOB", is_comparison=True)(literal("*[^0-9.]*"))
        )
        starts = or_(
            text.op("GLOB", is_comparison=True)(literal("[0-9]*")),
            text.op("GLOB", is_comparison=True)(literal("-[0-9]*")),
        )
        return and_(
            starts, digits_and_dots, not_(text.op("GLOB", is_comparison=True)(literal("*.*.*")))
        )
    matches: ColumnElement[bool] = text.op("~", is_comparison=True)(
        literal(r"^\s*-?[0-9]+(\.[0-9]+)?\s*$")
    )
    return matches


@frozen
class Margins:
    """Per customer (the order of `customer_id`): margin in minor units, purchases uncosted."""

    customer_id: NDArray[np.int64]
    margin_minor: NDArray[np.float64]
    uncosted: NDArray[np.float64]


def load_margins(
    connection: Connection, tables: Tables, as_of: date, cost_attribute: str, margin_rate: float
) -> Margins:
    """Margins of the purchases before `as_of`, one GROUP BY over the purchases."""
    i = tables.interaction
    text = i.c.attributes[cost_attribute].as_string()
    readable = and_(text.is_not(None), _readable(text, connection.dialect.name))
    amount = func.coalesce(i.c.amount_minor, 0)
    cost_minor = func.round(cast(text, Float) * 100)
    margin = case((readable, amount - cost_minor), else_=amount * margin_rate)
    query = (
        select(
            i.c.customer_id,
            func.sum(margin),
            func.sum(case((readable, 0), else_=1)),
        )
        .where(and_(profiled_purchases(tables), i.c.occurred_at < as_of_moment(as_of)))
        .group_by(i.c.customer_id)
        .order_by(i.c.customer_id)
    )
    rows = connection.execute(query).all()
    columns = np.array(rows, dtype=np.float64).reshape(-1, 3) if rows else np.zeros((0, 3))
    return Margins(columns[:, 0].astype(np.int64), columns[:, 1], columns[:, 2])
