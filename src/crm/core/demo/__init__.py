"""A seeded, realistic sample data set for `crm demo`: two CSV files the importer reads as they are.

`customers.csv` holds demographics and consent (`demo.people`); `interactions.csv` holds purchases
from a Pareto/NBD buying process with Gamma-Gamma spend (`demo.process`, true parameters in
`TRUE_PARAMETERS`) and the visits, campaign touches, e-mail opens, tickets, complaints, feedback
and funnel stage changes that go with each customer's value and lifetime (`demo.events`).

The window is the `years` years ending with `end`: with the defaults, 2024-07-01 00:00:00 to
2026-06-30 23:59:59 UTC. Column names are the importer's canonical field names; times are ISO 8601
in UTC with a "Z"; amounts are exact decimal strings with two places; empty means "not known".
The same arguments give byte-identical files: one numpy Generator seeded with `seed` draws
everything, in a fixed order, and nothing reads the clock.
"""

from __future__ import annotations

import csv
import itertools
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from attrs import frozen

from crm.core.demo.attributes import EXTRA_COLUMNS, extra_columns, write_campaigns
from crm.core.demo.deals import DEAL_STAGES
from crm.core.demo.duplicates import (
    DUPLICATE_SHARE,
    HOUSEHOLD_SHARE,
    TRUTH_FILE,
    plant_duplicates,
)
from crm.core.demo.events import Events, campaigns_in, draw_events, to_seconds
from crm.core.demo.people import People, draw_people
from crm.core.demo.process import (
    CHANNELS,
    STAGES,
    TRUE_PARAMETERS,
    RepeatBuyingParameters,
    draw_orders,
    draw_population,
)
from crm.core.interaction import KNOWN_KINDS

if TYPE_CHECKING:
    from numpy.typing import NDArray

__all__ = [
    "CUSTOMER_COLUMNS",
    "INTERACTION_COLUMNS",
    "TRUE_PARAMETERS",
    "RepeatBuyingParameters",
    "SampleData",
    "window_start",
    "write_sample_data",
]

CUSTOMER_COLUMNS = (
    "customer_id", "name", "email", "phone", "country", "city", "birth_date", "gender",
    "created_at", "consent_email", "consent_sms", "consent_profiling",
)  # fmt: skip
INTERACTION_COLUMNS = (
    "interaction_id", "customer_id", "kind", "occurred_at", "amount", "channel", "campaign",
    "stage", "order_id", *EXTRA_COLUMNS,
)  # fmt: skip
CUSTOMERS_FILE = "customers.csv"
INTERACTIONS_FILE = "interactions.csv"
#: Rows formatted per step: enough to keep numpy busy, small enough to keep memory flat.
CHUNK_ROWS = 65_536
_CONSENT = np.array(["false", "true", ""], dtype=object)  # index -1 is "not asked"


@frozen
class SampleData:
    """What `write_sample_data` wrote: the two files and how many rows each holds."""

    customers_csv: Path
    interactions_csv: Path
    customers: int
    interactions: int
    #: The truth about planted duplicates (customer_id, same_as); see `demo.duplicates`.
    duplicates_csv: Path | None = None
    duplicates: int = 0
    #: campaigns.csv (id, name, channel, start, end, cost, budget) and its number of rows.
    campaigns_csv: Path | None = None
    campaigns: int = 0


def window_start(end: date, years: int) -> date:
    """The first day of the `years` years that end with `end` (29 February counts as the 28th)."""
    try:
        same_day = end.replace(year=end.year - years)
    except ValueError:
        same_day = end.replace(year=end.year - years, day=28)
    return same_day + timedelta(days=1)


