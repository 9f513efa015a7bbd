"""The deal pipeline from Python: open deals and forecast per stage, and `calibrate`.

from crm_funnel.pipeline import calibrate, deal_report
report = deal_report(project)             # report.forecast: a Table; report.summary: numbers
check = calibrate(project, date(2026, 1, 1))   # check.scores, check.reliability
"""

from __future__ import annotations

import math
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

import numpy as np
from attrs import frozen

from crm import EventChunk, Table
from crm_funnel.api import funnel_options
from crm_funnel.censoring import censoring_weights
from crm_funnel.deals import (
    Deals,
    WinEstimate,
    build_deals,
    estimate_win_probability,
    read_deal_events,
    stage_at,
)
from crm_funnel.options import DealOptions
from crm_funnel.reach import DAY, _seconds

if TYPE_CHECKING:
    from crm import Project

FORECAST_COLUMNS = (
    "stage",
    "open_deals",
    "open_value",
    "p_win",
    "p_low",
    "p_high",
    "source",
    "closed_deals",
    "weighted_value",
)
#: Bins of the reliability table: [0, 0.1), [0.1, 0.2), ... [0.9, 1.0].
BINS = 10
EPSILON = 1e-6


def _money(minor: float) -> Decimal:
    return (Decimal(round(minor)) / 100).quantize(Decimal("0.01"))


@frozen
class DealReport:
    as_of: date
    forecast: Table
    summary: dict[str, float | int | None]

    def summary_lines(self) -> list[str]:
        return [f"{key}: {value}" for key, value in self.summary.items()]


def _probabilities(
    estimates: list[WinEstimate], options: DealOptions, use: str
) -> list[tuple[float | None, float | None, float | None, str]]:
    chosen: list[tuple[float | None, float | None, float | None, str]] = []
    for estimate in estimates:
        fixed = options.win_probability.get(estimate.stage)
        if use == "fixed" and fixed is not None:
            chosen.append((float(fixed), None, None, "fixed"))
        else:
            chosen.append((estimate.p, estimate.low, estimate.high, "estimated"))
    return chosen


def forecast_table(
    deals: Deals, options: DealOptions, estimates: list[WinEstimate], title: str
) -> Table:
    rows: list[tuple[object, ...]] = []
    total = 0.0
    for k, (estimate, (p, low, high, source)) in enumerate(
        zip(estimates, _probabilities(estimates, options, options.forecast), strict=True)
    ):
        here = deals.stage == k
        value = float(deals.value_minor[here].sum())
        weighted = None if p is None else value * p
        total += weighted or 0.0
        rows.append((
            estimate.stage, int(here.sum()), _money(value),
            None if p is None else round(p, 4), None if low is None else round(low, 4),
            None if high is None else round(high, 4), source, estimate.deals,
            None if weighted is None else _money(weighted),
        ))  # fmt: skip
    open_deals = deals.stage >= 0
    rows.append(("total", int(open_deals.sum()), _money(float(deals.value_minor[open_deals].sum())),
                 None, None, None, "", None, _money(total)))  # fmt: skip
    return Table(columns=FORECAST_COLUMNS, rows=tuple(rows), title=title)


def summary(deals: Deals) -> dict[str, float | int | None]:
    """Won, lost, win rate, cycle length of won deals, and sales velocity per day.

    Sales velocity = open deals x average open deal value x win rate / average cycle (days),
    in currency per day.
    """
    closed, won = deals.closed, deals.won
    open_deals = deals.stage >= 0
    n_won, n_lost = int(won.sum()), int((closed & ~won).sum())
    win_rate = n_won / (n_won + n_lost) if n_won + n_lost else None
    cycle = float(np.mean((deals.closed_at - deals.opened_at)[won])) / DAY if n_won else None
    value = float(np.mean(deals.value_minor[open_deals])) / 100 if open_deals.any() else None
    velocity = None
    if win_rate is not None and cycle and value is not None:
        velocity = round(int(open_deals.sum()) * value * win_rate / cycle, 2)
    return {
        "open_deals": int(open_deals.sum()),
        "won": n_won,
        "lost": n_lost,
        "win_rate": None if win_rate is None else round(win_rate, 4),
        "average_cycle_days": None if cycle is None else round(cycle, 2),
        "average_open_value": None if value is None else round(value, 2),
        "sales_velocity_per_day": velocity,
    }


