"""Deals and the forecast: a hand-made pipeline, then deals simulated with known P(win | stage)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import numpy as np
from crm_funnel.deals import wilson
from crm_funnel.pipeline import calibrate, deal_report
from sqlalchemy import Engine

STAGES = ["prospect", "opportunity", "proposal"]
DEALS: dict[str, Any] = {"stages": STAGES, "won": ["won"], "lost": ["lost"]}
FUNNEL: dict[str, Any] = {"deals": DEALS}


def stage(
    customer: str, deal: str, name: str, day: float, amount: int | None = None
) -> dict[str, Any]:
    return {"customer": customer, "kind": "stage_change", "stage": name, "day": day,
            "order_id": deal, "amount": amount}  # fmt: skip


def test_wilson_interval_matches_the_published_example() -> None:
    # Newcombe (1998), example: 81 of 263, 95%: 0.2553 to 0.3662.
    p, low, high = wilson(81, 263, 0.95)
    assert (
        round(p or 0, 4) == 0.308 and round(low or 0, 4) == 0.2553 and round(high or 0, 4) == 0.3662
    )


def test_hand_made_pipeline(engine: Engine, logs: Any) -> None:
    events = [
        stage("a", "D1", "prospect", 0, 10000), stage("a", "D1", "opportunity", 2),
        stage("a", "D1", "won", 10),  # won after 10 days
        stage("b", "D2", "prospect", 1, 20000), stage("b", "D2", "lost", 3),
        stage("b", "D2", "won", 4),  # after the close: ignored
        stage("c", "D3", "prospect", 5, 30000), stage("c", "D3", "opportunity", 6, 40000),
        stage("d", "D4", "prospect", 7, 5000),
        {"customer": "e", "kind": "stage_change", "stage": "prospect", "day": 1},  # no deal id
    ]  # fmt: skip
    logs.write_log(engine, events)
    report = deal_report(logs.project(engine, FUNNEL), as_of=date(2024, 2, 1))
    assert report.summary == {
        "open_deals": 2, "won": 1, "lost": 1, "win_rate": 0.5, "average_cycle_days": 10.0,
        # open deals D3 (400.00, its last amount) and D4 (50.00): mean 225.00;
        # velocity 2 x 225 x 0.5 / 10 = 22.5 a day
        "average_open_value": 225.0, "sales_velocity_per_day": 22.5,
    }  # fmt: skip
    rows = {row[0]: row for row in report.forecast.rows}
    # P(win | prospect): D1 and D2 closed after reaching it, one won: 0.5; opportunity: D1: 1.0
    assert rows["prospect"][:4] == ("prospect", 1, Decimal("50.00"), 0.5)
    assert rows["prospect"][6:] == ("estimated", 2, Decimal("25.00"))
    assert rows["opportunity"][:4] == ("opportunity", 1, Decimal("400.00"), 1.0)
    assert rows["proposal"][1:4] == (0, Decimal("0.00"), None)  # no closed deal reached it
    assert rows["total"][8] == Decimal("425.00")


TRUE_STEP = (0.6, 0.5, 0.7)  # prospect -> opportunity -> proposal -> won; otherwise lost
TRUE_WIN = (0.6 * 0.5 * 0.7, 0.5 * 0.7, 0.7)


def simulated_deals(n: int, seed: int) -> list[dict[str, Any]]:
    rng = np.random.default_rng(seed)
    events = []
    for d in range(n):
        deal, who, day = f"D{d:05d}", f"C{d % 400:04d}", float(rng.uniform(0, 300))
        events.append(stage(who, deal, "prospect", day, int(rng.integers(1000, 100000))))
        for k, p in enumerate(TRUE_STEP):
            day += float(rng.uniform(1, 10))
            if rng.random() >= p:
                events.append(stage(who, deal, "lost", day))
                break
            events.append(stage(who, deal, STAGES[k + 1] if k < 2 else "won", day))
    return events


def test_estimates_cover_the_true_win_probabilities_and_beat_wrong_fixed_ones(
    engine: Engine, logs: Any
) -> None:
    logs.write_log(engine, simulated_deals(3000, seed=11))
    wrong = {"prospect": 0.9, "opportunity": 0.1, "proposal": 0.3}
    project = logs.project(
        engine, {"deals": {**DEALS, "win_probability": wrong, "confidence": 0.99}}
    )
    report = deal_report(project, as_of=date(2025, 1, 1))
    rows = {row[0]: row for row in report.forecast.rows}
    for name, truth in zip(STAGES, TRUE_WIN, strict=True):
        low, high = rows[name][4], rows[name][5]
        assert low <= truth <= high, (name, low, truth, high)
    check = calibrate(project, date(2024, 8, 1), as_of=date(2025, 1, 1))
    scores = {row[0]: row for row in check.scores.rows}
    assert scores["estimated"][1] == scores["fixed"][1] > 500
    assert scores["estimated"][2] <= scores["fixed"][2]  # Brier
    assert scores["estimated"][3] <= scores["fixed"][3]  # log loss
    # reliability: for the estimated probabilities, observed rates stay near the prediction
    for name, _, deals, predicted, observed in check.reliability.rows:
        if name == "estimated" and deals >= 100:
            assert abs(predicted - observed) < 0.1
