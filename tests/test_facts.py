"""Per-customer facts aggregated in SQL, on SQLite and PostgreSQL, against hand-computed values."""

from __future__ import annotations

import math
from datetime import date, datetime

import numpy as np
from sqlalchemy import Engine, insert, select

from crm.core.facts import Facts
from crm.core.schema import CustomerRow, InteractionRow, Tables


def write(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(
            insert(CustomerRow),
            [
                {
                    "external_id": "ann",
                    "country": "GB",
                    "birth_date": date(1990, 6, 15),
                    "created_at": datetime(2024, 1, 1),
                },
                {
                    "external_id": "bob",
                    "country": "DE",
                    "birth_date": date(2000, 2, 29),
                    "created_at": datetime(2024, 1, 1),
                },
                {
                    "external_id": "cat",
                    "country": None,
                    "birth_date": None,
                    "created_at": datetime(2024, 1, 1),
                },
            ],
        )
        ids = dict(conn.execute(select(CustomerRow.external_id, CustomerRow.id)).all())
        rows = [
            # ann: two lines of order 1, one line of order 2, one purchase without an order id
            ("ann", "purchase", datetime(2024, 5, 1, 9), 1000, "O1"),
            ("ann", "purchase", datetime(2024, 5, 1, 9), 250, "O1"),
            ("ann", "purchase", datetime(2024, 6, 10, 23, 59), 499, "O2"),
            ("ann", "purchase", datetime(2024, 6, 20, 0, 1), 1, None),
            ("ann", "visit", datetime(2024, 6, 21), None, None),
            ("ann", "visit", datetime(2024, 6, 22), None, None),
            # bob: one purchase after the analysis date only counts when it is before as_of
            ("bob", "purchase", datetime(2024, 6, 29, 23, 0), 5000, None),
            ("bob", "purchase", datetime(2024, 7, 1, 0, 0), 7000, None),
            ("bob", "complaint", datetime(2024, 6, 1), None, None),
            # cat: never purchased
            ("cat", "visit", datetime(2024, 3, 1), None, None),
        ]
        conn.execute(
            insert(InteractionRow),
            [
                {
                    "customer_id": ids[c],
                    "kind": k,
                    "occurred_at": t,
                    "amount_minor": a,
                    "order_id": o,
                    "source_key": f"k{n}",
                }
                for n, (c, k, t, a, o) in enumerate(rows)
            ],
        )


def test_purchase_facts_by_hand(engine: Engine) -> None:
    write(engine)
    with engine.connect() as conn:
        facts = Facts.load(conn, Tables.default(), date(2024, 7, 1))
        kinds = facts.kind_counts()
    assert facts.external_id.tolist() == ["ann", "bob", "cat"]
    # ann: orders O1, O2 plus one purchase without an order = 3; 10.00 + 2.50 + 4.99 + 0.01
    assert facts.purchases.tolist() == [3, 1, 0]
    assert facts.revenue_minor.tolist() == [1750, 5000, 0]
    assert facts.last_purchase[0] == np.datetime64("2024-06-20T00:01:00")
    assert facts.first_purchase[1] == np.datetime64("2024-06-29T23:00:00")
    assert np.isnat(facts.last_purchase[2])
    recency = facts.recency_days()
    # 2024-07-01 minus 2024-06-20 = 11 days; bob's purchase on 06-29 late evening is 2 days
    assert recency[:2].tolist() == [11.0, 2.0]
    assert math.isnan(recency[2])
    assert kinds["visit"].tolist() == [2, 0, 1]
    assert kinds["complaint"].tolist() == [0, 1, 0]
    assert kinds["purchase"].tolist() == [4, 1, 0]


def test_age_counts_whole_years_including_leap_day_birthdays(engine: Engine) -> None:
    write(engine)
    with engine.connect() as conn:
        before = Facts.load(conn, Tables.default(), date(2024, 6, 14))
        on = Facts.load(conn, Tables.default(), date(2024, 6, 15))
        leap = Facts.load(conn, Tables.default(), date(2025, 3, 1))
    assert before.age_years()[0] == 33
    assert on.age_years()[0] == 34
    # born 2000-02-29: 25 on 2025-03-01, since 03-01 is past 02-29
    assert leap.age_years()[1] == 25
    assert math.isnan(on.age_years()[2])
    assert on.country.tolist() == ["GB", "DE", None]


def test_empty_database_gives_empty_columns(engine: Engine) -> None:
    with engine.connect() as conn:
        facts = Facts.load(conn, Tables.default(), date(2024, 1, 1))
    assert len(facts) == 0
    assert facts.recency_days().shape == (0,)


def test_a_back_dated_run_has_only_the_customers_who_existed_then(engine: Engine) -> None:
    """Who exists at an analysis date: created before it, or an interaction before it."""
    imported = datetime(2025, 6, 1, 9)  # when the file was imported, for all but "old"
    with engine.begin() as conn:
        conn.execute(
            insert(CustomerRow),
            [
                {"external_id": "old", "created_at": datetime(2024, 1, 1)},
                {"external_id": "early", "created_at": imported},
                {"external_id": "late", "created_at": imported},
                {"external_id": "newcomer", "created_at": imported},
            ],
        )
        ids = dict(conn.execute(select(CustomerRow.external_id, CustomerRow.id)).all())
        conn.execute(
            insert(InteractionRow),
            [
                # a visit is enough: "early" existed before the import that created the row
                {"customer_id": ids["early"], "kind": "visit",
                 "occurred_at": datetime(2024, 6, 1), "source_key": "e"},
                # on the analysis date itself: not before it
                {"customer_id": ids["late"], "kind": "purchase", "amount_minor": 900,
                 "occurred_at": datetime(2025, 3, 1), "source_key": "l"},
            ],
        )  # fmt: skip

    def existing(as_of: date) -> list[str]:
        with engine.connect() as conn:
            return Facts.load(conn, Tables.default(), as_of).external_id.tolist()

    assert existing(date(2024, 6, 1)) == ["old"]
    assert existing(date(2025, 3, 1)) == ["old", "early"]
    assert existing(date(2025, 3, 2)) == ["old", "early", "late"]
    assert existing(date(2025, 6, 1)) == ["old", "early", "late"]
    assert existing(date(2025, 6, 2)) == ["old", "early", "late", "newcomer"]
