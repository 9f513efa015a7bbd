"""Recency, frequency, monetary, scores and segments from a tiny hand-written database.

The database (as_of 2024-03-10, so purchases before 2024-03-10 00:00 UTC count):

    A  order o1 on 2024-03-01 as two lines (10.00 + 5.50), order o2 on 2024-03-05 23:30 (20.00)
    B  two purchases without an order id on 2024-02-10 12:00, 7.00 each (separate events)
    C  only a visit: never purchased
    D  one purchase 2024-03-09 23:59:59 (100.00); one on 2024-03-10 00:00 is on the analysis date
    E  one purchase 2024-01-01 without an amount

By hand:          recency  frequency  monetary  average
    A             5        2          3550      1775
    B             29       2          1400      700
    D             1        1          10000     10000
    E             69       1          0         0       (Jan 1 -> Mar 10 in a leap year)
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import numpy as np
import pytest
from crm_rfm import SCORER, RfmOptions, RfmThresholds, make_scorer, make_segment_map
from crm_rfm.scoring import raw_values, score_all
from sqlalchemy import Engine, insert

from crm.core.components import ScoringContext
from crm.core.facts import Facts
from crm.core.schema import Tables

AS_OF = date(2024, 3, 10)
nan = np.nan

CUSTOMERS = ["A", "B", "C", "D", "E"]
INTERACTIONS: list[tuple[str, str, str, int | None, str | None]] = [
    # customer, kind, occurred at (UTC), amount in cents, order id
    ("A", "purchase", "2024-03-01 10:00:00", 1000, "o1"),
    ("A", "purchase", "2024-03-01 10:00:00", 550, "o1"),
    ("A", "purchase", "2024-03-05 23:30:00", 2000, "o2"),
    ("A", "visit", "2024-03-09 08:00:00", None, None),
    ("B", "purchase", "2024-02-10 12:00:00", 700, None),
    ("B", "purchase", "2024-02-10 12:00:00", 700, None),
    ("C", "visit", "2024-03-09 09:00:00", None, None),
    ("D", "purchase", "2024-03-09 23:59:59", 10000, None),
    ("D", "purchase", "2024-03-10 00:00:00", 99900, None),
    ("E", "purchase", "2024-01-01 00:00:00", None, None),
]


class Cols(dict[str, Any]):
    def __len__(self) -> int:
        return len(next(iter(self.values())))


def load_facts(engine: Engine) -> Facts:
    tables = Tables.default()
    with engine.begin() as conn:
        conn.execute(
            insert(tables.customer),
            [
                {"id": i, "external_id": name, "created_at": datetime(2023, 1, 1)}
                for i, name in enumerate(CUSTOMERS, start=1)
            ],
        )
        conn.execute(
            insert(tables.interaction),
            [
                {
                    "customer_id": CUSTOMERS.index(who) + 1,
                    "kind": kind,
                    "occurred_at": datetime.fromisoformat(when),
                    "amount_minor": amount,
                    "order_id": order,
                    "source_key": f"test:{n}",
                }
                for n, (who, kind, when, amount, order) in enumerate(INTERACTIONS)
            ],
        )
    with engine.connect() as conn:
        return Facts.load(conn, tables, AS_OF)


def same(a: Any, b: list[float]) -> bool:
    return bool(np.array_equal(np.asarray(a, dtype=np.float64), np.array(b), equal_nan=True))


def test_raw_values(engine: Engine) -> None:
    facts = load_facts(engine)
    assert facts.external_id.tolist() == CUSTOMERS
    recency, frequency, monetary = raw_values(facts)
    assert same(recency, [5, 29, nan, 1, 69])
    assert same(frequency, [2, 2, nan, 1, 1])
    assert same(monetary, [3550, 1400, nan, 10000, 0])
    assert same(raw_values(facts, "average")[2], [1775, 700, nan, 10000, 0])


def test_scores_fm_and_segments(engine: Engine) -> None:
    facts = load_facts(engine)
    out = score_all(facts, RfmOptions())
    # Four scored customers, N = 5, score = 1 + floor(5w/4) with w strictly worse customers.
    # R: A has 2 worse (29, 69) -> 3; B 1 -> 2; D 3 -> 4; E 0 -> 1.
    assert same(out["r"], [3, 2, nan, 4, 1])
    # F: the two 1s have w=0 -> 1; the two 2s have w=2 -> 3.
    assert same(out["f"], [3, 3, nan, 1, 1])
    # M: 3550 w=2 -> 3; 1400 w=1 -> 2; 10000 w=3 -> 4; 0 w=0 -> 1.
    assert same(out["m"], [3, 2, nan, 4, 1])
    # FM = floor((F + M) / 2): 3, floor(2.5) = 2, -, floor(2.5) = 2, 1.
    assert same(out["fm"], [3, 2, nan, 2, 1])
    segments = make_segment_map(RfmOptions())
    codes = segments.assign(Cols({"rfm.r": out["r"], "rfm.fm": out["fm"]}))
    names = [segments.segments[c].name if c >= 0 else None for c in codes]
    # R3 FM3, R2 FM2, never purchased, R4 FM2, R1 FM1.
    assert names == ["Potential Loyalist", "Need Attention", None, "Potential Loyalist", "Lost"]


def test_explicit_thresholds_and_average_monetary(engine: Engine) -> None:
    facts = load_facts(engine)
    options = RfmOptions(
        bins=3,
        monetary="average",
        thresholds=RfmThresholds(recency=(7, 30), frequency=(2, 3), monetary=(10, 17.75)),
        segment_map={"axes": ["rfm.r", "rfm.fm"], "segments": [{"name": "All", "cells": ["*:*"]}]},
    )
    out = score_all(facts, options)
    # Recency 5 <= 7 -> 3; 29 <= 30 -> 2; 1 -> 3; 69 > 30 -> 1.
    assert same(out["r"], [3, 2, nan, 3, 1])
    # Frequency 2 >= 2 -> 2; 1 -> 1.
    assert same(out["f"], [2, 2, nan, 1, 1])
    # Average 17.75 >= 17.75 -> 3; 7.00 < 10 -> 1; 100.00 -> 3; 0 -> 1.
    assert same(out["m"], [3, 1, nan, 3, 1])


def test_scorer_publishes_every_declared_metric(engine: Engine) -> None:
    facts = load_facts(engine)
    scorer = make_scorer(RfmOptions())
    with engine.connect() as conn:
        context = ScoringContext(
            as_of=AS_OF, facts=facts, scores={}, connection=conn, tables=Tables.default()
        )
        out = scorer.score(context)
    assert sorted(out) == sorted(metric.name for metric in SCORER.metrics)
    assert all(column.dtype == np.float64 and column.shape == (5,) for column in out.values())
    assert same(out["recency"], [5, 29, nan, 1, 69])


@pytest.mark.parametrize("monetary", ["total", "average"])
def test_a_million_customers_score_as_columns(monetary: str) -> None:
    # Speed is measured by bench/run.py, not here; this pins the columnar path at full size.
    rng = np.random.default_rng(1)
    n = 1_000_000
    purchases = rng.geometric(0.5, n).astype(np.int64)
    purchases[: n // 10] = 0
    last = np.datetime64("2024-03-09T12:00:00") - rng.integers(0, 700 * 86400, n).astype(
        "timedelta64[s]"
    )
    facts = Facts(
        as_of=AS_OF,
        customer_id=np.arange(n, dtype=np.int64),
        external_id=np.empty(n, dtype=object),
        country=np.empty(n, dtype=object),
        city=np.empty(n, dtype=object),
        gender=np.empty(n, dtype=object),
        birth_date=np.full(n, np.datetime64("NaT"), dtype="datetime64[D]"),
        first_purchase=np.where(purchases > 0, last, np.datetime64("NaT")),
        last_purchase=np.where(purchases > 0, last, np.datetime64("NaT")),
        purchases=purchases,
        revenue_minor=purchases * rng.integers(100, 50_000, n),
    )
    options = RfmOptions(monetary=monetary)
    out = score_all(facts, options)
    codes = make_segment_map(options).assign(Cols({"rfm.r": out["r"], "rfm.fm": out["fm"]}))
    assert int((codes == -1).sum()) == n // 10
    scored = ~np.isnan(out["r"])
    # only buyers are scored, and every score is a level 1..5
    assert set(np.unique(out["r"][scored]).tolist()) <= {1.0, 2.0, 3.0, 4.0, 5.0}
    assert int(scored.sum()) == n - n // 10
