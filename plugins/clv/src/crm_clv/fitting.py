"""From options and a summary to fitted models: the one place that picks the model classes."""

from __future__ import annotations

from attrs import frozen

from crm_clv.bgnbd import BgNbd
from crm_clv.gamma_gamma import GammaGamma
from crm_clv.options import ClvOptions
from crm_clv.pareto_nbd import ParetoNbd
from crm_clv.requirements import DataRequirements
from crm_clv.summary import CustomerSummary
from crm_clv.valuation import Predictions, TransactionModel, Valuation, predict

TRANSACTION_MODELS: dict[str, type[BgNbd] | type[ParetoNbd]] = {
    "bgnbd": BgNbd,
    "pareto_nbd": ParetoNbd,
}


def requirements_of(options: ClvOptions) -> DataRequirements:
    return DataRequirements(options.minimum_customers, options.minimum_repeat_buyers)


def valuation_of(options: ClvOptions) -> Valuation:
    return Valuation(
        horizon=options.horizon,
        time_unit=options.time_unit,
        annual_discount_rate=options.annual_discount_rate,
        steps=max(1, round(options.horizon_days / 30.4375)),  # monthly steps
        margin=options.margin,
        interval_level=options.interval_level,
    )


@frozen
class FittedClv:
    """The fitted transaction model and spend model (None: the "mean" spend model)."""

    transactions: TransactionModel
    spend: GammaGamma | None
    customers: int

    @property
    def warnings(self) -> tuple[str, ...]:
        return self.spend.warnings if self.spend is not None else ()

    def predict(self, summary: CustomerSummary, options: ClvOptions) -> Predictions:
        return predict(self.transactions, summary, valuation_of(options), self.spend)


def fit_clv(summary: CustomerSummary, options: ClvOptions) -> FittedClv:
    needed = requirements_of(options)
    model = TRANSACTION_MODELS[options.model].fit(summary, requirements=needed)
    spend = None
    if options.spend_model == "gamma_gamma":
        assert summary.mean_spend is not None
        spend = GammaGamma.fit(summary.x, summary.mean_spend, requirements=needed)
    return FittedClv(model, spend, len(summary))


def model_card(
    fitted: FittedClv,
    options: ClvOptions,
    window: tuple[str, str],
    holdout_error: float | None = None,
) -> dict[str, object]:
    """What a fit was and how far to trust it, as plain data (for a run artifact or a report).

    `window` is the (first, last) day of the data the fit saw; `holdout_error` the relative
    error of the holdout total when the fit was validated.
    """
    estimate = fitted.transactions.estimate
    card: dict[str, object] = {
        "model": fitted.transactions.model,
        "spend_model": options.spend_model,
        "time_unit": options.time_unit,
        "data_window": {"first_day": window[0], "last_day": window[1]},
        "customers": fitted.customers,
        "params": dict(
            zip(fitted.transactions.names, fitted.transactions.params.tolist(), strict=True)
        ),
        "std_errors": estimate.std_errors_dict() if estimate is not None else None,
        "log_likelihood": estimate.log_likelihood if estimate is not None else None,
        "converged": estimate.converged if estimate is not None else None,
        "spend": fitted.spend.summary() if fitted.spend is not None else None,
        "holdout_error": holdout_error,
        "warnings": list(fitted.warnings),
    }
    return card
