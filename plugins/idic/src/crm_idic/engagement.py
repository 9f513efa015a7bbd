"""Interact: the engagement score, recency-weighted interaction counts by kind and channel.

One SQL aggregate counts interactions per customer, kind, channel and week of age; the decay
0.5 ** (age / half-life) is applied per week (at its middle) on the numpy columns, so the
database returns at most one row per customer, kind, channel and week, never per interaction.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

import numpy as np
from sqlalchemy import Connection, Integer, cast, func, select

from crm.core.facts import Facts, as_of_moment
from crm.core.schema import Tables

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from crm_idic.options import EngagementOptions

SECONDS_PER_WEEK = 7 * 86_400


def _age_weeks(connection: Connection, tables: Tables, as_of: date):  # type: ignore[no-untyped-def]
    moment = as_of_moment(as_of)
    occurred = tables.interaction.c.occurred_at
    if connection.dialect.name == "sqlite":
        seconds = func.strftime("%s", moment) - func.strftime("%s", occurred)
    else:
        seconds = func.extract("epoch", moment - occurred)
    return cast(func.floor(cast(seconds, Integer) / SECONDS_PER_WEEK), Integer)


def engagement(
    connection: Connection, tables: Tables, facts: Facts, options: EngagementOptions
) -> NDArray[np.float64]:
    i = tables.interaction
    weeks = _age_weeks(connection, tables, facts.as_of).label("weeks")
    query = (
        select(i.c.customer_id, i.c.kind, i.c.channel, weeks, func.count().label("n"))
        .where(i.c.occurred_at < as_of_moment(facts.as_of))
        .group_by(i.c.customer_id, i.c.kind, i.c.channel, weeks)
    )
    rows = connection.execute(query).all()
    score = np.zeros(len(facts))
    if not rows:
        return score
    ids, kinds, channels, ages, counts = (
        np.array(c, dtype=object) for c in zip(*rows, strict=True)
    )
    kind_weight = np.array([options.kinds.get(k, 0.0) for k in kinds.tolist()])
    channel_weight = np.array([options.channels.get(c, 1.0) for c in channels.tolist()])
    age_days = (ages.astype(np.float64) + 0.5) * 7
    decay = 0.5 ** (age_days / options.half_life_days)
    contribution = kind_weight * channel_weight * decay * counts.astype(np.float64)
    positions = facts.index_of(ids.astype(np.int64))
    inside = (positions < len(facts)) & (
        facts.customer_id[np.minimum(positions, len(facts) - 1)] == ids.astype(np.int64)
    )
    np.add.at(score, positions[inside], contribution[inside])
    return score


def spend_growth(
    connection: Connection, tables: Tables, facts: Facts, window_days: int
) -> NDArray[np.float64]:
    """log((spend in the last window + 1) / (spend in the window before + 1)), in currency."""
    from datetime import timedelta

    from sqlalchemy import and_, case

    i = tables.interaction
    end = as_of_moment(facts.as_of)
    middle = end - timedelta(days=window_days)
    start = middle - timedelta(days=window_days)
    amount = func.coalesce(i.c.amount_minor, 0)
    query = (
        select(
            i.c.customer_id,
            func.sum(case((i.c.occurred_at >= middle, amount), else_=0)).label("recent"),
            func.sum(case((i.c.occurred_at < middle, amount), else_=0)).label("before"),
        )
        .where(and_(i.c.kind == "purchase", i.c.occurred_at >= start, i.c.occurred_at < end))
        .group_by(i.c.customer_id)
    )
    growth = np.zeros(len(facts))
    rows = connection.execute(query).all()
    if rows:
        ids, recent, before = (np.array(c, dtype=np.float64) for c in zip(*rows, strict=True))
        positions = facts.index_of(ids.astype(np.int64))
        ok = positions < len(facts)
        growth[positions[ok]] = np.log((recent[ok] / 100 + 1) / (before[ok] / 100 + 1))
    return growth
