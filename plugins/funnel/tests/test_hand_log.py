"""Every funnel metric on a small log computed by hand (see the comments), SQLite and PostgreSQL.

Steps A (visit), B (email_open), C (purchase), D (complaint, reached by nobody); window 10 days;
days below are after 2024-01-01 00:00 UTC; the analysis date is 2024-02-01 (day 31).
"""

from __future__ import annotations

import random
from datetime import date
from typing import Any

import pytest
from crm_funnel import api
from sqlalchemy import Engine

KIND = {"A": "visit", "B": "email_open", "C": "purchase", "D": "complaint"}
SECOND = 1 / 86_400
LOG = [
    ("c1", "A", 0, "web"), ("c1", "B", 1, "email"), ("c1", "C", 2, "store"),
    ("c2", "A", 0, "app"), ("c2", "C", 1, "phone"),  # skips B
    ("c3", "B", 0, None), ("c3", "A", 1, None), ("c3", "B", 3, None),  # B before entering
    ("c4", "A", 0, None), ("c4", "A", 2, None), ("c4", "B", 5, None),  # re-enters A
    ("c4", "C", 10, None),  # exactly at the window's edge: counts
    ("c5", "A", 0, None), ("c5", "B", 1, None), ("c5", "C", 10 + SECOND, None),  # a second late
    ("c6", "C", 0, None), ("c6", "B", 0, None), ("c6", "A", 0, None),  # a tie, stored backwards
    ("c8", "A", 0, None), ("c8", "C", 1, None), ("c8", "B", 2, None), ("c8", "C", 3, None),
    ("c9", "A", 15, None),  # enters two weeks later
]  # fmt: skip
FUNNEL: dict[str, Any] = {
    "steps": [{"name": step, "kinds": [kind]} for step, kind in KIND.items()],
    "window_days": 10,
    "stuck_after_days": 14,
}
AS_OF = date(2024, 2, 1)
COUNTRY = {"c1": "DE", "c2": "DE", "c3": "DE", "c4": "DE"}


def seeded(engine: Engine, logs: Any, **funnel: Any) -> Any:
    events = [
        {"customer": c, "kind": KIND[step], "day": day, "channel": channel}
        for c, step, day, channel in LOG
    ]
    random.Random(8).shuffle(events)  # the order of rows in the table must not matter
    people = {c: {"country": COUNTRY.get(c, "FR")} for c in ("c1", "c2", "c3", "c4", "c5", "c6")}
    people |= {"c7": {"country": "FR"}, "c8": {"country": "FR"}, "c9": {"country": "FR"}}
    logs.write_log(engine, events, people)  # c7 has no events at all
    return logs.project(engine, {**FUNNEL, **funnel})


def counts(table: Any) -> list[int]:
    return [row[1] for row in table.rows]


def test_ordered_step_table(engine: Engine, logs: Any) -> None:
    table = api.funnel_steps(seeded(engine, logs), as_of=AS_OF)
    assert table.columns[:2] == ("step", "customers")
    # A: c1 c2 c3 c4 c5 c6 c8 c9; B: c1 c3 c4 c5 c6 c8 (c2 skipped it; c3's early B is before
    # entry); C: c1 c4 (day 10 = edge) c6 (tie) c8 (the C after B); c5's C is a second too late.
    assert [tuple(row) for row in table.rows] == [
        ("A", 8, 1.0, 1.0, 2, 0.25, None, None, 2),
        # from A to B: c1 1, c3 2, c4 5, c5 1, c6 0, c8 2 -> median 1.5; p90 2 + 0.5 * 3 = 3.5
        ("B", 6, 0.75, 0.75, 2, 0.3333, 1.5, 3.5, 2),
        # from B to C: c1 1, c4 5, c6 0, c8 1 -> median 1; p90 1 + 0.7 * 4 = 3.8
        ("C", 4, 0.6667, 0.5, 4, 1.0, 1.0, 3.8, 4),
        ("D", 0, 0.0, 0.0, None, None, None, None, None),  # nobody: empty, no division by zero
    ]


def test_strict_mode_stops_at_any_other_step_in_between(engine: Engine, logs: Any) -> None:
    table = api.funnel_steps(seeded(engine, logs, order="strict"), as_of=AS_OF)
    # c8: A then C before B: only A. c4's repeated A is not another step, so c4 goes through.
    assert counts(table) == [8, 5, 3, 0]


