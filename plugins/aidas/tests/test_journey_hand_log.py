"""Journeys on a small log computed by hand, on SQLite and PostgreSQL (identical tables).

Six customers through the default AIDAS set (analysis date: day 200):
- A: touch (email) 0, visit 1, cart 3, purchase 10, feedback 12 -> every stage, in order;
- B: a purchase on day 5 only -> skips attention to desire (reached, not observed);
- C: visit 2, then a campaign touch 4 -> out of order: interest, entered on day 2;
- D: touch 0, purchase 1, feedback 3, complaint 5 -> satisfied, then a complaint: current = action;
- E: purchases 0 and 30 (repeat within 90 days: satisfaction), complaint 31, resolved 32;
- F: purchases 0 and 100 -> the repeat is outside 90 days: action only.
"""

from __future__ import annotations

import math
import types
from datetime import date

import numpy as np
from crm_aidas import api
from sqlalchemy import Engine

AS_OF = date(2024, 7, 19)  # day 200
LOG = [
    {"customer": "A", "kind": "campaign_touch", "day": 0, "channel": "email", "campaign": "X"},
    {"customer": "A", "kind": "visit", "day": 1, "channel": "web"},
    {"customer": "A", "kind": "cart", "day": 3, "channel": "web"},
    {"customer": "A", "kind": "purchase", "day": 10, "channel": "web", "amount": 1000},
    {"customer": "A", "kind": "feedback", "day": 12},
    {"customer": "B", "kind": "purchase", "day": 5, "channel": "web", "amount": 500},
    {"customer": "C", "kind": "visit", "day": 2, "channel": "web"},
    {"customer": "C", "kind": "campaign_touch", "day": 4, "channel": "email", "campaign": "X"},
    {"customer": "D", "kind": "campaign_touch", "day": 0, "channel": "email", "campaign": "X"},
    {"customer": "D", "kind": "purchase", "day": 1, "channel": "store", "amount": 700},
    {"customer": "D", "kind": "feedback", "day": 3},
    {"customer": "D", "kind": "complaint", "day": 5},
    {"customer": "E", "kind": "purchase", "day": 0, "channel": "store", "amount": 100},
    {"customer": "E", "kind": "purchase", "day": 30, "channel": "store", "amount": 100},
    {"customer": "E", "kind": "complaint", "day": 31},
    {"customer": "E", "kind": "complaint_resolved", "day": 32},
    {"customer": "F", "kind": "purchase", "day": 0, "channel": "web", "amount": 100},
    {"customer": "F", "kind": "purchase", "day": 100, "channel": "web", "amount": 100},
]


def test_stage_table_counts_skips_and_out_of_order_events_as_documented(
    engine: Engine, logs: types.SimpleNamespace
) -> None:
    logs.write_log(engine, LOG)
    table = api.journey_stages(logs.project(engine), as_of=AS_OF)
    assert table.rows == (
        # stage, reached, observed, current, convert, dropped, median days to the next stage
        ("attention", 6, 3, 0, 1.0, 0, 0.0),
        ("interest", 6, 2, 1, 0.8333, 1, 0.0),
        ("desire", 5, 1, 0, 1.0, 0, 0.0),
        ("action", 5, 5, 3, 0.6, 2, 2.0),
        ("satisfaction", 3, 3, 2, None, None, None),
    )


