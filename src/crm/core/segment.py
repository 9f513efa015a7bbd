"""Segments, a customer's assignment to one, and the record of a segmentation run."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime

from attrs import field, frozen


@frozen
class Segment:
    """A named group of customers, with what it means and what to do about it."""

    name: str
    description: str = ""
    action: str = ""


@frozen(kw_only=True)
class SegmentAssignment:
    """The segment one customer got from one segmentation in one run, with the scores behind it."""

    customer_external_id: str
    segmentation: str
    segment: str
    scores: Mapping[str, float | None] = field(factory=dict)
    run_id: int | None = None


@frozen(kw_only=True)
class Run:
    """A stored segmentation run: enough to reproduce it and compare it with later runs."""

    id: int
    created_at: datetime
    as_of: date
    config_hash: str
    plugins: Mapping[str, str]
    customers: int
