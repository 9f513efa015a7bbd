"""The `churn` segmentation: a rule list, "Churn risk" or "Stable", for customers who purchased.

    Churn risk  when churn.overdue >= threshold
    Churn risk  when churn.complaints >= complaint_limit
    Stable      otherwise
    (none)      for customers who never purchased: there is no relationship to lose yet

Built with crm's rule engine, so it behaves exactly like a `[segmentations.<name>]` table a user
writes in crm.toml: first match wins, and a missing value (NaN) never matches.
"""

from __future__ import annotations

from crm import Segment
from crm.core.rules import RuleSegmenter

from crm_churn_risk.options import ChurnOptions

CHURN_RISK = Segment(
    "Churn risk",
    "Overdue for their next purchase by their own rhythm, or complaining repeatedly.",
    "Call or write personally; resolve open complaints before sending any offer.",
)
STABLE = Segment("Stable", "Buying at their usual pace, with few complaints.", "Business as usual.")


def churn_segmenter(options: ChurnOptions) -> RuleSegmenter:
    # No default segment: a customer matching no rule (one who never purchased) gets none.
    bought = "purchases >= 1"
    return RuleSegmenter.from_rules(
        [
            (CHURN_RISK, [bought, f"churn.overdue >= {options.threshold!r}"]),
            (CHURN_RISK, [bought, f"churn.complaints >= {options.complaint_limit}"]),
            (STABLE, bought),
        ]
    )
