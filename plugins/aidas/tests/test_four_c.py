"""The 4C view on a small log computed by hand; unavailable figures say why, never 0."""

from __future__ import annotations

import types
from datetime import date

from crm_aidas import api
from sqlalchemy import Engine

AS_OF = date(2024, 3, 1)  # day 60
EVERYONE = {
    "segmentations": {"everyone": {"rules": [{"segment": "All", "when": "purchases >= 0"}]}}
}
LOG = [
    {"customer": "A", "kind": "campaign_touch", "day": 0, "campaign": "X", "channel": "email"},
    {"customer": "A", "kind": "email_open", "day": 1, "campaign": "X", "channel": "email"},
    {"customer": "A", "kind": "purchase", "day": 2, "amount": 1000, "order_id": "1",
     "channel": "web", "attributes": {"category": "shoes"}},
    {"customer": "A", "kind": "purchase", "day": 9, "amount": 3000, "order_id": "2",
     "channel": "web", "attributes": {"category": "shoes", "discount": "0.10"}},
    {"customer": "B", "kind": "campaign_touch", "day": 0, "campaign": "X", "channel": "email"},
    {"customer": "B", "kind": "purchase", "day": 30, "amount": 2000, "order_id": "3",
     "channel": "store", "attributes": {"category": "bags"}},
    {"customer": "B", "kind": "ticket", "day": 40, "channel": "phone",
     "attributes": {"topic": "delivery"}},
    {"customer": "B", "kind": "complaint", "day": 50, "channel": "phone",
     "attributes": {"topic": "delivery"}},
    {"customer": "C", "kind": "feedback", "day": 55, "channel": "web",
     "attributes": {"topic": "price"}},
]  # fmt: skip


def _view(engine: Engine, logs: types.SimpleNamespace, log: list) -> dict[str, tuple]:
    logs.write_log(engine, log)
    table = api.four_c(logs.project(engine, **EVERYONE), by="everyone", as_of=AS_OF)
    return {row[2]: (row[3], row[4]) for row in table.rows if row[0] == "All"}


def test_four_c_figures_from_attributes_kinds_and_channels(
    engine: Engine, logs: types.SimpleNamespace
) -> None:
    view = _view(engine, logs, LOG)
    assert view["customers"] == (3, "")
    assert view["top_categories"] == ("shoes 67%, bags 33%", "")
    assert view["top_topics"] == ("delivery 67%, price 33%", "")
    assert view["average_price"] == (20.0, "")  # 60.00 over three lines
    assert view["spend_per_purchase"] == (20.0, "")  # 60.00 over three orders
    assert view["discount_share"] == (0.3333, "")
    # interactions with a channel: email 3, web 3, phone 2, store 1
    assert view["channels"] == ("email 33%, web 33%, phone 22%", "")
    # A: touch, open (2 touches) then purchase on day 2; B: touch, purchase day 30
    assert view["median_touches_to_purchase"] == (1.5, "")
    assert view["median_days_first_touch_to_purchase"] == (16.0, "")
    assert view["campaign_response_rate"] == (0.5, "")  # A opened, B did not
    assert view["email_open_rate"] == (0.5, "")  # one open over two e-mail touches
    assert view["complaint_rate"] == (0.3333, "")
    assert view["feedback_rate"] == (0.3333, "")
    # last contact (any kind but purchase): A day 1, B day 50, C day 55 -> 59, 10, 5 days
    assert view["median_days_since_last_contact"] == (10.0, "")


def test_figures_the_data_cannot_support_are_unavailable_with_the_reason(
    engine: Engine, logs: types.SimpleNamespace
) -> None:
    bare = [{"customer": "A", "kind": "purchase", "day": 2, "amount": 1000}]
    view = _view(engine, logs, bare)
    assert view["top_categories"] == (
        None,
        "unavailable: no purchase carries a 'category' attribute",
    )
    assert view["discount_share"] == (
        None,
        "unavailable: no purchase carries a 'discount' attribute",
    )
    assert view["campaign_response_rate"] == (None, "unavailable: no campaign touched this segment")
    assert view["email_open_rate"][0] is None
    assert view["channels"] == (None, "unavailable: no interaction records a channel")
    assert view["complaint_rate"] == (0.0, "")  # known: nobody complained