def test_any_mode_counts_later_steps_after_a_skipped_one(engine: Engine, logs: Any) -> None:
    table = api.funnel_steps(seeded(engine, logs, order="any"), as_of=AS_OF)
    # The attempt starts at the first tracked event: c2 gets C; c3 starts at its early B.
    assert counts(table) == [8, 6, 5, 0]


def test_dropped_after_a_step_oldest_first(engine: Engine, logs: Any) -> None:
    table = api.funnel_dropped(seeded(engine, logs), "B", as_of=AS_OF)
    assert [tuple(row) for row in table.rows] == [
        ("c5", "2024-01-02T00:00:00Z", 30.0, False),
        ("c3", "2024-01-04T00:00:00Z", 28.0, False),
    ]
    # On day 12, c3 (entered day 1) still has a day of its window left; c5 (day 0) has none.
    early = api.funnel_dropped(logs.project(engine, FUNNEL), "B", as_of=date(2024, 1, 12))
    assert [(row[0], row[3]) for row in early.rows] == [("c5", False), ("c3", True)]


def test_cohorts_by_week_and_the_entry_period(engine: Engine, logs: Any) -> None:
    proj = seeded(engine, logs)
    table = api.funnel_cohorts(proj, "week", as_of=AS_OF)
    assert table.columns == ("cohort", "entered", "A", "B", "C", "D", "converted")
    assert [tuple(row) for row in table.rows] == [
        ("2024-01-01", 7, 1.0, 0.8571, 0.5714, 0.0, 0),
        ("2024-01-15", 1, 1.0, 0.0, 0.0, 0.0, 0),
    ]
    late = api.funnel_steps(proj, as_of=AS_OF, start=date(2024, 1, 10))
    assert counts(late) == [1, 0, 0, 0]


def test_breakdown_by_country_and_by_first_and_last_touch_channel(
    engine: Engine, logs: Any
) -> None:
    proj = seeded(engine, logs)
    table = api.funnel_breakdown(proj, "country", as_of=AS_OF)
    by_country = {(row[0], row[1]): row[2] for row in table.rows}
    assert [by_country[("DE", s)] for s in "ABCD"] == [4, 3, 2, 0]
    assert [by_country[("FR", s)] for s in "ABCD"] == [4, 3, 2, 0]
    first = api.funnel_breakdown(proj, "channel", attribution="first", as_of=AS_OF)
    last = api.funnel_breakdown(proj, "channel", attribution="last", as_of=AS_OF)
    first_a = {row[0]: row[2] for row in first.rows if row[1] == "A"}
    last_a = {row[0]: row[2] for row in last.rows if row[1] == "A"}
    # c1 enters on web and reaches C in store; c2's phone purchase is after its furthest step.
    assert first_a == {"(none)": 6, "web": 1, "app": 1}
    assert last_a == {"(none)": 6, "store": 1, "app": 1}


def test_the_furthest_step_is_a_stage_column_of_crm_segment(engine: Engine, logs: Any) -> None:
    proj = seeded(engine, logs)
    result = proj.segment(as_of=AS_OF, store=False)
    outcome = next(o for o in result.outcomes if o.name == "funnel")
    furthest = dict(zip(result.facts.external_id, outcome.segment_names(), strict=True))
    assert furthest == {
        "c1": "C", "c2": "A", "c3": "B", "c4": "C", "c5": "B", "c6": "C", "c7": None,
        "c8": "C", "c9": "A",
    }  # fmt: skip


def test_a_second_funnel_gets_its_own_column(engine: Engine, logs: Any) -> None:
    quick = {
        "steps": [{"name": "seen", "kinds": ["visit"]}, {"name": "bought", "kinds": ["purchase"]}],
        "window_days": 1,
    }
    proj = seeded(engine, logs, funnels={"quick": quick})
    result = proj.segment(as_of=AS_OF, store=False)
    outcome = next(o for o in result.outcomes if o.name == "funnel_quick")
    furthest = dict(zip(result.facts.external_id, outcome.segment_names(), strict=True))
    # within one day of the first visit: c1 (day 2) no, c2 and c8 (day 1: the edge) and c6 (tie)
    assert [c for c, s in furthest.items() if s == "bought"] == ["c2", "c6", "c8"]
    assert counts(api.funnel_steps(proj, funnel="quick", as_of=AS_OF)) == [8, 3]


