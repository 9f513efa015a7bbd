"""Holdout comparison: did touched customers buy more than comparable untouched ones?

For a campaign that started on day S and ended on day E (the analysis date while it runs):
- the customers are segmented as of S (`crm segment --as-of S`, computed, not stored) by the
  segmentation `by` (RFM by default), or, for a campaign with a target segment
  ("rfm=At Risk"), only that segment of that segmentation is compared;
- *touched*: customers the campaign touched; *control*: customers in the same segments it
  did not touch;
- a customer *converts* with any purchase in [S, E + attribution window), before the analysis
  date; the control rate is standardised to the touched customers' segment mix (the sum over
  segments of touched customers x control rate, over all touched), so a campaign sent to
  better customers does not look better for that alone;
- `uplift` = touched rate - standardised control rate; `incremental` = uplift x touched.
Without randomised holdouts this is still an observational comparison: the customers a
campaign reaches differ in ways segments do not capture (consent, activity), so read uplift as
a bound on what attribution can claim, not as the causal effect.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlalchemy import select

from crm import Table
from crm_aidas.campaign_roi import DAY, CampaignEvents, read_campaign_events

if TYPE_CHECKING:
    from crm import Project

HOLDOUT_COLUMNS = (
    "campaign", "segmentation", "touched", "touched_rate", "control", "control_rate",
    "uplift", "incremental", "note",
)  # fmt: skip


def _seconds(day: date) -> int:
    return int(np.datetime64(day, "s").astype(np.int64))


def holdout_rows(
    project: Project, as_of: date, window_days: float, by: str
) -> list[tuple[Any, ...]]:
    c = project.tables.campaign.c
    with project.read_only() as connection:
        campaigns = connection.execute(
            select(c.id, c.starts_on, c.ends_on, c.target_segment)
            .where(c.starts_on < as_of)
            .order_by(c.starts_on, c.id)
        ).all()
        events = read_campaign_events(connection, project.tables, as_of)
    segmented: dict[date, Any] = {}
    rows: list[tuple[Any, ...]] = []
    for campaign in campaigns:
        start = campaign.starts_on
        if start not in segmented:
            segmented[start] = project.segment(as_of=start, store=False)
        result = segmented[start]
        segmentation, only = by, None
        if campaign.target_segment and "=" in campaign.target_segment:
            segmentation, only = (p.strip() for p in campaign.target_segment.split("=", 1))
        outcome = next((o for o in result.outcomes if o.name == segmentation), None)
        if outcome is None:
            rows.append((campaign.id, segmentation, *([None] * 6),
                         f"unavailable: no segmentation {segmentation!r}"))  # fmt: skip
            continue
        end = min(campaign.ends_on or as_of, as_of)
        rows.append(
            _compare(campaign.id, segmentation, only, result.facts, outcome.segment_names(),
                     events, start, end, as_of, window_days)
        )  # fmt: skip
    return rows


def _compare(
    campaign: str,
    segmentation: str,
    only: str | None,
    facts: Any,
    labels: Any,
    events: CampaignEvents,
    start: date,
    end: date,
    as_of: date,
    window_days: float,
) -> tuple[Any, ...]:
    ids = facts.customer_id
    in_scope = labels.astype(bool) if only is None else labels == only
    touched_ids = np.unique(events.touch_customer[events.touch_campaign == campaign])
    touched = np.isin(ids, touched_ids) & in_scope
    control = ~np.isin(ids, touched_ids) & in_scope
    lo = _seconds(start)
    hi = min(_seconds(end + timedelta(days=1)) + round(window_days * DAY), _seconds(as_of))
    bought = events.purchase_customer[(events.purchase_time >= lo) & (events.purchase_time < hi)]
    converted = np.isin(ids, np.unique(bought))
    n_t, n_c = int(touched.sum()), int(control.sum())
    if not n_t or not n_c:
        why = "nobody touched in scope" if not n_t else "no untouched customers to compare"
        return (campaign, segmentation, n_t, None, n_c, None, None, None, f"unavailable: {why}")
    expected, matched = 0.0, np.zeros(ids.size, dtype=bool)
    for segment in np.unique(labels[touched].astype(str)):
        mine = labels == segment
        controls = control & mine
        if controls.any():
            matched |= touched & mine
            expected += int((touched & mine).sum()) * float(converted[controls].mean())
    weight = int(matched.sum())
    if not weight:
        return (campaign, segmentation, n_t, None, n_c, None, None, None,
                "unavailable: no untouched customers in the touched segments")  # fmt: skip
    # Both rates over the touched customers that have controls in their segment.
    rate_t = float(converted[matched].mean())
    rate_c = expected / weight
    note = "" if weight == n_t else f"{n_t - weight} touched in segments without controls left out"
    uplift = rate_t - rate_c
    return (
        campaign, segmentation if only is None else f"{segmentation}={only}", n_t,
        round(rate_t, 4), n_c, round(rate_c, 4), round(uplift, 4), round(uplift * weight, 1), note,
    )  # fmt: skip


def holdout_table(rows: list[tuple[Any, ...]], title: str) -> Table:
    return Table(columns=HOLDOUT_COLUMNS, rows=tuple(rows), title=title)
