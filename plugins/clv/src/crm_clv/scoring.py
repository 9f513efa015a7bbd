"""The `clv` scorer: historical value and the fitted models' predictions, as metric columns.

Fits on every purchasing customer's history to the analysis date, then predicts for them;
customers who never purchased are not scored (NaN). Money metrics are minor units. With
`[clv.validation]` enabled (the default) the run also checks the model on a holdout
(`crm_clv.holdout`) and attaches the result as the artifact `clv.validation`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta

import attrs
import numpy as np
from attrs import frozen
from numpy.typing import NDArray

from crm import ScoringContext
from crm_clv.fitting import fit_clv, model_card, valuation_of
from crm_clv.history import PurchaseHistory, load_history
from crm_clv.holdout import run_validation
from crm_clv.margin import load_margins
from crm_clv.options import ClvOptions
from crm_clv.valuation import predict

FloatArray = NDArray[np.float64]


@frozen
class ClvScorer:
    options: ClvOptions

    def score(self, context: ScoringContext) -> Mapping[str, FloatArray]:
        history = load_history(context.connection, context.tables, context.as_of)
        # only the customers crm hands to scorers (it leaves some out, e.g. without consent
        # to profiling): the SQL summary covers every purchasing customer
        history = history.restricted_to(context.facts.customer_id)
        summary = history.summary(self.options.days_per_unit)
        n = len(context.facts)
        place = context.facts.index_of(history.customer_id)

        def column(values: FloatArray) -> FloatArray:
            out = np.full(n, np.nan)
            out[place] = values
            return out

        fitted = fit_clv(summary, self.options)
        first = str(np.datetime64(int(history.first_day.min()), "D")) if len(summary) else ""
        last = context.as_of - timedelta(days=1)
        holdout_error = None
        if self.options.validation.enabled:
            validation = run_validation(
                context.connection,
                context.tables,
                date.fromisoformat(first),
                last,
                self.options,
            )
            context.attach_artifact("validation", validation)
            error = validation.get("error")
            holdout_error = error if isinstance(error, float) else None
        revenue = history.revenue_minor
        margin, rate, cost_warnings = self._margin(context, history)
        # the model card travels with the stored run (`crm clv show`, `crm runs show N`)
        card = model_card(fitted, self.options, (first, str(last)), holdout_error)
        card["margin_rate"] = rate
        card["warnings"] = [*fitted.warnings, *cost_warnings]
        context.attach_artifact("model_card", card)
        # CLV at the margin rate: the options' rate, or with a cost attribute the rate of all
        # the scored customers' purchases (one customer's few purchases are too noisy a rate)
        predicted = predict(
            fitted.transactions,
            summary,
            attrs.evolve(valuation_of(self.options), margin=1.0),
            fitted.spend,
        )
        # a negative rate (costs above revenue) turns the interval round
        clv_low = np.minimum(rate * predicted.clv_low, rate * predicted.clv_high)
        clv_high = np.maximum(rate * predicted.clv_low, rate * predicted.clv_high)
        # purchases and AOV as the facts count them (distinct orders), not purchase days
        purchases = context.facts.purchases[place].astype(np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            aov = revenue / purchases
        return {
            "revenue": column(revenue),
            "margin": column(margin),
            "purchases": column(purchases),
            "aov": column(aov),
            "tenure": column(history.tenure_days()),
            "x": column(summary.x),
            "t_x": column(summary.t_x),
            "age": column(summary.T),
            "expected_transactions": column(predicted.expected_transactions),
            "expected_transactions_low": column(predicted.expected_transactions_low),
            "expected_transactions_high": column(predicted.expected_transactions_high),
            "p_alive": column(predicted.p_alive),
            "expected_spend": column(predicted.expected_spend),
            "clv": column(rate * predicted.clv),
            "clv_low": column(clv_low),
            "clv_high": column(clv_high),
        }

    def _margin(
        self, context: ScoringContext, history: PurchaseHistory
    ) -> tuple[FloatArray, float, list[str]]:
        """Per customer margin (minor units), the CLV margin rate and warnings about costs."""
        revenue = history.revenue_minor
        if self.options.cost_attribute is None:
            return revenue * self.options.margin, self.options.margin, []
        margins = load_margins(
            context.connection,
            context.tables,
            context.as_of,
            self.options.cost_attribute,
            self.options.margin,
        )
        place = np.searchsorted(margins.customer_id, history.customer_id)
        margin = margins.margin_minor[place]
        total = float(revenue.sum())
        rate = float(margin.sum()) / total if total > 0 else self.options.margin
        uncosted = int(margins.uncosted[place].sum())
        warnings = (
            [
                f"margin: {uncosted} purchases have no readable "
                f"{self.options.cost_attribute!r} attribute and count at the margin rate "
                f"{self.options.margin:g}"
            ]
            if uncosted
            else []
        )
        return margin, rate, warnings