@pytest.mark.parametrize("chunk_rows", [1, 3])
def test_chunking_changes_nothing(engine: Engine, logs: Any, chunk_rows: int) -> None:
    from crm_funnel.options import FunnelDefinition, StepOptions
    from crm_funnel.reach import compute_reach

    proj = seeded(engine, logs)
    definition = FunnelDefinition(
        steps=tuple(StepOptions(name=s, kinds=(k,)) for s, k in KIND.items()), window_days=10
    )
    with proj.read_only() as conn:
        whole = compute_reach(conn, proj.tables, definition, as_of=AS_OF)
        parts = compute_reach(conn, proj.tables, definition, as_of=AS_OF, chunk_rows=chunk_rows)
    assert parts.customer_id.tolist() == whole.customer_id.tolist()
    assert parts.reached.tolist() == whole.reached.tolist()
    assert parts.time.tolist() == whole.time.tolist()


def test_a_step_window_is_measured_from_the_previous_step(engine: Engine, logs: Any) -> None:
    # B must come at most 2 days after A: c1 (1 day) yes; c3 (A day 1, B day 3: 2 days, the
    # edge) yes; c4 (5 days) no, so c4 stops at A and its C no longer counts either.
    steps = [dict(s) for s in FUNNEL["steps"]]
    steps[1]["window_days"] = 2
    table = api.funnel_steps(seeded(engine, logs, steps=steps), as_of=AS_OF)
    # B: c1 c3 c5 c6 c8 (c4 out); C: c1 c6 c8
    assert counts(table) == [8, 5, 3, 0]


def test_time_to_convert_histogram(engine: Engine, logs: Any) -> None:
    from crm_funnel.options import FunnelDefinition, StepOptions
    from crm_funnel.reach import compute_reach
    from crm_funnel.sections import time_to_convert

    proj = seeded(engine, logs)
    definition = FunnelDefinition(
        steps=tuple(StepOptions(name=s, kinds=(k,)) for s, k in KIND.items()), window_days=10
    )
    with proj.read_only() as conn:
        reach = compute_reach(conn, proj.tables, definition, as_of=AS_OF)
    table = time_to_convert(reach, definition, "")
    assert table.columns[1:] == ("days_0-1", "days_1-2", "days_2-4", "days_4-7", "days_7-14",
                                 "days_14-30", "days_30+")  # fmt: skip
    # A->B: 0 (c6), 1 1 (c1 c5), 2 2 (c3 c8), 5 (c4); B->C: 0 (c6), 1 1 (c1 c8), 5 (c4)
    assert [tuple(row) for row in table.rows] == [
        ("B", 1, 2, 2, 1, 0, 0, 0),
        ("C", 1, 2, 0, 1, 0, 0, 0),
        ("D", 0, 0, 0, 0, 0, 0, 0),
    ]


def test_dropped_list_with_channel_keeps_only_consented_customers(
    engine: Engine, logs: Any
) -> None:
    from sqlalchemy import update

    from crm.core.schema import CustomerRow

    proj = seeded(engine, logs)
    with engine.begin() as conn:
        conn.execute(
            update(CustomerRow).where(CustomerRow.external_id == "c5").values(consent_email=True)
        )
        conn.execute(
            update(CustomerRow).where(CustomerRow.external_id == "c3").values(consent_email=False)
        )
    table = api.funnel_dropped(proj, "B", channel="email", as_of=AS_OF)
    assert [row[0] for row in table.rows] == ["c5"]
    assert "(1 without it left out)" in table.title


def test_report_sections_are_tables_of_the_same_numbers(engine: Engine, logs: Any) -> None:
    from crm_funnel.sections import report_sections

    sections = report_sections(seeded(engine, logs), as_of=AS_OF)
    assert list(sections) == [
        "funnel", "time_to_convert", "cohorts", "breakdown", "forecast", "reliability",
    ]  # fmt: skip
    assert counts(sections["funnel"]) == [8, 6, 4, 0]
    assert [row[0] for row in sections["cohorts"].rows] == ["2024-01"]
    assert sections["forecast"].rows[-1][:2] == ("total", 0)  # no deals in this log
    assert sections["reliability"].rows == ()
