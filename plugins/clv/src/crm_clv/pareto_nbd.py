"""Pareto/NBD (Schmittlein, Morrison and Colombo 1987), likelihood as in Fader and Hardie (2005).

Purchases are Poisson with rate lambda ~ Gamma(r, alpha) while alive; lifetimes are exponential
with rate mu ~ Gamma(s, beta). Fader and Hardie's "A note on deriving the Pareto/NBD model"
(eq. 22) writes the likelihood with the Gaussian hypergeometric function

    L = G(r+x) alpha^r beta^s / G(r) * [ (alpha+T)^-(r+x) (beta+T)^-s + s/(r+s+x) A0 ]
    A0 = F(t_x) - F(T),  F(y) = 2F1(r+s+x, b1; r+s+x+1; |alpha-beta| / (m+y)) / (m+y)^(r+s+x)

with m = max(alpha, beta) and b1 = s+1 (alpha >= beta) or r+x (alpha < beta). Taken directly,
2F1 grows like (1-z)^-b1 and overflows for customers with hundreds of transactions. Here it is
always evaluated after Pfaff's transformation,

    2F1(a, b; a+1; z) = (1-z)^-b 2F1(1, b; a+1; z/(z-1)),

whose right-hand 2F1 lies in (0, 1] for every customer, and every product is a sum of logs;
F(t_x) - F(T) is `log1p(-exp(.))` of a log difference. The fit and P(alive) use
`crm_clv.pareto_series`, the same likelihood by a series that also yields the analytic
gradient and stays finite where scipy's hyp2f1 returns NaN (large x with beta >> alpha);
this hyp2f1 form is kept as the independent check the tests compare the series with.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from attrs import field, frozen
from scipy.special import expit, gammaln, hyp2f1

from crm_clv.estimation import (
    Estimate,
    FloatArray,
    as_params,
    describe_fit,
    hessian_of,
    maximize,
    subset_rows,
)
from crm_clv.pareto_series import ParetoRows, log_branches
from crm_clv.requirements import DataRequirements
from crm_clv.score_steps import approach, positive_definite_inverse
from crm_clv.summary import CustomerSummary, WeightedSummary
from crm_clv.valuation import Predicting

NAMES = ("r", "alpha", "s", "beta")
MODEL = "pareto_nbd"


def _log_terms(
    params: FloatArray, x: FloatArray, t_x: FloatArray, T: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """ln of the two terms in the bracket: alive at T, and died in (t_x, T] (times s/(r+s+x))."""
    r, alpha, s, beta = params
    alive = -(r + x) * np.log(alpha + T) - s * np.log(beta + T)
    a1 = r + s + x
    if alpha >= beta:
        high, low, b1 = alpha, beta, s + 1 + 0 * x
    else:
        high, low, b1 = beta, alpha, r + x
    gap = high - low

    def log_f(y: FloatArray) -> FloatArray:
        # ln[2F1(a1, b1; a1+1; z) / (high+y)^a1] with z = gap/(high+y), through Pfaff
        log_high, log_low = np.log(high + y), np.log(low + y)
        series = hyp2f1(1.0, b1, a1 + 1, -gap / (low + y))
        return np.asarray(-a1 * log_high - b1 * (log_low - log_high) + np.log(series))

    f_tx, f_T = log_f(t_x), log_f(T)
    with np.errstate(divide="ignore"):
        # t_x == T (bought at the end of the period) leaves no room to die: A0 = 0
        log_a0 = f_tx + np.log(-np.expm1(np.minimum(f_T - f_tx, 0.0)))
    died = np.log(s) - np.log(a1) + log_a0
    return alive, died


def _row_log_likelihood(params: FloatArray, rows: WeightedSummary) -> FloatArray:
    r, alpha, s, beta = params
    alive, died = _log_terms(params, rows.x, rows.t_x, rows.T)
    head = gammaln(r + rows.x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta)
    return np.asarray(head + np.logaddexp(alive, died))


def _total(params: FloatArray, rows: WeightedSummary) -> float:
    if np.any(params <= 0):
        return -np.inf
    value = float(rows.weight @ _row_log_likelihood(params, rows))
    return value if np.isfinite(value) else -np.inf


def _prepared(rows: WeightedSummary) -> ParetoRows:
    return ParetoRows.of(rows.x, rows.t_x, rows.T, rows.weight)


def _value_and_gradient(params: FloatArray, rows: ParetoRows) -> tuple[float, FloatArray]:
    """The fit's objective: the series form, value and analytic gradient in one pass."""
    if np.any(params <= 0) or not np.all(np.isfinite(params)):
        return -np.inf, np.zeros(4)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        value, grad = rows.log_likelihood_and_gradient(params)
    if not (np.isfinite(value) and np.all(np.isfinite(grad))):
        return -np.inf, np.zeros(4)
    return value, grad


def _with_scores(params: FloatArray, rows: ParetoRows) -> tuple[float, FloatArray, FloatArray]:
    """Value, gradient and per-row scores, for score steps (-inf where not finite)."""
    if np.any(params <= 0) or not np.all(np.isfinite(params)):
        return -np.inf, np.zeros(4), np.zeros((4, len(rows.x)))
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        value, grad, scores = rows.with_scores(params)
    if not (np.isfinite(value) and np.all(np.isfinite(grad)) and np.all(np.isfinite(scores))):
        return -np.inf, np.zeros(4), np.zeros((4, len(rows.x)))
    return value, grad, scores


