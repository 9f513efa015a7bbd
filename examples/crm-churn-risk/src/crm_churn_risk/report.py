"""`crm report churn`: how overdue the customers at risk are, as a chart and a table.

A report receives a `ReportContext` (the run, a read-only connection, the tables, the analysis
date and this plugin's options) and returns sections; crm draws the figure and hides groups of
fewer than `[reports] min_group_size` customers, because each bar and row declares its count.
"""

from __future__ import annotations

import numpy as np
from attrs import frozen
from crm import Figure, ReportContext, Section, Series, Table, Text

from crm_churn_risk.options import ChurnOptions

#: Bins of `churn.overdue` (days since the last purchase over the customer's usual gap).
BINS = ((0.0, 1.0, "on time"), (1.0, 2.0, "1-2x late"), (2.0, 4.0, "2-4x late"))


@frozen
class ChurnReport:
    options: ChurnOptions

    def build(self, context: ReportContext) -> Section:
        overdue = np.asarray(context.run.scores["churn.overdue"], dtype=np.float64)
        scored = overdue[~np.isnan(overdue)]
        labels = [label for _, _, label in BINS] + ["4x or more"]
        counts = [int(((scored >= low) & (scored < high)).sum()) for low, high, _ in BINS]
        counts.append(int((scored >= BINS[-1][1]).sum()))
        return Section(
            title="Churn risk",
            blocks=(
                Text(
                    f"Customers count as at risk from {self.options.threshold}x their usual gap "
                    f"between purchases, or {self.options.complaint_limit} complaints."
                ),
                Figure(
                    kind="bar",
                    title="How overdue customers are",
                    categories=labels,
                    series=(Series(name="customers", values=counts, customers=counts),),
                    x_label="overdue",
                    y_label="customers",
                    unit="customers",
                ),
                Table(
                    columns=("overdue", "customers"),
                    rows=tuple(zip(labels, counts, strict=True)),
                    title=f"Customers by lateness as of {context.as_of}",
                    name="overdue",
                    customers_column="customers",
                ),
            ),
        )
