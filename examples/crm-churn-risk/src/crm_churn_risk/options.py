"""The `[churn]` table of crm.toml, structured and validated by crm before anything runs."""

from __future__ import annotations

import math
from typing import Any

from attrs import field, frozen


def _positive_number(_instance: Any, attribute: Any, value: float) -> None:
    # crm reports a validator's message under the table's path (`churn`), so the message names
    # the key itself.
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{attribute.name} must be a positive number, got {value!r}")


def _at_least_one(_instance: Any, attribute: Any, value: int) -> None:
    if value < 1:
        raise ValueError(f"{attribute.name} must be 1 or more, got {value!r}")


@frozen
class ChurnOptions:
    """Options of the `churn` scorer and segmentation.

    `threshold`: a customer is at risk once the days since the last purchase reach this many
    times their own mean gap between purchases (2.0: twice as long as usual).
    `complaint_limit`: a customer with at least this many complaints is at risk whatever the gap.
    """

    threshold: float = field(default=2.0, validator=_positive_number)
    complaint_limit: int = field(default=2, validator=_at_least_one)
