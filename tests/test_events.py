"""crm.EventSequences: tracked events as ordered numpy columns, in chunks of whole customers."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import Engine, insert, select

from crm import EventRule, EventSequences
from crm.core.config import parse_config
from crm.core.database import read_only_connection
from crm.core.project import Project
from crm.core.schema import CustomerRow, InteractionRow, Tables

# (customer, kind, time, stage, channel, campaign, amount, order), in no particular order.
LOG = [
    ("b", "visit", "2024-01-02T09:00:00", None, "web", None, None, None),
    ("a", "purchase", "2024-01-05T10:00:00", None, "store", "spring-2024", 1250, "O1"),
    ("a", "visit", "2024-01-01T08:00:00", None, "app", None, None, None),
    ("a", "stage_change", "2024-01-03T12:00:00", "prospect", None, None, None, None),
    ("a", "ticket", "2024-01-04T12:00:00", None, "phone", None, None, None),
    ("b", "stage_change", "2024-01-02T09:00:00", "lead", None, None, None, None),
    ("b", "visit", "2024-01-02T09:00:00", None, "web", "spring-2024", None, None),
    ("c", "visit", "2024-02-01T00:00:00", None, "web", None, None, None),
]
RULES = (
    EventRule(stages=("lead",)),
    EventRule(kinds=("visit",)),
    EventRule(stages=("prospect",), kinds=("email_open",)),
    EventRule(kinds=("purchase",), campaigns=("spring-*",)),
)


def write_log(engine: Engine, log: list[tuple]) -> dict[str, int]:
    customers = sorted({row[0] for row in log} | {"nobody"})
    with engine.begin() as conn:
        conn.execute(
            insert(CustomerRow),
            [{"external_id": c, "created_at": datetime(2024, 1, 1)} for c in customers],
        )
        ids = dict(conn.execute(select(CustomerRow.external_id, CustomerRow.id)).all())
        conn.execute(
            insert(InteractionRow),
            [
                {
                    "customer_id": ids[c],
                    "kind": kind,
                    "occurred_at": datetime.fromisoformat(when),
                    "stage": stage,
                    "channel": channel,
                    "campaign": campaign,
                    "amount_minor": amount,
                    "order_id": order,
                    "source_key": f"t:{n}",
                }
                for n, (c, kind, when, stage, channel, campaign, amount, order) in enumerate(log)
            ],
        )
    return ids


def test_codes_order_and_columns_come_from_sql(engine: Engine) -> None:
    ids = write_log(engine, LOG)
    sequences = EventSequences(rules=RULES, extras=("channel", "campaign", "amount", "order_id"))
    with read_only_connection(engine) as conn:
        events = sequences.read(conn, Tables.default())
    a, b, c = ids["a"], ids["b"], ids["c"]
    # The ticket matches no rule and never crosses the wire; b's tie at 09:00 is ordered by code.
    assert events.customer_id.tolist() == [a, a, a, b, b, b, c]
    assert events.code.tolist() == [1, 2, 3, 0, 1, 1, 1]
    assert events.time.tolist()[:3] == [
        datetime(2024, 1, 1, 8),
        datetime(2024, 1, 3, 12),
        datetime(2024, 1, 5, 10),
    ]
    assert events.time.dtype == np.dtype("datetime64[s]")
    assert events.channel is not None and events.channel.tolist()[:3] == ["app", None, "store"]
    assert events.amount_minor is not None and events.amount_known is not None
    assert events.amount_minor.tolist()[2] == 1250 and events.amount_known.tolist()[:3] == [
        False,
        False,
        True,
    ]
    assert events.order_id is not None and events.order_id.tolist()[2] == "O1"
    assert events.stage is None  # not asked for
    assert events.customers().tolist() == [a, b, c]


def test_first_matching_rule_wins_and_filters_apply(engine: Engine) -> None:
    ids = write_log(engine, LOG)
    rules = (EventRule(kinds=("visit",), channels=("web",)), EventRule(kinds=("visit",)))
    with read_only_connection(engine) as conn:
        events = EventSequences(rules=rules, end=date(2024, 2, 1)).read(conn, Tables.default())
    # c's visit at exactly 2024-02-01 00:00 is outside the end (exclusive).
    assert events.customer_id.tolist() == [ids["a"], ids["b"], ids["b"]]
    assert events.code.tolist() == [1, 0, 0]
    with read_only_connection(engine) as conn:
        later = EventSequences(rules=rules, start=datetime(2024, 1, 2, 9)).read(
            conn, Tables.default()
        )
    assert later.customer_id.tolist() == [ids["b"], ids["b"], ids["c"]]


@pytest.mark.parametrize("chunk_rows", [1, 2, 3, 100])
def test_chunks_never_split_a_customer(engine: Engine, chunk_rows: int) -> None:
    ids = write_log(engine, LOG)
    sequences = EventSequences(rules=RULES, chunk_rows=chunk_rows)
    with read_only_connection(engine) as conn:
        chunks = list(sequences.chunks(conn, Tables.default()))
    seen = [chunk.customers().tolist() for chunk in chunks]
    flat = [c for customers in seen for c in customers]
    assert flat == [ids["a"], ids["b"], ids["c"]]  # each customer in exactly one chunk
    assert sum(len(chunk) for chunk in chunks) == 7
    # Whole customers: a and b have 3 tracked events each, c one, even with one-row partitions.
    counts = {ids["a"]: 3, ids["b"]: 3, ids["c"]: 1}
    assert [len(chunk) for chunk in chunks] == [sum(counts[c] for c in s) for s in seen]


def test_no_tracked_events_is_an_empty_chunk(engine: Engine) -> None:
    write_log(engine, LOG)
    with read_only_connection(engine) as conn:
        events = EventSequences(rules=(EventRule(kinds=("complaint",)),), extras=("amount",)).read(
            conn, Tables.default()
        )
    assert len(events) == 0 and events.amount_minor is not None and events.customers().size == 0


def test_a_plugin_command_reads_through_the_projects_read_only_connection(
    tmp_path: Path,
) -> None:
    project = Project(parse_config({"database": {"url": f"sqlite:///{tmp_path / 'crm.db'}"}}))
    write_log(project.engine, LOG)
    with project.read_only() as conn:
        events = EventSequences(rules=RULES).read(conn, project.tables)
        with pytest.raises(Exception, match=r"readonly|read-only|read only"):
            conn.execute(insert(CustomerRow).values(external_id="x", created_at=datetime.now()))
    project.close()
    assert len(events) == 7


def test_the_plugin_guide_example_runs(tmp_path: Path) -> None:
    """The stage model under "Event sequences" in docs/plugins.md, run on a real database."""
    import re
    import types

    docs = (Path(__file__).resolve().parent.parent / "docs" / "plugins.md").read_text("utf-8")
    section = docs.split("### Event sequences", 1)[1]
    block = re.search(r"```python\n(.*?)```", section, flags=re.DOTALL)
    assert block is not None
    module = types.ModuleType("docs_event_sequences")
    exec(compile(block.group(1), "docs/plugins.md (Event sequences)", "exec"), module.__dict__)
    config = parse_config({"database": {"url": f"sqlite:///{tmp_path / 'crm.db'}"}})
    project = Project(config, extra_plugins=(("path", module),))
    write_log(project.engine, LOG)
    result = project.segment(as_of=date(2024, 3, 1), store=False)
    project.close()
    path = next(o for o in result.outcomes if o.name == "path")
    # a: visit on 1 Jan, purchase on 5 Jan; b and c: visits only; nobody: nothing
    assert dict(zip(result.facts.external_id, path.segment_names(), strict=True)) == {
        "a": "bought after a visit",
        "b": "browsed",
        "c": "browsed",
        "nobody": None,
    }


def test_match_all_gives_a_bitmask_of_overlapping_rules(engine: Engine) -> None:
    write_log(engine, LOG)
    rules = (EventRule(kinds=("visit",)), EventRule(channels=("web",)))
    with read_only_connection(engine) as conn:
        events = EventSequences(rules=rules, match="all").read(conn, Tables.default())
    # a: app visit (1); b: lead stage change? no channel: untracked; b web visits (1|2) twice;
    # c: web visit (3)
    assert events.code.tolist() == [1, 3, 3, 3]


def test_customers_who_said_no_to_profiling_have_no_events(engine: Engine) -> None:
    from sqlalchemy import update

    ids = write_log(engine, LOG)
    with engine.begin() as conn:
        conn.execute(
            update(CustomerRow)
            .where(CustomerRow.external_id == "a")
            .values(consent_profiling=False)
        )
        conn.execute(
            update(CustomerRow).where(CustomerRow.external_id == "b").values(consent_profiling=True)
        )
    with read_only_connection(engine) as conn:
        events = EventSequences(rules=RULES).read(conn, Tables.default())
    assert events.customers().tolist() == [ids["b"], ids["c"]]  # c was never asked: kept


def test_a_span_keeps_only_the_window_after_each_first_anchor_event(engine: Engine) -> None:
    from datetime import timedelta

    ids = write_log(engine, LOG)
    rules = (EventRule(kinds=("visit",)), EventRule(kinds=("purchase", "ticket")))
    sequences = EventSequences(rules=rules, anchor=0, span=timedelta(days=3))
    with read_only_connection(engine) as conn:
        events = sequences.read(conn, Tables.default())
    # a: visit 1 Jan 08:00, ticket 4 Jan 12:00 is more than 3 days later, purchase too; b: its
    # visits at 09:00 on 2 Jan; c: its one visit.
    assert events.customer_id.tolist() == [ids["a"], ids["b"], ids["b"], ids["c"]]
    with read_only_connection(engine) as conn:
        wider = EventSequences(rules=rules, anchor=0, span=timedelta(days=3, hours=4)).read(
            conn, Tables.default()
        )
    assert wider.code.tolist() == [0, 1, 0, 0, 0]  # the ticket at exactly the edge now counts


def test_a_span_edge_is_on_rounded_seconds_and_end_still_cuts_the_window(engine: Engine) -> None:
    from datetime import timedelta

    log = [
        # a enters at 08:00:00.7, which rounds to 08:00:01: the window ends 08:00:01 a day later.
        ("a", "visit", "2024-01-01T08:00:00.700000", None, None, None, None, None),
        ("a", "purchase", "2024-01-02T08:00:01.400000", None, None, None, None, None),  # :01
        ("a", "ticket", "2024-01-02T08:00:01.600000", None, None, None, None, None),  # :02
        # b's window reaches 2 March midnight, but `end` (exclusive) is that very moment.
        ("b", "visit", "2024-03-01T00:00:00", None, None, None, None, None),
        ("b", "purchase", "2024-03-01T12:00:00", None, None, None, None, None),
        ("b", "ticket", "2024-03-02T00:00:00", None, None, None, None, None),
    ]
    ids = write_log(engine, log)
    rules = (EventRule(kinds=("visit",)), EventRule(kinds=("purchase", "ticket")))
    sequences = EventSequences(rules=rules, anchor=0, span=timedelta(days=1), end=date(2024, 3, 2))
    with read_only_connection(engine) as conn:
        events = sequences.read(conn, Tables.default())
    assert events.customer_id.tolist() == [ids["a"], ids["a"], ids["b"], ids["b"]]
    assert events.time.astype(str).tolist() == [
        "2024-01-01T08:00:01",
        "2024-01-02T08:00:01",
        "2024-03-01T00:00:00",
        "2024-03-01T12:00:00",
    ]
