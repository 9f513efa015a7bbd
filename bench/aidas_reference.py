"""The shipped AIDAS stage table written as one SQL statement: the yardstick of bench/aidas.py.

Same definitions as crm-aidas's shipped `aidas` set (plugins/aidas/src/crm_aidas/stage_sets.toml
and the plugin's README), so the stage tables must agree row by row:
- a stage's first time is the first interaction of one of its kinds, or a `stage_change` to one
  of its stages; satisfaction is also reached by a repeat purchase: the second distinct moment of
  a purchase (DENSE_RANK, so two lines of one order count once) at most 90 days after the first;
- the furthest stage is the highest one with a first time; every stage before it is reached, and
  entered at the earliest first time of it or any later stage;
- a satisfied customer whose last complaint or ticket is later than both their last
  satisfaction event (feedback, or a purchase from the repeat on) and their last resolution is
  currently at action.

`stage_statement` returns one row per customer with an event: the five first times, the furthest
and the current stage (0-4, NULL when none). `stage_table` turns those rows into the columns of
`crm journey` (reached, observed, current, convert, dropped, days_next), written here from the
definitions in plugins/aidas/src/crm_aidas/stage_table.py and not with the plugin's code.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np

STAGES = ("attention", "interest", "desire", "action", "satisfaction")


def _is(kinds: tuple[str, ...], stages: tuple[str, ...] = ()) -> str:
    names = ", ".join(f"'{k}'" for k in kinds)
    test = f"kind IN ({names})"
    if stages:
        listed = ", ".join(f"'{s}'" for s in stages)
        test = f"({test} OR (kind = 'stage_change' AND stage IN ({listed})))"
    return test


ATTENTION = _is(("campaign_touch", "email_open", "ad_impression", "impression"), ("lead",))
INTEREST = _is(("visit", "click", "page_view"), ("prospect",))
DESIRE = _is(
    ("cart", "add_to_cart", "quote_request", "campaign_response", "wishlist"),
    ("opportunity", "qualified", "proposal", "negotiation"),
)
ACTION = _is(("purchase",), ("customer", "won"))
FEEDBACK = _is(("feedback", "review", "referral"))
AGAINST = _is(("complaint", "ticket"))
RESOLVED = _is(("ticket_resolved", "complaint_resolved"))


def stage_statement(dialect: str, as_of: str) -> str:
    """`as_of`: 'YYYY-MM-DD HH:MM:SS', exclusive."""
    if dialect == "sqlite":
        moment = f"'{as_of}'"
        within = "julianday(s.repeat_at) - julianday(p.action_at) <= 90"
    else:
        moment = f"TIMESTAMP '{as_of}'"
        within = "s.repeat_at <= p.action_at + INTERVAL '90 days'"
    return f"""
WITH per_customer AS (
  SELECT customer_id,
         MIN(CASE WHEN {ATTENTION} THEN occurred_at END) AS attention_at,
         MIN(CASE WHEN {INTEREST} THEN occurred_at END) AS interest_at,
         MIN(CASE WHEN {DESIRE} THEN occurred_at END) AS desire_at,
         MIN(CASE WHEN {ACTION} THEN occurred_at END) AS action_at,
         MAX(CASE WHEN {ACTION} THEN occurred_at END) AS action_last,
         MIN(CASE WHEN {FEEDBACK} THEN occurred_at END) AS feedback_at,
         MAX(CASE WHEN {FEEDBACK} THEN occurred_at END) AS feedback_last,
         MAX(CASE WHEN {AGAINST} THEN occurred_at END) AS against_last,
         MAX(CASE WHEN {RESOLVED} THEN occurred_at END) AS resolved_last
  FROM interaction
  WHERE occurred_at < {moment}
  GROUP BY customer_id
),
second_purchase AS (
  SELECT customer_id, MIN(occurred_at) AS repeat_at
  FROM (SELECT customer_id, occurred_at,
               DENSE_RANK() OVER (PARTITION BY customer_id ORDER BY occurred_at) AS n
        FROM interaction
        WHERE {ACTION} AND occurred_at < {moment}) ranked
  WHERE n = 2
  GROUP BY customer_id
),
satisfied AS (
  SELECT p.*,
         CASE WHEN {within} AND (p.feedback_at IS NULL OR s.repeat_at < p.feedback_at)
              THEN s.repeat_at ELSE p.feedback_at END AS satisfaction_at,
         CASE WHEN {within} AND (p.feedback_last IS NULL OR p.action_last > p.feedback_last)
              THEN p.action_last ELSE p.feedback_last END AS satisfaction_last
  FROM per_customer p LEFT JOIN second_purchase s ON s.customer_id = p.customer_id
),
furthest AS (
  SELECT *,
         CASE WHEN satisfaction_at IS NOT NULL THEN 4 WHEN action_at IS NOT NULL THEN 3
              WHEN desire_at IS NOT NULL THEN 2 WHEN interest_at IS NOT NULL THEN 1
              WHEN attention_at IS NOT NULL THEN 0 END AS furthest
  FROM satisfied
)
SELECT customer_id, attention_at, interest_at, desire_at, action_at, satisfaction_at, furthest,
       CASE WHEN furthest = 4 AND against_last > satisfaction_last
                 AND (resolved_last IS NULL OR against_last > resolved_last)
            THEN 3 ELSE furthest END AS current_stage
FROM furthest
"""


def _seconds(value: Any) -> float:
    if value is None:
        return np.inf
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return float(np.datetime64(value, "s").astype(np.int64))


def stage_table(rows: list[Any]) -> list[tuple[Any, ...]]:
    """The rows of `crm journey` from the statement's rows (checking only: not timed)."""
    stages = len(STAGES)
    known = [row for row in rows if row[6] is not None]
    first = np.array([[_seconds(v) for v in row[1:6]] for row in known]).reshape(-1, stages)
    furthest = np.array([row[6] for row in known], dtype=np.int64)
    current = np.array([row[7] for row in known], dtype=np.int64)
    reached = np.arange(stages)[None, :] <= furthest[:, None]
    # Entered stage k: the earliest first time of k or any later stage.
    entry = np.minimum.accumulate(first[:, ::-1], axis=1)[:, ::-1]
    table: list[tuple[Any, ...]] = []
    for k, name in enumerate(STAGES):
        here = int(reached[:, k].sum())
        observed = int(np.isfinite(first[:, k]).sum())
        now = int((current == k).sum())
        if k + 1 < stages:
            both = reached[:, k + 1]
            after = int(both.sum())
            days = (entry[both, k + 1] - entry[both, k]) / 86_400
            median = round(float(np.median(days)), 2) if days.size else None
            convert = round(after / here, 4) if here else None
            table.append((name, here, observed, now, convert, here - after, median))
        else:
            table.append((name, here, observed, now, None, None, None))
    return table
