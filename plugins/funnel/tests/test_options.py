"""`[funnel]` options: defaults, and every mistake reported with its key path."""

from __future__ import annotations

from typing import Any

import pytest
from crm_funnel.options import FunnelOptions, structure_example

from crm import ConfigError


def test_defaults_are_the_sales_funnel() -> None:
    options = FunnelOptions()
    assert options.main().step_names == (
        "awareness", "research and evaluation", "consideration", "purchase",
        "relationship maintenance",
    )  # fmt: skip
    assert options.order == "ordered" and options.window_days == 30.0
    assert options.column("sales") == "funnel" and options.column("web") == "funnel_web"


def problems(data: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as caught:
        structure_example(data)
    return str(caught.value)


def test_each_problem_names_its_key_path() -> None:
    message = problems(
        {
            "order": "sorted",
            "window_days": -1,
            "funnels": {
                "web": {
                    "steps": [
                        {"name": "visit", "kinds": ["visit"], "window_days": 3},
                        {"name": "visit"},
                    ]
                }
            },
            "deals": {"win_probability": {"qualified": 1.5, "nowhere": 0.2}},
        }
    )
    for expected in (
        "funnel.order: expected one of ordered, strict, any, got 'sorted'",
        "funnel.window_days: expected a positive number of days, got -1",
        "funnel.funnels.web.steps[0].window_days: the first step has no previous step",
        "funnel.funnels.web.steps[1].name: step names must be unique",
        "funnel.funnels.web.steps[1]: step 'visit' says nothing about what puts a customer in it",
        "funnel.deals.win_probability.qualified: expected a probability from 0 to 1, got 1.5",
        "funnel.deals.win_probability.nowhere: not an open stage",
    ):
        assert expected in message, (expected, message)


def test_types_and_unknown_keys_are_checked_by_crms_converter() -> None:
    assert "funnel.window_days" in problems({"window_days": "30"})
    assert "treshold" in problems({"treshold": 1})


def test_fixed_forecast_needs_every_stage_and_any_mode_has_no_step_windows() -> None:
    message = problems(
        {
            "order": "any",
            "steps": [
                {"name": "a", "kinds": ["visit"]},
                {"name": "b", "kinds": ["purchase"], "window_days": 2},
            ],
            "deals": {"forecast": "fixed", "win_probability": {"qualified": 0.2}},
        }
    )
    assert "funnel.steps[1].window_days: step windows need an order" in message
    assert (
        "funnel.deals.win_probability: forecast = 'fixed' needs a probability for every open stage"
        in message
    )