def write_sample_data(
    directory: Path,
    *,
    customers: int = 2_000,
    seed: int = 20261125,
    end: date = date(2026, 6, 30),
    years: int = 2,
    duplicates: float = DUPLICATE_SHARE,
) -> SampleData:
    """Write `customers.csv` and `interactions.csv` into `directory` (created if missing).

    `duplicates` (a share of `customers`) plants second records of some customers, listed in
    `duplicates.csv`, and a fifth as many households (distinct people sharing a phone); the
    planted rows follow the `customers` originals, which are the same with or without them.
    """
    if customers < 1:
        raise ValueError(f"customers must be at least 1, got {customers}")
    if years < 1:
        raise ValueError(f"years must be at least 1 (the funnel needs room), got {years}")
    start = window_start(end, years)
    days = (end - start).days + 1
    rng = np.random.default_rng(seed)
    population = draw_population(rng, customers, days)
    people = draw_people(rng, customers, end, years)
    orders = draw_orders(rng, population)
    events = draw_events(rng, population, people, orders, start)

    planted = plant_duplicates(
        np.random.default_rng([seed, 1]),
        people,
        duplicates,
        duplicates * HOUSEHOLD_SHARE / DUPLICATE_SHARE,
    )

    directory.mkdir(parents=True, exist_ok=True)
    total_customers = customers + planted.source.size
    width = max(6, len(str(total_customers)))
    all_ids = np.array([f"CUST-{i:0{width}d}" for i in range(1, total_customers + 1)], dtype=object)
    customer_ids, extra_ids = all_ids[:customers], all_ids[customers:]
    formatter = _TimeFormatter(start, days)
    customers_csv = directory / CUSTOMERS_FILE
    lead_seconds = to_seconds(population.lead, days)
    created = formatter(lead_seconds)
    extra_seconds = lead_seconds[planted.source] + planted.delay_days * 86_400
    extra_created = formatter(np.minimum(extra_seconds, days * 86_400 - 1))
    _write_csv(
        customers_csv,
        CUSTOMER_COLUMNS,
        itertools.chain(
            _customer_chunks(customer_ids, people, created),
            _customer_chunks(extra_ids, planted.people, extra_created),
        ),
    )
    duplicates_csv = directory / TRUTH_FILE
    _write_csv(
        duplicates_csv,
        ("customer_id", "same_as"),
        [
            [
                extra_ids[planted.duplicate].tolist(),
                customer_ids[planted.source[planted.duplicate]].tolist(),
            ]
        ],
    )
    interactions_csv = directory / INTERACTIONS_FILE
    total = int(events.second.size)
    extras = extra_columns(seed, events, customers)
    chunks = _interaction_chunks(customer_ids, events, formatter, extras)
    _write_plain(interactions_csv, INTERACTION_COLUMNS, chunks)
    channel_names = {code: name for code, name in enumerate(CHANNELS)}
    campaigns_csv, campaigns = write_campaigns(
        directory,
        [(name, day, channel_names[code]) for name, day, code in campaigns_in(start, end)],
        end,
    )
    return SampleData(
        customers_csv,
        interactions_csv,
        total_customers,
        total,
        duplicates_csv,
        int(planted.duplicate.sum()),
        campaigns_csv=campaigns_csv,
        campaigns=campaigns,
    )