def moment_start(rows: WeightedSummary) -> FloatArray:
    """A start from the purchase rates x/T as if everyone were alive: Gamma(r, alpha) rates
    with the mean and variance of x/T (less its Poisson part, E[lambda/T]); lifetimes are
    started with the same shape and scale. (1, 1, 1, 1) where the data gives no variance."""
    w, rate = rows.weight, rows.x / np.maximum(rows.T, 1e-12)
    customers = max(float(w.sum()), 1.0)

    def mean_of(values: FloatArray) -> float:
        return float(np.add.reduce(w * values)) / customers  # no BLAS (see pareto_series)

    mean = mean_of(rate)
    spread = mean_of(rate**2) - mean**2 - mean * mean_of(1 / np.maximum(rows.T, 1e-12))
    if not (mean > 0 and spread > 0 and np.isfinite(spread)):
        return np.ones(4)
    alpha = mean / spread
    return np.array([mean * alpha, alpha, mean * alpha, alpha])


def _inverse_curvature(rows: ParetoRows, params: FloatArray) -> FloatArray | None:
    """Inverse Hessian of the mean negative log-likelihood in log-parameters at `params`, by
    differences of the gradient; None where it is not positive definite."""
    value, grad = _value_and_gradient(params, rows)
    if not np.isfinite(value):
        return None
    hessian = hessian_of(lambda p: _value_and_gradient(p, rows), params, grad)
    curvature = -(params[:, None] * hessian * params[None, :] + np.diag(grad * params))
    curvature /= max(float(rows.weight.sum()), 1.0)
    return positive_definite_inverse(curvature)


@frozen
class ParetoNbd(Predicting):
    """A Pareto/NBD model with known (r, alpha, s, beta); `fit` estimates them."""

    params: FloatArray = field(converter=as_params)
    estimate: Estimate | None = None
    names = NAMES
    model = MODEL

    @classmethod
    def fit(
        cls,
        summary: CustomerSummary,
        *,
        requirements: DataRequirements | None = None,
        start: Sequence[float] | None = None,
    ) -> ParetoNbd:
        """Maximum likelihood from `start` (default: `moment_start`): score steps to near the
        optimum (on a subset for large data), then BFGS from their curvature."""
        (requirements or DataRequirements()).check(MODEL, len(summary), summary.repeat_buyers())
        rows = summary.weighted()
        every = _prepared(rows)
        begin = moment_start(rows) if start is None else start
        subset = subset_rows(len(rows))
        if subset is not None:
            # near the optimum on a subset, whose curvature (the objective is a per-customer
            # mean) starts BFGS on the full data: 5 full passes at 200,000 instead of 8
            part = _prepared(rows.take(subset))
            near, _ = approach(lambda p: _with_scores(p, part), begin, part.weight)
            inverse = _inverse_curvature(part, near)
        else:
            near, inverse = approach(lambda p: _with_scores(p, every), begin, every.weight)
        estimate = maximize(
            lambda p: _value_and_gradient(p, every),
            near.tolist(),
            NAMES,
            rows.customers,
            MODEL,
            inverse_hessian=inverse,
        )
        return cls(estimate.params, estimate)

    def with_params(self, params: FloatArray) -> ParetoNbd:
        return ParetoNbd(params)

    def log_likelihood(self, summary: CustomerSummary) -> float:
        return _total(self.params, summary.weighted())

    def p_alive(self, summary: CustomerSummary) -> FloatArray:
        alive, died = log_branches(self.params, summary.x, summary.t_x, summary.T)
        return np.asarray(expit(alive - died), dtype=np.float64)

    def expected_transactions(self, summary: CustomerSummary, t: float) -> FloatArray:
        """E[Y(t) | x, t_x, T] = (r+x)(beta+T) / ((alpha+T)(s-1)) [1 - ((beta+T)/(beta+T+t))^(s-1)] P(alive)."""
        r, alpha, s, beta = self.params
        rate = (r + summary.x) / (alpha + summary.T)
        horizon = _lifetime_integral(s, beta + summary.T, t)
        return np.asarray(rate * horizon * self.p_alive(summary), dtype=np.float64)

    def expected_transactions_over(
        self, summary: CustomerSummary, times: Sequence[float]
    ) -> list[FloatArray]:
        """E[Y(t) | x, t_x, T] for several horizons, P(alive) computed once."""
        r, alpha, s, beta = self.params
        alive = self.p_alive(summary)
        rate = (r + summary.x) / (alpha + summary.T) * alive
        return [rate * _lifetime_integral(s, beta + summary.T, t) for t in times]

    def expected_transactions_new(self, t: FloatArray | float) -> FloatArray:
        """E[X(t)] = r beta / (alpha (s-1)) [1 - (beta/(beta+t))^(s-1)] for a new customer."""
        r, alpha, s, beta = self.params
        times = np.atleast_1d(np.asarray(t, dtype=np.float64))
        return np.asarray(r / alpha * _lifetime_integral(s, beta + 0 * times, times))

    def summary(self) -> dict[str, object]:
        return describe_fit(MODEL, NAMES, self.params, self.estimate)


def _lifetime_integral(s: float, base: FloatArray, t: FloatArray | float) -> FloatArray:
    """base/(s-1) [1 - (base/(base+t))^(s-1)]: expected time alive in the next t, given alive.

    Written with expm1 and log1p so that s close to 1 (where it tends to base ln(1+t/base))
    loses no precision.
    """
    log_ratio = np.log1p(np.asarray(t) / base)
    k = s - 1
    if abs(k) < 1e-8:
        return np.asarray(base * log_ratio)
    return np.asarray(base * (-np.expm1(-k * log_ratio)) / k)
