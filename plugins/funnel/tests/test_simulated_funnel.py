"""A log simulated with known step probabilities and delays: measured values within their CIs."""

from __future__ import annotations

import math
from datetime import date
from typing import Any

import numpy as np
from crm_funnel import api
from crm_funnel.options import FunnelDefinition, StepOptions
from crm_funnel.reach import compute_reach
from sqlalchemy import Engine

N = 3000
P_STEP = (0.6, 0.5)  # visit -> e-mail open -> purchase
MEAN_DELAY_DAYS = (2.0, 3.0)  # exponential delays: median = mean x ln 2
Z = 2.576  # 99%


def simulate(seed: int) -> list[dict[str, Any]]:
    rng = np.random.default_rng(seed)
    events = []
    for c in range(N):
        who, day = f"C{c:05d}", float(rng.uniform(0, 200))
        events.append({"customer": who, "kind": "visit", "day": day})
        if rng.random() < 0.3:  # noise: a repeat visit, which must change nothing
            events.append({"customer": who, "kind": "visit", "day": day + rng.uniform(0, 5)})
        for kind, p, mean in zip(("email_open", "purchase"), P_STEP, MEAN_DELAY_DAYS, strict=True):
            if rng.random() >= p:
                break
            day += float(rng.exponential(mean))
            events.append({"customer": who, "kind": kind, "day": day})
    return events


def test_conversions_and_median_delays_meet_the_truth(engine: Engine, logs: Any) -> None:
    logs.write_log(engine, simulate(5))
    steps = [{"name": n, "kinds": [k]} for n, k in (("seen", "visit"), ("read", "email_open"), ("bought", "purchase"))]  # fmt: skip
    project = logs.project(engine, {"steps": steps, "window_days": 365})
    table = api.funnel_steps(project, as_of=date(2025, 1, 1))
    rows = {row[0]: row for row in table.rows}
    assert rows["seen"][1] == N
    for name, previous, p in (("read", "seen", P_STEP[0]), ("bought", "read", P_STEP[1])):
        n = rows[previous][1]
        assert abs(rows[name][2] - p) < Z * math.sqrt(p * (1 - p) / n) + 1e-4, name
    # The sample median of n exponential delays lies, with 99%, between the order statistics
    # n/2 -+ z sqrt(n)/2; check the true median against those order statistics.
    definition = FunnelDefinition(
        steps=tuple(StepOptions(name=s["name"], kinds=tuple(s["kinds"])) for s in steps),
        window_days=365,
    )
    with project.read_only() as conn:
        reach = compute_reach(conn, project.tables, definition, as_of=date(2025, 1, 1))
    for k, mean in ((1, MEAN_DELAY_DAYS[0]), (2, MEAN_DELAY_DAYS[1])):
        here = reach.reached[:, k]
        delays = np.sort((reach.time[here, k] - reach.time[here, k - 1]) / 86_400)
        n = delays.size
        lo, hi = int(n / 2 - Z * math.sqrt(n) / 2), math.ceil(n / 2 + Z * math.sqrt(n) / 2)
        # one second of rounding on either side: times are stored to the second
        assert delays[lo] - 1 / 86_400 <= mean * math.log(2) <= delays[hi] + 1 / 86_400
