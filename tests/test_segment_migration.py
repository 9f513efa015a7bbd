"""Segment migration between two hand-made runs, counted by hand."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, insert, select

from crm.core.config import parse_config
from crm.core.errors import ConfigError, NotFoundError
from crm.core.project import Project
from crm.core.schema import CustomerRow
from tests.run_factory import hand_made_result, store

SEGMENTS = ["Champions", "At Risk", "Lost"]
C, AR, L, NONE = 0, 1, 2, -1


def customers(engine: Engine) -> dict[str, int]:
    with engine.begin() as conn:
        conn.execute(
            insert(CustomerRow),
            [{"external_id": f"c{i}", "created_at": datetime(2024, 1, 1)} for i in range(1, 8)],
        )
        return dict(conn.execute(select(CustomerRow.external_id, CustomerRow.id)).all())


def two_runs(engine: Engine) -> tuple[int, int]:
    """A (2025-01-01): c1 C, c2 C, c3 AR, c4 L, c5 none, c6 C.
    B (2025-07-01): c1 C, c2 AR, c3 AR, c4 C, c5 L, c7 C (c6 left, c7 entered).
    Revenue in B: c<i> has i * 100 cents; c6 had 600 in A. Also stored: another run of B's
    date before B, and a back-dated run after it; neither may be picked by default."""
    key = customers(engine)

    def run(as_of: date, rows: dict[str, int]) -> int:
        ordered = sorted(rows, key=lambda c: key[c])
        return store(
            engine,
            hand_made_result(
                as_of,
                [key[c] for c in ordered],
                {"rfm": (SEGMENTS, [rows[c] for c in ordered])},
                revenue_minor=[int(c[1:]) * 100 for c in ordered],
            ),
        )

    a = run(date(2025, 1, 1), {"c1": C, "c2": C, "c3": AR, "c4": L, "c5": NONE, "c6": C})
    run(date(2025, 7, 1), {"c1": L, "c2": L})
    b = run(date(2025, 7, 1), {"c1": C, "c2": AR, "c3": AR, "c4": C, "c5": L, "c7": C})
    run(date(2024, 1, 1), {"c1": AR})
    return a, b


def test_the_matrix_counts_movers_entered_and_left_with_their_revenue(engine: Engine) -> None:
    a, b = two_runs(engine)
    migration = Project(parse_config({}), engine=engine).segment_migration("rfm")
    assert (migration.from_run.id, migration.to_run.id) == (a, b)
    assert migration.from_labels == ("Champions", "At Risk", "Lost", "(none)", "(new)")
    assert migration.to_labels == ("Champions", "At Risk", "Lost", "(none)", "(gone)")
    assert migration.customers.tolist() == [
        [1, 1, 0, 0, 1],  # c1 stayed, c2 -> At Risk, c6 left
        [0, 1, 0, 0, 0],  # c3 stayed
        [1, 0, 0, 0, 0],  # c4 -> Champions
        [0, 0, 1, 0, 0],  # c5 had no segment, now Lost
        [1, 0, 0, 0, 0],  # c7 entered
    ]
    assert migration.revenue_minor.tolist() == [
        [100, 200, 0, 0, 600],
        [0, 300, 0, 0, 0],
        [400, 0, 0, 0, 0],
        [0, 0, 500, 0, 0],
        [700, 0, 0, 0, 0],
    ]
    assert (migration.moved, migration.entered, migration.left) == (5, 1, 1)
    cells = migration.cells()
    assert cells.columns == ("from", "to", "customers", "share", "revenue")
    assert [(r[0], r[1], r[2], r[3], str(r[4])) for r in cells.rows][:3] == [
        ("Champions", "Champions", 1, 0.3333, "1.00"),
        ("Champions", "At Risk", 1, 0.3333, "2.00"),
        ("Champions", "(gone)", 1, 0.3333, "6.00"),
    ]
    assert len(cells.rows) == 7


def test_movers_from_one_segment_to_another_are_a_campaign_list(engine: Engine) -> None:
    two_runs(engine)
    migration = Project(parse_config({}), engine=engine).segment_migration("rfm")
    with engine.connect() as conn:
        movers = migration.movers(conn, "Champions", "At Risk")
        everyone = migration.movers(conn, None, None)
    assert [(r[0], r[1], r[2], str(r[3])) for r in movers.rows] == [
        ("c2", "Champions", "At Risk", "2.00")
    ]
    assert [r[0] for r in everyone.rows] == ["c2", "c4", "c5", "c6", "c7"]
    with pytest.raises(ConfigError, match=r"no segment 'Champs'.*known: Champions, At Risk"):
        migration.chosen("Champs", None)


def test_named_runs_are_compared_and_unknown_names_are_errors(engine: Engine) -> None:
    a, b = two_runs(engine)
    project = Project(parse_config({}), engine=engine)
    same = project.segment_migration("rfm", b, b)
    assert same.moved == 0 and int(same.customers.trace()) == 6
    backwards = project.segment_migration("rfm", b, a)
    assert (backwards.entered, backwards.left) == (1, 1)
    with pytest.raises(ConfigError, match="run 1 has no segmentation 'clv'; it has: rfm"):
        project.segment_migration("clv", a, b)
    with pytest.raises(NotFoundError, match="no run 99"):
        project.segment_migration("rfm", 99, b)


def test_without_an_earlier_analysis_date_there_is_nothing_to_compare(
    engine: Engine, seed: Any
) -> None:
    store(engine, hand_made_result(date(2025, 1, 1), [1], {"rfm": (SEGMENTS, [0])}))
    with pytest.raises(NotFoundError, match="no stored run has an analysis date before run 1"):
        Project(parse_config({}), engine=engine).segment_migration("rfm")


def test_without_a_name_the_first_segmentation_both_runs_have_is_compared(
    engine: Engine,
) -> None:
    # registration order: "stage" first, but only the later run has it; "size" is in both
    store(
        engine,
        hand_made_result(date(2025, 1, 1), [1, 2], {"size": (["Big", "Small"], [0, 1])}),
    )
    later = hand_made_result(
        date(2025, 7, 1),
        [1, 2],
        {
            "stage": (["lead"], [0, 0]),
            "size": (["Big", "Small"], [1, 1]),
            "rfm": (SEGMENTS, [0, 0]),
        },
    )
    store(engine, later)
    migration = Project(parse_config({}), engine=engine).segment_migration()
    assert migration.segmentation == "size"
    assert migration.customers[0].tolist() == [0, 1, 0, 0]  # customer 1: Big -> Small
    store(engine, hand_made_result(date(2026, 1, 1), [1], {"other": (["x"], [0])}))
    with pytest.raises(ConfigError, match="runs 2 and 3 have no segmentation in common"):
        Project(parse_config({}), engine=engine).segment_migration()


def test_without_a_name_a_headline_segmentation_both_runs_have_comes_first(
    engine: Engine,
) -> None:
    """rfm declares `headline=True`: with it enabled, diff compares rfm although "size" comes
    first in the runs' order; a headline segmentation only one run has is passed over."""
    both = {"size": (["Big", "Small"], [0, 1]), "rfm": (SEGMENTS, [0, 2])}
    store(engine, hand_made_result(date(2025, 1, 1), [1, 2], both))
    store(engine, hand_made_result(date(2025, 7, 1), [1, 2], both))
    with_rfm = Project(parse_config({"plugins": {"enabled": ["rfm"]}}), engine=engine)
    assert with_rfm.headline_segmentations() == ("rfm",)
    assert with_rfm.segment_migration().segmentation == "rfm"
    only_later = hand_made_result(date(2026, 1, 1), [1, 2], {"size": (["Big", "Small"], [1, 1])})
    store(engine, only_later)
    assert with_rfm.segment_migration().segmentation == "size"
