"""What each model needs from the data before a fit is attempted, and the refusal when it lacks it.

Maximum likelihood on a handful of customers returns numbers, but not ones to act on: the
heterogeneity parameters are identified by how customers differ, which needs many customers and
enough of them buying again. Below these floors a fit is refused with an explanation rather
than returned with enormous standard errors.
"""

from __future__ import annotations

from attrs import frozen

from crm_clv.estimation import InsufficientData


@frozen
class DataRequirements:
    """Minimum customers and minimum repeat buyers (customers with x >= 1) for a fit."""

    customers: int = 100
    repeat_buyers: int = 20

    def check(self, model: str, customers: int, repeat_buyers: int) -> None:
        problems = []
        if customers < self.customers:
            problems.append(f"{customers} customers (needs at least {self.customers})")
        if repeat_buyers < self.repeat_buyers:
            problems.append(f"{repeat_buyers} repeat buyers (needs at least {self.repeat_buyers})")
        if problems:
            raise InsufficientData(
                f"{model}: not enough data to fit: {' and '.join(problems)}. The model "
                "learns how customers differ in purchase rate and lifetime from many "
                "customers, some of whom bought again; use a longer calibration period, more "
                "customers, or lower the minimum in [clv] minimum_customers / "
                "minimum_repeat_buyers knowingly"
            )
