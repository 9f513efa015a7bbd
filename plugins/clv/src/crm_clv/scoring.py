"""The `clv` scorer: historical value and the fitted models' predictions, as metric columns.

Fits on every purchasing customer's history to the analysis date, then predicts for them;
customers who never purchased are not scored (NaN). Money metrics are minor units. With
`[clv.validation]` enabled (the default) the run also checks the model on a holdout
(`crm_clv.holdout`) and attaches the result as the artifact `clv.validation`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta

import numpy as np
from attrs import frozen
from numpy.typing import NDArray

from crm import ScoringContext
from crm_clv.fitting import fit_clv, model_card
from crm_clv.history import load_history
from crm_clv.holdout import run_validation
from crm_clv.options import ClvOptions

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
        # the model card travels with the stored run (`crm clv show`, `crm runs show N`)
        context.attach_artifact(
            "model_card",
            model_card(fitted, self.options, (first, str(last)), holdout_error),
        )
        predicted = fitted.predict(summary, self.options)
        revenue = history.revenue_minor
        # purchases and AOV as the facts count them (distinct orders), not purchase days
        purchases = context.facts.purchases[place].astype(np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            aov = revenue / purchases
        return {
            "revenue": column(revenue),
            "margin": column(revenue * self.options.margin),
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
            "clv": column(predicted.clv),
            "clv_low": column(predicted.clv_low),
            "clv_high": column(predicted.clv_high),
        }