def deal_report(project: Project, *, as_of: date | None = None) -> DealReport:
    from crm.core.pipeline import default_as_of

    options = funnel_options(project).deals
    with project.read_only() as connection:
        day = as_of or project.config.as_of or default_as_of(connection, project.tables)
        events = read_deal_events(connection, project.tables, options, day)
    deals = build_deals(events, options, _seconds(day))
    estimates = estimate_win_probability(deals, options)
    title = f"Deal pipeline and weighted forecast, as of {day}"
    return DealReport(day, forecast_table(deals, options, estimates, title), summary(deals))


@frozen
class Calibration:
    scores: Table
    reliability: Table


def _scores(p: np.ndarray, won: np.ndarray, weight: np.ndarray) -> tuple[float, float]:
    brier = float(np.average((p - won) ** 2, weights=weight))
    clipped = np.clip(p, EPSILON, 1 - EPSILON)
    log_loss = float(
        -np.average(won * np.log(clipped) + (1 - won) * np.log(1 - clipped), weights=weight)
    )
    return round(brier, 4), round(log_loss, 4)


def calibrate(project: Project, holdout_start: date, *, as_of: date | None = None) -> Calibration:
    """Estimate P(win | stage) from the deals as they stood at `holdout_start`; score the deals
    open then or opened later, each predicted from its stage at `holdout_start` (or its first
    stage, for deals opened later), on their outcome by `as_of`, with the fixed and the
    estimated probabilities."""
    from crm.core.pipeline import default_as_of

    options = funnel_options(project).deals
    with project.read_only() as connection:
        day = as_of or project.config.as_of or default_as_of(connection, project.tables)
        events = read_deal_events(connection, project.tables, options, day)
    return calibration(events, options, holdout_start, day)


def holdout_weights(deals: Deals, cut: int) -> np.ndarray:
    """Per deal, its weight in the holdout scores: 0 unless it was open at `cut` or opened later
    and closed by `deals.until`; the closed ones weighted against censoring (time counted from
    the cut, or from opening for deals opened later), as the estimate is."""
    scored = ~(deals.closed & (deals.closed_at < cut))
    origin = np.maximum(deals.opened_at, cut)
    ended = np.where(deals.closed, deals.closed_at, deals.until)
    weights = np.zeros(len(deals), dtype=np.float64)
    weights[scored] = censoring_weights((ended - origin)[scored], deals.closed[scored])
    return weights


def calibration(
    events: EventChunk, options: DealOptions, holdout_start: date, day: date
) -> Calibration:
    """`calibrate` on deal events already read (those before `day`)."""
    cut = _seconds(holdout_start)
    estimated = estimate_win_probability(build_deals(events, options, cut), options)
    deals = build_deals(events, options, _seconds(day))
    weights = holdout_weights(deals, cut)
    scored = weights > 0
    stage_then = stage_at(events, options, cut)
    stages = np.array([stage_then.get(str(d), -1) for d in deals.deal_id[scored]], dtype=np.int64)
    won, weight = deals.won[scored].astype(np.float64), weights[scored]
    sources: dict[str, np.ndarray] = {}
    p_est = np.array([np.nan if e.p is None else e.p for e in estimated] + [np.nan])
    sources["estimated"] = p_est[stages]
    if options.win_probability:
        fixed = [options.win_probability.get(s, math.nan) for s in options.stages]
        sources["fixed"] = np.array([*fixed, np.nan])[stages]
    score_rows, bins = [], []
    for name, p in sources.items():
        ok = ~np.isnan(p)
        brier, log_loss = _scores(p[ok], won[ok], weight[ok]) if ok.any() else (None, None)
        score_rows.append((name, int(ok.sum()), brier, log_loss))
        which = np.minimum((p[ok] * BINS).astype(np.int64), BINS - 1)
        for b in range(BINS):
            inside = which == b
            if inside.any():
                w = weight[ok][inside]
                bins.append((
                    name, f"{b / BINS:.1f}-{(b + 1) / BINS:.1f}", int(inside.sum()),
                    round(float(np.average(p[ok][inside], weights=w)), 4),
                    round(float(np.average(won[ok][inside], weights=w)), 4),
                ))  # fmt: skip
    title = (
        f"P(win | stage) estimated before {holdout_start}, scored on the deals open from"
        f" {holdout_start} that closed by {day}"
    )
    return Calibration(
        scores=Table(
            columns=("probabilities", "deals", "brier", "log_loss"),
            rows=tuple(score_rows),
            title=title,
            name="calibration",
        ),
        reliability=Table(
            columns=("probabilities", "bin", "deals", "mean_predicted", "observed"),
            rows=tuple(bins),
            title="Reliability: predicted against observed win rate per probability bin",
            name="reliability",
            customers_column="deals",
        ),
    )
