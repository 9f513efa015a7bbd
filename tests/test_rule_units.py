"""Rules read money in currency units, whoever computed it (issue 5, item 11).

`revenue >= 1000` always meant 1000.00; `rfm.monetary >= 1000` meant 10.00 (cents). Now every
metric of kind "money" reaches segmentations in currency units, like `revenue`.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine

from crm.core.config import parse_config
from crm.core.project import Project
from tests.conftest import BigSpendersPlugin, SpendPlugin

# Totals: a 1,000.00 exactly, b 999.99, c 10.00, d 50.50; d never purchased more than once.
PURCHASES = [
    ("a", "2024-03-01T10:00:00", "600.00"),
    ("a", "2024-03-02T10:00:00", "400.00"),
    ("b", "2024-03-02T10:00:00", "999.99"),
    ("c", "2024-03-03T10:00:00", "10.00"),
    ("d", "2024-03-03T11:00:00", "50.50"),
]


def segments_of(engine: Engine, rules: dict[str, Any], enabled: list[str]) -> dict[str, Any]:
    config = parse_config({"plugins": {"enabled": enabled}, "segmentations": rules})
    project = Project(config, extra_plugins=(("spend", SpendPlugin()),), engine=engine)
    result = project.segment(store=False)
    ids = list(result.facts.external_id)
    return {
        outcome.name: dict(zip(ids, outcome.segment_names(), strict=True))
        for outcome in result.outcomes
    }


def rule(segment: str, when: str, default: str = "Other") -> dict[str, Any]:
    return {"default": default, "rules": [{"segment": segment, "when": when}]}


def test_a_money_metric_is_compared_in_currency_units_like_revenue(
    engine: Engine, seed: Any
) -> None:
    seed(engine, PURCHASES)
    got = segments_of(
        engine,
        {
            "by_metric": rule("1000+", "spend.total >= 1000"),
            "by_revenue": rule("1000+", "revenue >= 1000"),
            "rfm_money": rule("1000+", "rfm.monetary >= 1000"),
        },
        enabled=["rfm"],
    )
    expected = {"a": "1000+", "b": "Other", "c": "Other", "d": "Other"}
    assert got["by_metric"] == expected
    assert got["by_revenue"] == expected
    assert got["rfm_money"] == expected


def test_cents_compare_exactly(engine: Engine, seed: Any) -> None:
    seed(engine, PURCHASES)
    got = segments_of(
        engine,
        {
            "exact": rule("999.99", "spend.total == 999.99"),
            "half": rule("50.50", "rfm.monetary == 50.5"),
            "below": rule("under 10.01", "spend.total < 10.01"),
        },
        enabled=["rfm"],
    )
    assert [k for k, v in got["exact"].items() if v == "999.99"] == ["b"]
    assert [k for k, v in got["half"].items() if v == "50.50"] == ["d"]
    assert [k for k, v in got["below"].items() if v == "under 10.01"] == ["c"]


def test_plugin_segmentations_read_money_in_currency_units_too(engine: Engine, seed: Any) -> None:
    """BigSpenders compares `spend.total >= 100`: 100.00, not one euro."""
    seed(engine, PURCHASES)
    config = parse_config({})
    plugins = (("spend", SpendPlugin()), ("size", BigSpendersPlugin()))
    result = Project(config, extra_plugins=plugins, engine=engine).segment(store=False)
    size = dict(zip(result.facts.external_id, result.outcomes[0].segment_names(), strict=True))
    assert size == {"a": "Big", "b": "Big", "c": "Small", "d": "Small"}


def test_scorers_still_see_and_store_minor_units(engine: Engine, seed: Any) -> None:
    seed(engine, PURCHASES)
    project = Project(parse_config({}), extra_plugins=(("spend", SpendPlugin()),), engine=engine)
    result = project.segment(store=False)
    totals = dict(zip(result.facts.external_id, result.scores["spend.total"], strict=True))
    assert totals == {"a": 100_000.0, "b": 99_999.0, "c": 1_000.0, "d": 5_050.0}
