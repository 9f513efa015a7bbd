"""`[clv]` options, checked when crm.toml loads so a bad value fails before any data is read."""

from __future__ import annotations

import math
from typing import Any

from attrs import field, frozen

MODELS = ("bgnbd", "pareto_nbd")
SPEND_MODELS = ("gamma_gamma", "mean")
TIME_UNITS = ("days", "weeks")


def _one_of(choices: tuple[str, ...]) -> Any:
    def check(_instance: Any, attribute: Any, value: str) -> None:
        if value not in choices:
            raise ValueError(f"{attribute.name} must be one of {', '.join(choices)}, got {value!r}")

    return check


def _fraction(low_open: bool = False, high: float = 1.0) -> Any:
    def check(_instance: Any, attribute: Any, value: float) -> None:
        ok = math.isfinite(value) and (value > 0 if low_open else value >= 0) and value <= high
        if not ok:
            bound = "(0" if low_open else "[0"
            raise ValueError(
                f"{attribute.name} must be a number in {bound}, {high}], got {value!r}"
            )

    return check


def _positive_int(_instance: Any, attribute: Any, value: int) -> None:
    if value < 1:
        raise ValueError(f"{attribute.name} must be a positive whole number, got {value!r}")


def _non_negative_int(_instance: Any, attribute: Any, value: int) -> None:
    if value < 0:
        raise ValueError(f"{attribute.name} must be a whole number >= 0, got {value!r}")


def _attribute_name(_instance: Any, attribute: Any, value: str | None) -> None:
    if value is not None and not value.strip():
        raise ValueError(
            f'{attribute.name} must name the purchases\' cost attribute (e.g. "cost"), got {value!r}'
        )


def _tiers(_instance: Any, attribute: Any, value: tuple[float, ...]) -> None:
    if not (len(value) == 2 and all(math.isfinite(v) and v > 0 for v in value) and sum(value) < 1):
        raise ValueError(
            f"{attribute.name} must be two shares [top, next] > 0 with top + next < 1 "
            f"(default [0.2, 0.3]), got {list(value)!r}"
        )


def _holdout_days(_instance: Any, attribute: Any, value: int | None) -> None:
    if value is not None and value < 7:
        raise ValueError(
            f"{attribute.name} must be a whole number of days >= 7 (leave it out for the "
            f"automatic holdout), got {value!r}"
        )


@frozen(kw_only=True)
class ValidationOptions:
    """`[clv.validation]`: the holdout check every run makes of its model.

    `enabled`: fit the same model on the data before the holdout and compare its predictions
    with what customers did in the holdout (false: skip, the model card has no holdout error).
    `holdout_days`: the holdout's length, ending on the day before the analysis date; left out,
    it is `horizon_days` but at most half the data window, in whole weeks.
    """

    enabled: bool = True
    holdout_days: int | None = field(default=None, validator=_holdout_days)


@frozen(kw_only=True)
class ClvOptions:
    """The `[clv]` table (all keys optional; see plugins/clv/README.md).

    `model`: bgnbd | pareto_nbd. `spend_model`: gamma_gamma | mean. `time_unit`: days | weeks
    (the unit t_x, T and the parameters are expressed in). `horizon_days`: CLV horizon.
    `annual_discount_rate`: e.g. 0.1 for 10 % a year. `margin`: share of revenue that is
    margin (1.0 = value revenue). `cost_attribute`: the purchases' attribute holding their
    cost in currency units (`crm_clv.margin`); purchases without one count at `margin`. `tiers`: shares of customers in the top and next value
    tiers. `at_risk_below`: P(alive) under which a customer is "At risk". `interval_level`:
    coverage of the clv_low..clv_high intervals. `minimum_customers`,
    `minimum_repeat_buyers`: below these a fit is refused. `validation`: the run's holdout
    check (`ValidationOptions`).
    """

    model: str = field(default="bgnbd", validator=_one_of(MODELS))
    spend_model: str = field(default="gamma_gamma", validator=_one_of(SPEND_MODELS))
    time_unit: str = field(default="weeks", validator=_one_of(TIME_UNITS))
    horizon_days: int = field(default=365, validator=_positive_int)
    annual_discount_rate: float = field(default=0.10, validator=_fraction(high=10.0))
    margin: float = field(default=1.0, validator=_fraction(low_open=True))
    cost_attribute: str | None = field(default=None, validator=_attribute_name)
    tiers: tuple[float, ...] = field(default=(0.2, 0.3), validator=_tiers)
    at_risk_below: float = field(default=0.3, validator=_fraction(low_open=True))
    interval_level: float = field(default=0.90, validator=_fraction(low_open=True, high=0.999))
    minimum_customers: int = field(default=100, validator=_non_negative_int)
    minimum_repeat_buyers: int = field(default=20, validator=_non_negative_int)
    validation: ValidationOptions = field(factory=ValidationOptions)

    @property
    def days_per_unit(self) -> float:
        return 7.0 if self.time_unit == "weeks" else 1.0

    @property
    def horizon(self) -> float:
        """The horizon in the model's time unit."""
        return self.horizon_days / self.days_per_unit