class _TimeFormatter:
    """Seconds since the window start -> "YYYY-MM-DDTHH:MM:SSZ", from two small lookup tables."""

    def __init__(self, start: date, days: int) -> None:
        first = np.datetime64(start, "D")
        self.days = np.array([str(first + i) for i in range(days)], dtype=object)
        self.times = np.array(
            [f"T{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}Z" for s in range(86_400)],
            dtype=object,
        )

    def __call__(self, second: NDArray[np.int64]) -> NDArray[Any]:
        result: NDArray[Any] = self.days[second // 86_400] + self.times[second % 86_400]
        return result


def _labels(names: Sequence[str]) -> NDArray[Any]:
    # Interaction fields are joined without quoting, so no label may need it; the trailing ""
    # makes the code -1 (nothing) index an empty field.
    unsafe = [name for name in names if set(name) & set(',"\r\n')]
    if unsafe:
        raise ValueError(f"labels {unsafe} would need CSV quoting")
    return np.array([*names, ""], dtype=object)


def _optional(codes: NDArray[np.int64], template: str, *values: NDArray[np.int64]) -> list[str]:
    """`template % values` where `codes` >= 0, else an empty field."""
    text = np.full(codes.size, "", dtype=object)
    present = codes >= 0
    text[present] = list(
        map(template.__mod__, zip(*(v[present].tolist() for v in values), strict=True))
    )
    result: list[str] = text.tolist()
    return result


def _customer_chunks(
    ids: NDArray[Any], people: People, created: NDArray[Any]
) -> Iterator[list[list[str]]]:
    for lo in range(0, ids.size, CHUNK_ROWS):
        part = slice(lo, lo + CHUNK_ROWS)
        yield [
            ids[part].tolist(), people.name[part], people.email[part], people.phone[part],
            people.country[part].tolist(), people.city[part].tolist(), people.birth_date[part],
            people.gender[part].tolist(), created[part].tolist(),
            _CONSENT[people.consent_email[part]].tolist(),
            _CONSENT[people.consent_sms[part]].tolist(),
            _CONSENT[people.consent_profiling[part]].tolist(),
        ]  # fmt: skip


def _interaction_chunks(
    customer_ids: NDArray[Any],
    events: Events,
    formatter: _TimeFormatter,
    extras: dict[str, NDArray[Any]],
) -> Iterator[list[list[str]]]:
    kinds, channels = _labels(KNOWN_KINDS), _labels(CHANNELS)
    campaigns, stages = _labels(events.campaigns), _labels((*STAGES, *DEAL_STAGES))
    total = events.second.size
    id_width = max(7, len(str(total)))
    order_width = max(6, len(str(int(events.order.max(initial=0)))))
    for lo in range(0, total, CHUNK_ROWS):
        part = slice(lo, lo + CHUNK_ROWS)
        amount = events.amount_minor[part]
        yield [
            list(map(f"INT-%0{id_width}d".__mod__, range(lo + 1, min(lo + CHUNK_ROWS, total) + 1))),
            customer_ids[events.customer[part]].tolist(),
            kinds[events.kind[part]].tolist(),
            formatter(events.second[part]).tolist(),
            _optional(amount, "%d.%02d", *np.divmod(amount, 100)),
            channels[events.channel[part]].tolist(),
            campaigns[events.campaign[part]].tolist(),
            stages[events.stage[part]].tolist(),
            _order_ids(events.order[part], events.kind[part], order_width),
            *(extras[name][part].tolist() for name in EXTRA_COLUMNS),
        ]


def _order_ids(order: NDArray[np.int64], kind: NDArray[np.int64], width: int) -> list[str]:
    """ORD-n on purchases; DEAL-n on stage changes, whose number is a deal's (after the orders)."""
    ids = np.array(_optional(order, f"ORD-%0{width}d", order), dtype=object)
    deal = (kind == KNOWN_KINDS.index("stage_change")) & (order >= 0)
    ids[deal] = np.array([f"DEAL-{s[4:]}" for s in ids[deal]], dtype=object)
    result: list[str] = ids.tolist()
    return result


def _write_csv(path: Path, header: Sequence[str], chunks: Iterable[list[list[str]]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(header)
        for columns in chunks:
            writer.writerows(zip(*columns, strict=True))


def _write_plain(path: Path, header: Sequence[str], chunks: Iterable[list[list[str]]]) -> None:
    # Every field is a number, a date or a label checked by `_labels`, so none needs quoting and
    # joining gives the bytes csv.writer would, 2.5x faster on millions of rows.
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write(",".join(header) + "\n")
        for columns in chunks:
            out.write("\n".join(map(",".join, zip(*columns, strict=True))))
            out.write("\n")
