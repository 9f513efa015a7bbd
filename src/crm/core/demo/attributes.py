"""Extra columns of the sample interactions, and the sample campaigns file.

- `category` on purchases: each customer has a favourite category, bought 60% of the time;
- `topic` on tickets, complaints and feedback, from a list per kind;
- `discount` on purchases a campaign is credited with ("0.15"), empty elsewhere;
- `campaigns.csv`: every campaign of the window with its channel, run of 14 days, cost and
  budget, except the last one, which is still running and has no cost yet.

All of it is drawn with its own generator (seeded from the data set's seed) after every other
column, so the rest of the sample data is the same as without these columns. The importer keeps
them with `--keep-extra` (as `crm demo` does), in each interaction's `attributes`.
"""

from __future__ import annotations

import csv
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from crm.core.interaction import KNOWN_KINDS

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from crm.core.demo.events import Events

EXTRA_COLUMNS = ("category", "topic", "discount")
CATEGORIES = ("apparel", "shoes", "accessories", "home", "beauty")
CATEGORY_WEIGHTS = (0.35, 0.2, 0.2, 0.15, 0.1)
FAVOURITE_SHARE = 0.6
TOPICS = {
    "ticket": (("delivery", "returns", "billing", "product question"), (0.35, 0.3, 0.15, 0.2)),
    "complaint": (("delivery", "quality", "billing", "service"), (0.35, 0.3, 0.15, 0.2)),
    "feedback": (("quality", "service", "delivery", "price"), (0.35, 0.3, 0.2, 0.15)),
}
CAMPAIGN_DISCOUNT = "0.15"
#: Cost of one campaign by channel, in minor units; the budget is 20% above it.
CAMPAIGN_COST = {"email": 40_000, "sms": 90_000, "web": 250_000}
CAMPAIGN_DAYS = 14
CAMPAIGNS_FILE = "campaigns.csv"
CAMPAIGN_COLUMNS = ("campaign_id", "name", "channel", "start", "end", "cost", "budget")
#: The generator of these columns: the data set's seed and this stream number.
STREAM = 9


def extra_columns(seed: int, events: Events, customers: int) -> dict[str, NDArray[Any]]:
    """Text per interaction (empty where it does not apply), in the events' order."""
    rng = np.random.default_rng([seed, STREAM])
    n = events.kind.size
    out = {name: np.full(n, "", dtype=object) for name in EXTRA_COLUMNS}
    labels = np.array(CATEGORIES, dtype=object)
    favourite = rng.choice(len(CATEGORIES), size=customers, p=CATEGORY_WEIGHTS)
    bought = np.flatnonzero(events.kind == KNOWN_KINDS.index("purchase"))
    other = rng.choice(len(CATEGORIES), size=bought.size, p=CATEGORY_WEIGHTS)
    keep = rng.random(bought.size) < FAVOURITE_SHARE
    out["category"][bought] = labels[np.where(keep, favourite[events.customer[bought]], other)]
    for kind, (topics, weights) in TOPICS.items():
        rows = np.flatnonzero(events.kind == KNOWN_KINDS.index(kind))
        out["topic"][rows] = np.array(topics, dtype=object)[
            rng.choice(len(topics), size=rows.size, p=weights)
        ]
    credited = bought[events.campaign[bought] >= 0]
    out["discount"][credited] = CAMPAIGN_DISCOUNT
    return out


def write_campaigns(
    directory: Path, campaigns: list[tuple[str, date, str]], end: date
) -> tuple[Path, int]:
    """`campaigns.csv` for the campaigns (name, first day, channel) of the window."""
    path = directory / CAMPAIGNS_FILE
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(CAMPAIGN_COLUMNS)
        for n, (name, day, channel) in enumerate(campaigns):
            running = n == len(campaigns) - 1 and day + timedelta(days=CAMPAIGN_DAYS) > end
            cost = CAMPAIGN_COST.get(channel)
            budget = None if cost is None else cost * 6 // 5
            last = day + timedelta(days=CAMPAIGN_DAYS - 1)
            writer.writerow(
                (
                    name,
                    name.replace("-", " ").capitalize(),
                    channel,
                    day.isoformat(),
                    "" if running else last.isoformat(),
                    "" if running or cost is None else f"{cost // 100}.{cost % 100:02d}",
                    "" if budget is None else f"{budget // 100}.{budget % 100:02d}",
                )
            )
    return path, len(campaigns)
