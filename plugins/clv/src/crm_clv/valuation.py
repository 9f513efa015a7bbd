"""Per-customer predictions with intervals: expected transactions, P(alive), spend and CLV.

CLV over a horizon H (in the model's time unit) with annual discount rate d is

    CLV = margin * E[spend] * sum_k (E[Y(t_k)] - E[Y(t_{k-1})]) / (1 + d)^(t_k / units_per_year)

over `steps` equal steps t_k = k H / steps (12 monthly steps for a year by default): the
expected transactions of each step, discounted from the end of that step.

Intervals come from the delta method on the log scale: the Jacobian of ln E[Y(H)], ln of the
discounted transactions and ln E[spend] with respect to the parameters (forward differences),
the parameter covariance from the observed information of each fit, and the two fits treated
as independent, so Var(ln CLV) = Var(ln discounted transactions) + Var(ln spend). The interval
is value * exp(+-z sd): positive, and asymmetric as the values are. It is the uncertainty of
the *expected* value from the estimated parameters, not the spread of what one customer will
actually buy. Predictions are computed once per distinct (x, t_x, T) row and spread back.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, cast

import numpy as np
from attrs import frozen
from numpy.typing import NDArray
from scipy.stats import norm

from crm_clv.estimation import Estimate, FloatArray
from crm_clv.gamma_gamma import GammaGamma
from crm_clv.summary import CustomerSummary

UNITS_PER_YEAR = {"days": 365.25, "weeks": 365.25 / 7}


class TransactionModel(Protocol):
    """What BG/NBD and Pareto/NBD both offer; valuation needs nothing else."""

    @property
    def model(self) -> str: ...
    @property
    def names(self) -> tuple[str, ...]: ...
    @property
    def params(self) -> FloatArray: ...
    @property
    def estimate(self) -> Estimate | None: ...
    def with_params(self, params: FloatArray) -> TransactionModel: ...
    def p_alive(self, summary: CustomerSummary) -> FloatArray: ...
    def expected_transactions(self, summary: CustomerSummary, t: float) -> FloatArray: ...
    def expected_transactions_over(
        self, summary: CustomerSummary, times: Sequence[float]
    ) -> list[FloatArray]: ...
    def expected_transactions_new(self, t: FloatArray | float) -> FloatArray: ...


@frozen
class Valuation:
    """How to value a customer: horizon and discounting, margin, interval level."""

    horizon: float = 52.0
    time_unit: str = "weeks"
    annual_discount_rate: float = 0.10
    steps: int = 12
    margin: float = 1.0
    interval_level: float = 0.90


@frozen
class Predictions:
    """One entry per customer in every column (spend and CLV in the summary's money unit)."""

    expected_transactions: FloatArray
    expected_transactions_low: FloatArray
    expected_transactions_high: FloatArray
    p_alive: FloatArray
    expected_spend: FloatArray
    clv: FloatArray
    clv_low: FloatArray
    clv_high: FloatArray


def _discounted(
    model: TransactionModel, summary: CustomerSummary, valuation: Valuation
) -> tuple[FloatArray, FloatArray]:
    """E[Y(H)] and the discounted expected transactions over the horizon."""
    per_year = UNITS_PER_YEAR[valuation.time_unit]
    times = [valuation.horizon * k / valuation.steps for k in range(1, valuation.steps + 1)]
    previous = np.zeros(len(summary))
    total = np.zeros(len(summary))
    for t, current in zip(times, model.expected_transactions_over(summary, times), strict=True):
        total += (current - previous) / (1 + valuation.annual_discount_rate) ** (t / per_year)
        previous = current
    return previous, total


def _log_variance(jacobian: NDArray[np.float64], covariance: FloatArray) -> FloatArray:
    # diag(J' C J) for J of shape (k, n), without forming the n x n matrix
    return np.asarray(np.einsum("in,ij,jn->n", jacobian, covariance, jacobian))


def _log_jacobians(
    model: TransactionModel, summary: CustomerSummary, valuation: Valuation
) -> tuple[FloatArray, FloatArray, NDArray[np.float64], NDArray[np.float64]]:
    base_y, base_d = _discounted(model, summary, valuation)
    k = len(model.params)
    jac_y = np.zeros((k, len(summary)))
    jac_d = np.zeros((k, len(summary)))
    with np.errstate(divide="ignore", invalid="ignore"):
        log_y, log_d = np.log(base_y), np.log(base_d)
        for i in range(k):
            step = 1e-6 * model.params[i]
            shifted = model.params.copy()
            shifted[i] += step
            y, d = _discounted(model.with_params(shifted), summary, valuation)
            jac_y[i] = (np.log(y) - log_y) / step
            jac_d[i] = (np.log(d) - log_d) / step
    return base_y, base_d, np.nan_to_num(jac_y), np.nan_to_num(jac_d)


def predict(
    model: TransactionModel,
    summary: CustomerSummary,
    valuation: Valuation,
    spend: GammaGamma | None = None,
) -> Predictions:
    """Every prediction for every customer of `summary`.

    `spend` None means the "mean" spend model: a customer's own mean repeat spend, or the mean
    over repeat buyers for customers without one; it carries no parameter uncertainty.
    """
    rows = summary.weighted()
    unique = CustomerSummary(rows.x, rows.t_x, rows.T)
    expand = rows.inverse
    z = float(norm.ppf(0.5 + valuation.interval_level / 2))
    y, discounted, jac_y, jac_d = _log_jacobians(model, unique, valuation)
    p_alive = model.p_alive(unique)[expand]
    if model.estimate is not None:
        covariance = model.estimate.covariance
        sd_y = np.sqrt(_log_variance(jac_y, covariance))[expand]
        var_d = _log_variance(jac_d, covariance)[expand]
    else:
        sd_y = np.zeros(len(summary))
        var_d = np.zeros(len(summary))
    y, discounted = y[expand], discounted[expand]

    x = summary.x
    mean_spend = (
        summary.mean_spend if summary.mean_spend is not None else np.full(len(summary), np.nan)
    )
    if spend is None:
        usable = (x > 0) & np.isfinite(mean_spend)
        population = float(np.mean(mean_spend[usable])) if usable.any() else np.nan
        expected_spend = np.where(usable, mean_spend, population)
        var_s = np.zeros(len(summary))
    else:
        # as documented, a repeat buyer without a usable (positive) mean spend gets the
        # population mean: with their x, GammaGamma.expected_spend would shrink a mean of 0
        # towards the population mean, i.e. predict less for a customer it knows nothing of
        usable = (x > 0) & np.isfinite(mean_spend) & (mean_spend > 0)
        spend_x = np.where(usable, x, 0.0)
        expected_spend = spend.expected_spend(spend_x, mean_spend)
        var_s = _spend_log_variance(spend, spend_x, mean_spend, expected_spend)

    clv = valuation.margin * expected_spend * discounted
    sd_clv = np.sqrt(var_d + var_s)
    return Predictions(
        expected_transactions=y,
        expected_transactions_low=y * np.exp(-z * sd_y),
        expected_transactions_high=y * np.exp(z * sd_y),
        p_alive=p_alive,
        expected_spend=expected_spend,
        clv=clv,
        clv_low=clv * np.exp(-z * sd_clv),
        clv_high=clv * np.exp(z * sd_clv),
    )


def _spend_log_variance(
    spend: GammaGamma, x: FloatArray, mean_spend: FloatArray, base: FloatArray
) -> FloatArray:
    if spend.estimate is None:
        return np.zeros(len(x))
    jac = np.zeros((len(spend.params), len(x)))
    with np.errstate(divide="ignore", invalid="ignore"):
        for i in range(len(spend.params)):
            step = 1e-6 * spend.params[i]
            shifted = spend.params.copy()
            shifted[i] += step
            moved = spend.with_params(shifted).expected_spend(x, mean_spend)
            jac[i] = (np.log(moved) - np.log(base)) / step
    return _log_variance(np.nan_to_num(jac), spend.estimate.covariance)


class Predicting:
    """`predict` for the transaction models (BG/NBD, Pareto/NBD), so each is a plain object
    with `fit`, `predict` and `summary`."""

    __slots__ = ()

    def predict(
        self,
        summary: CustomerSummary,
        valuation: Valuation | None = None,
        spend: GammaGamma | None = None,
    ) -> Predictions:
        """Every prediction for every customer of `summary`, intervals included (expected
        transactions, P(alive), spend, CLV): `predict(model, summary, valuation, spend)`."""
        return predict(cast("TransactionModel", self), summary, valuation or Valuation(), spend)