def test_per_customer_entry_furthest_and_current_stage(
    engine: Engine, logs: types.SimpleNamespace
) -> None:
    logs.write_log(engine, LOG)
    _, _, found, _ = api.journeys(logs.project(engine), as_of=AS_OF)
    # customers are ids 1..6 = A..F
    assert found.furthest.tolist() == [4, 3, 1, 4, 4, 3]
    assert found.current.tolist() == [4, 3, 1, 3, 4, 3]
    days = np.where(found.entry == np.iinfo(np.int64).max, -1, found.entry - found.entry[:, :1])
    days = np.where(days >= 0, days // 86_400, -1)
    assert days.tolist() == [
        [0, 1, 3, 10, 12],
        [0, 0, 0, 0, -1],
        [0, 0, -1, -1, -1],  # C entered on day 2 (the visit), before the touch of day 4
        [0, 1, 1, 1, 3],
        [0, 0, 0, 0, 30],
        [0, 0, 0, 0, -1],
    ]
    assert found.touches_to_action.tolist() == [3, 0, 2, 1, 0, 0]


def test_breakdown_by_first_and_last_touch_channel(
    engine: Engine, logs: types.SimpleNamespace
) -> None:
    logs.write_log(engine, LOG)
    project = logs.project(engine)
    first = api.journey_stages(project, as_of=AS_OF, by="channel", touch="first")
    reached = {(row[0], row[1]): row[2] for row in first.rows}
    # first touch: A email, B web, C web, D email, E store, F web
    assert [reached[("email", s)] for s in ("attention", "action", "satisfaction")] == [2, 2, 2]
    assert [reached[("web", s)] for s in ("attention", "desire", "action")] == [3, 2, 2]
    assert reached[("store", "satisfaction")] == 1
    last = api.journey_stages(project, as_of=AS_OF, by="channel", touch="last")
    reached = {(row[0], row[1]): row[2] for row in last.rows}
    # last touch before the first action: A's cart (web), D's touch (email); B, E, F acted
    # first (their purchase); C never acted (its last stage event, the e-mail touch)
    assert reached[("email", "attention")] == 2 and reached[("email", "action")] == 1
    assert reached[("web", "attention")] == 3 and reached[("store", "attention")] == 1


def test_scores_and_the_aidas_column_of_crm_segment(
    engine: Engine, logs: types.SimpleNamespace
) -> None:
    logs.write_log(engine, LOG)
    result = logs.project(engine).segment(as_of=AS_OF, store=False)
    stage = next(o for o in result.outcomes if o.name == "aidas")
    assert stage.segment_names().tolist() == [
        "satisfaction", "action", "interest", "action", "satisfaction", "action",
    ]  # fmt: skip
    scores = result.scores
    assert scores["aidas.stage"].tolist() == [5, 4, 2, 5, 5, 4]
    days = scores["aidas.days_to_action"].tolist()
    assert days[:2] == [10, 0] and math.isnan(days[2]) and days[3:] == [1, 0, 0]
    assert scores["aidas.days_in_stage"][0] == 200 - 12


def test_an_empty_stage_has_no_conversion_into_it_and_no_median(
    engine: Engine, logs: types.SimpleNamespace
) -> None:
    logs.write_log(engine, LOG)
    table = api.journey_stages(logs.project(engine), as_of=AS_OF, stages="lifecycle")
    # identify: everyone with a touch, visit, complaint or purchase (6); acquire: 5 buyers;
    # retain: second purchase within 365 days (E, F); grow: a fourth purchase - nobody
    assert [row[:3] for row in table.rows] == [
        ("identify", 6, 4), ("acquire", 5, 5), ("retain", 2, 2), ("grow", 0, 0),
    ]  # fmt: skip
    assert table.rows[2][4:] == (0.0, 2, None)


def test_paths_to_action_follow_the_order_of_first_reach(
    engine: Engine, logs: types.SimpleNamespace
) -> None:
    logs.write_log(engine, LOG)
    paths, flows = api.journey_paths(logs.project(engine), as_of=AS_OF)
    assert set(paths.rows) == {
        ("action", 3, 0.6),  # B, E, F: nothing before the purchase
        ("attention > interest > desire > action", 1, 0.2),
        ("attention > action", 1, 0.2),
    }
    assert dict(((a, b), n) for a, b, n in flows.rows) == {
        ("attention", "interest"): 1, ("interest", "desire"): 1, ("desire", "action"): 1,
        ("attention", "action"): 1,
    }  # fmt: skip


def test_the_aggregate_path_gives_the_journeys_of_the_event_path(
    engine: Engine, logs: types.SimpleNamespace
) -> None:
    from crm_aidas.journey import compute_journeys
    from crm_aidas.journey_sql import aggregatable, aggregate_journeys
    from crm_aidas.options import shipped_sets

    # A resolved complaint after feedback (E), an open one (D): the `against` rule of AISAS.
    logs.write_log(engine, [*LOG, {"customer": "B", "kind": "complaint", "day": 6}])
    project = logs.project(engine)
    with project.read_only() as connection:
        for name in ("aida", "aisas", "aidma"):
            stage_set = shipped_sets()[name]
            assert aggregatable(stage_set)
            a = aggregate_journeys(connection, project.tables, stage_set, as_of=AS_OF)
            b = compute_journeys(connection, project.tables, stage_set, as_of=AS_OF)
            assert a.customer_id.tolist() == b.customer_id.tolist(), name
            for column in ("observed", "entry", "furthest", "current"):
                assert getattr(a, column).tolist() == getattr(b, column).tolist(), (name, column)
            if name == "aisas":
                # share (feedback) with an open complaint after it: D is back at action
                assert (a.furthest.tolist()[3], a.current.tolist()[3]) == (4, 3)


def test_the_aggregate_path_counts_repeats_and_complaints_as_the_event_path_does(
    engine: Engine, logs: types.SimpleNamespace
) -> None:
    from crm_aidas.journey import compute_journeys
    from crm_aidas.journey_sql import aggregatable, aggregate_journeys
    from crm_aidas.options import shipped_sets

    # G: two order lines at one moment, then a purchase 50 days later (the second distinct
    # moment, within 90 days: satisfied); H: two lines at one moment only (no repeat); I: feedback
    # before a repeat purchase, then an open ticket (back at action); J: four purchases in a
    # year (lifecycle's grow), the fourth after 90 days; K: a repeat purchase, a complaint, then
    # another purchase (a later satisfaction event than the complaint: satisfied again).
    extra = [
        {"customer": "G", "kind": "purchase", "day": 0},
        {"customer": "G", "kind": "purchase", "day": 0},
        {"customer": "G", "kind": "purchase", "day": 50},
        {"customer": "H", "kind": "purchase", "day": 7},
        {"customer": "H", "kind": "purchase", "day": 7},
        {"customer": "I", "kind": "feedback", "day": 1},
        {"customer": "I", "kind": "purchase", "day": 2},
        {"customer": "I", "kind": "purchase", "day": 3},
        {"customer": "I", "kind": "ticket", "day": 9},
        *({"customer": "J", "kind": "purchase", "day": d} for d in (0, 40, 80, 120)),
        *({"customer": "K", "kind": "purchase", "day": d} for d in (0, 10, 30)),
        {"customer": "K", "kind": "complaint", "day": 20},
        {"customer": "L", "kind": "purchase", "day": 3},  # said no to profiling: no journey
    ]
    logs.write_log(engine, [*LOG, *extra])
    from sqlalchemy import update

    from crm.core.schema import CustomerRow

    with engine.begin() as conn:
        conn.execute(
            update(CustomerRow)
            .where(CustomerRow.external_id == "L")
            .values(consent_profiling=False)
        )
    project = logs.project(engine)
    with project.read_only() as connection:
        for name in ("aidas", "lifecycle"):
            stage_set = shipped_sets()[name]
            assert aggregatable(stage_set)
            a = aggregate_journeys(connection, project.tables, stage_set, as_of=AS_OF)
            b = compute_journeys(connection, project.tables, stage_set, as_of=AS_OF)
            assert a.customer_id.tolist() == b.customer_id.tolist() == list(range(1, 12)), name
            for column in ("observed", "entry", "furthest", "current"):
                assert getattr(a, column).tolist() == getattr(b, column).tolist(), (name, column)
            if name == "aidas":
                # customers 7..11 = G..K: G satisfied on day 50, H at action, I back at action
                assert a.furthest.tolist()[6:] == [4, 3, 4, 4, 4]
                assert a.current.tolist()[6:] == [4, 3, 3, 4, 4]
            else:
                # J: retain at the second purchase, grow at the fourth (within 365 days)
                assert (a.furthest.tolist()[9], a.current.tolist()[9]) == (3, 3)


def test_the_report_draws_the_paths_as_bands_aligned_on_the_action(
    engine: Engine, logs: types.SimpleNamespace
) -> None:
    logs.write_log(engine, LOG)
    project = logs.project(engine, reports={"min_group_size": 1})
    document = project.report(["journey"], as_of=AS_OF)
    paths = next(s for s in document.sections if s.title == "Paths to action")
    (figure,) = paths.figures
    assert figure.kind == "sankey"
    assert figure.categories == ("3 stages before", "2 stages before", "1 stage before", "action")
    assert [(s.name, s.values, s.labels) for s in figure.series] == [
        ("action", (None, None, None, 3.0), ("", "", "", "action")),  # B, E, F
        (
            "attention > interest > desire > action",  # A
            (1.0, 1.0, 1.0, 1.0),
            ("attention", "interest", "desire", "action"),
        ),
        ("attention > action", (None, None, 1.0, 1.0), ("", "", "attention", "action")),  # D
    ]
