"""Campaign results and the holdout on a small log computed by hand (SQLite and PostgreSQL).

Campaign X cost 100.00 (days 0-1), Y has no cost; a 7-day attribution window:
- P: touch X day 0, a purchase of two lines (30.00 + 20.00) at one moment on day 3;
- Q: touch X day 0, touch Y day 2, purchase 30.00 day 4 (both touches in the window);
- R: touch X day 0, purchase 20.00 day 10 (outside the window: no conversion);
- S: touch X day 0, opens it day 1 (a response), no purchase;
- T, U, V: never touched; T buys on day 5, U on day 20 (after the holdout period), V never.
"""

from __future__ import annotations

import types
from datetime import date

import pytest
from crm_aidas import api
from sqlalchemy import Engine

AS_OF = date(2024, 3, 1)
CAMPAIGNS = [
    {"id": "X", "name": "X", "channel": "email", "starts_on": date(2024, 1, 1),
     "ends_on": date(2024, 1, 2), "cost_minor": 10_000},
    {"id": "Y", "name": "Y", "channel": "sms", "starts_on": date(2024, 1, 3)},
]  # fmt: skip
LOG = [
    {"customer": "P", "kind": "campaign_touch", "day": 0, "campaign": "X", "channel": "email"},
    {"customer": "P", "kind": "purchase", "day": 3, "amount": 3000, "order_id": "1"},
    {"customer": "P", "kind": "purchase", "day": 3, "amount": 2000, "order_id": "1"},
    {"customer": "Q", "kind": "campaign_touch", "day": 0, "campaign": "X", "channel": "email"},
    {"customer": "Q", "kind": "campaign_touch", "day": 2, "campaign": "Y", "channel": "sms"},
    {"customer": "Q", "kind": "purchase", "day": 4, "amount": 3000},
    {"customer": "R", "kind": "campaign_touch", "day": 0, "campaign": "X", "channel": "email"},
    {"customer": "R", "kind": "purchase", "day": 10, "amount": 2000},
    {"customer": "S", "kind": "campaign_touch", "day": 0, "campaign": "X", "channel": "email"},
    {"customer": "S", "kind": "email_open", "day": 1, "campaign": "X", "channel": "email"},
    {"customer": "T", "kind": "purchase", "day": 5, "amount": 1000},
    {"customer": "U", "kind": "purchase", "day": 20, "amount": 1000},
]
EVERYONE = {
    "segmentations": {
        "everyone": {"rules": [{"segment": "All", "when": "purchases >= 0"}]},
    }
}


def _results(engine: Engine, logs: types.SimpleNamespace, model: str) -> dict[str, tuple]:
    logs.write_log(engine, LOG, customers=["V"], campaigns=CAMPAIGNS)
    table = api.campaign_results(logs.project(engine), as_of=AS_OF, attribution=model)
    columns = table.columns
    return {row[0]: dict(zip(columns, row, strict=True)) for row in table.rows}  # type: ignore[misc]


@pytest.mark.parametrize(
    ("model", "x", "y"),
    [
        # conversions, revenue, roi, cost per conversion
        ("last", (1.0, 50.0, -0.5, 100.0), (1.0, 30.0, None, None)),
        ("first", (2.0, 80.0, -0.2, 50.0), (0.0, 0.0, None, None)),
        ("linear", (1.5, 65.0, -0.35, 66.67), (0.5, 15.0, None, None)),
    ],
)
def test_attribution_models_split_purchases_as_documented(
    engine: Engine, logs: types.SimpleNamespace, model: str, x: tuple, y: tuple
) -> None:
    rows = _results(engine, logs, model)
    fields = ("conversions", "revenue", "roi", "cost_per_conversion")
    assert tuple(rows["X"][f] for f in fields) == x
    assert tuple(rows["Y"][f] for f in fields) == y
    assert (rows["X"]["reach"], rows["X"]["responses"], rows["X"]["response_rate"]) == (4, 1, 0.25)
    assert rows["X"]["cost"] == 100.0 and rows["X"]["note"] == ""
    # no cost: ROI is unavailable, not infinite
    assert rows["Y"]["cost"] is None and rows["Y"]["note"] == "no cost"


def test_a_touch_outside_the_window_converts_with_a_longer_window(
    engine: Engine, logs: types.SimpleNamespace
) -> None:
    logs.write_log(engine, LOG, customers=["V"], campaigns=CAMPAIGNS)
    table = api.campaign_results(logs.project(engine), as_of=AS_OF, window_days=10)
    x = next(row for row in table.rows if row[0] == "X")
    # R's purchase on day 10 is exactly 10 days after the touch: inside a 10-day window
    assert x[table.columns.index("conversions")] == 2.0
    assert x[table.columns.index("revenue")] == 70.0


def test_holdout_compares_touched_with_untouched_customers_of_the_segment(
    engine: Engine, logs: types.SimpleNamespace
) -> None:
    logs.write_log(engine, LOG, customers=["V"], campaigns=CAMPAIGNS)
    project = logs.project(engine, **EVERYONE)
    table = api.campaign_holdout(project, as_of=AS_OF, by="everyone")
    x = dict(zip(table.columns, table.rows[0], strict=True))
    # X runs days 0-1: purchases in [day 0, day 2 + 7) count. Touched P Q R S: P, Q buy (0.5);
    # untouched T U V: only T buys in time (1/3).
    assert (x["campaign"], x["touched"], x["touched_rate"]) == ("X", 4, 0.5)
    assert (x["control"], x["control_rate"], x["uplift"], x["incremental"]) == (
        3,
        0.3333,
        0.1667,
        0.7,
    )
    y = dict(zip(table.columns, table.rows[1], strict=True))
    # Y starts day 2 and still runs: purchases from day 2 to the analysis date count. Q touched
    # and buys; of P R S T U V (untouched by Y) P, R, T and U buy.
    assert (y["touched"], y["touched_rate"], y["control"], y["control_rate"]) == (1, 1.0, 6, 0.6667)
