"""`crm report funnel` and `crm report deals` through crm's report model, checked by hand."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Engine

from crm.core.rendering.html import render_html

STEPS = [{"name": "seen", "kinds": ["visit"]}, {"name": "bought", "kinds": ["purchase"]}]


def test_funnel_and_deal_sections_with_small_groups_hidden(engine: Engine, logs: Any) -> None:
    events: list[dict[str, Any]] = []
    for n in range(12):  # 12 visitors on 1 Jan (web), 7 buy two days later
        who = f"c{n:02d}"
        events.append({"customer": who, "kind": "visit", "day": 0, "channel": "web"})
        if n < 7:
            events.append({"customer": who, "kind": "purchase", "day": 2})
    for n in range(3):  # three deals: two won, one lost
        outcome = "won" if n < 2 else "lost"
        events += [
            {"customer": "c00", "kind": "stage_change", "stage": "qualified", "day": n,
             "order_id": f"D{n}", "amount": 10_000},
            {"customer": "c00", "kind": "stage_change", "stage": outcome, "day": n + 3,
             "order_id": f"D{n}"},
        ]  # fmt: skip
    logs.write_log(engine, events)
    project = logs.project(engine, {"steps": STEPS}, reports={"min_group_size": 5})
    document = project.report(["funnel", "deals"], as_of=date(2024, 2, 1))
    titles = [section.title for section in document.sections]
    assert titles == [
        "Funnel sales as of 2024-02-01", "Funnel sales by channel", "Deals as of 2024-02-01",
    ]  # fmt: skip
    bars = document.sections[0].figures[0]
    assert bars.categories == ("seen", "bought")
    went_on, dropped = bars.series
    # seen: 7 went on, 5 dropped; bought: 7 (the last step), 0 dropped (0 customers: shown)
    assert went_on.values == (7.0, 7.0) and dropped.values == (5.0, 0.0)
    (days,) = (f for f in document.sections[0].figures if f.kind == "histogram")
    assert days.series[0].values[:3] == (0.0, 0.0, 7.0)  # all seven took 2 days: bin 2-4
    html = render_html(document)
    assert "Funnel sales: customers per step" in html and "Reliability" in html
    project.close()
