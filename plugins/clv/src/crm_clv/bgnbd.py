"""BG/NBD (Fader, Hardie and Lee 2005, "Counting your customers the easy way").

Purchases follow a Poisson process with rate lambda ~ Gamma(r, alpha) while a customer is
alive; after every purchase the customer drops out with probability p ~ Beta(a, b). The
log-likelihood of (x, t_x, T) is the paper's equation (6) in log space:

    ln L = lnG(r+x) - lnG(r) + r ln(alpha) + lnB(a, b+x) - lnB(a, b)
           + ln[ (alpha+T)^-(r+x) + [x>0] a/(b+x-1) (alpha+t_x)^-(r+x) ]

with the last term a `logaddexp`, so hundreds of transactions or long histories never
overflow. Its gradient is analytic. Terms that depend only on x are computed once per distinct x.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from attrs import field, frozen
from numpy.typing import NDArray
from scipy.special import betaln, digamma, expit, gammaln, hyp2f1

from crm_clv.estimation import (
    Estimate,
    FloatArray,
    as_params,
    describe_fit,
    maximize,
    subset_rows,
)
from crm_clv.requirements import DataRequirements
from crm_clv.summary import CustomerSummary, WeightedSummary

NAMES = ("r", "alpha", "a", "b")
MODEL = "bgnbd"


@frozen
class _Prepared:
    """A weighted summary with its distinct x values, reused by every likelihood evaluation."""

    rows: WeightedSummary
    distinct_x: FloatArray
    x_index: NDArray[np.intp]
    weight_per_x: FloatArray
    repeat: NDArray[np.bool_]

    @classmethod
    def of(cls, rows: WeightedSummary) -> _Prepared:
        distinct_x, x_index = np.unique(rows.x, return_inverse=True)
        return cls(
            rows=rows,
            distinct_x=distinct_x,
            x_index=x_index.reshape(-1),
            weight_per_x=np.bincount(x_index.reshape(-1), weights=rows.weight).astype(np.float64),
            repeat=rows.x > 0,
        )


def _log_likelihood(params: FloatArray, data: _Prepared) -> tuple[float, FloatArray]:
    r, alpha, a, b = params
    rows, ux, wx = data.rows, data.distinct_x, data.weight_per_x
    x, w = rows.x, rows.weight
    log_at = np.log(alpha + rows.T)
    log_atx = np.log(alpha + rows.t_x)
    rx = r + x
    # ln L = per-x terms + r ln alpha - (r+x) ln(alpha+T) + softplus(d), where d is the log
    # ratio of the "dropped out after the last purchase" branch to the "alive at T" branch
    with np.errstate(divide="ignore"):
        c_x = np.where(ux > 0, np.log(a) - np.log(np.maximum(b + ux - 1, 1e-300)), -np.inf)
        inv_b_x = np.where(ux > 0, 1.0 / (b + ux - 1), 0.0)
    d = c_x[data.x_index] + rx * (log_at - log_atx)
    softplus = np.logaddexp(0.0, d)
    w4 = np.exp(d - softplus)  # share of the drop-out branch, expit(d)
    per_x = gammaln(r + ux) - gammaln(r) + betaln(a, b + ux) - betaln(a, b)
    n = w.sum()
    total = float(wx @ per_x + n * r * np.log(alpha) + w @ (softplus - rx * log_at))

    psi_ab_x = digamma(a + b + ux)
    ww4 = w * w4
    d_r = wx @ (digamma(r + ux) - digamma(r)) + n * np.log(alpha)
    d_r -= w @ log_at - ww4 @ (log_at - log_atx)
    inv_at, inv_atx = 1.0 / (alpha + rows.T), 1.0 / (alpha + rows.t_x)
    d_alpha = n * r / alpha - (w * rx) @ (inv_at + w4 * (inv_atx - inv_at))
    d_a = wx @ (digamma(a + b) - psi_ab_x) + ww4.sum() / a
    d_b = wx @ (digamma(b + ux) - psi_ab_x - digamma(b) + digamma(a + b))
    d_b -= ww4 @ inv_b_x[data.x_index]
    return total, np.array([d_r, d_alpha, d_a, d_b])


def _future_factor(
    params: FloatArray, x: FloatArray, T: FloatArray, t: FloatArray | float
) -> FloatArray:
    """(a+b+x-1)/(a-1) * [1 - ((alpha+T)/(alpha+T+t))^(r+x) 2F1(r+x, b+x; a+b+x-1; z)].

    The hypergeometric term is taken through Euler's transformation,
    (1-z)^(a-1) 2F1(a+b-1-r, a-1; a+b+x-1; z), whose parameters do not grow with x, so it
    stays accurate for customers with hundreds of transactions and long horizons.
    """
    r, alpha, a, b = params
    z = t / (alpha + T + t)
    c = a + b + x - 1
    tail = np.exp((a - 1) * np.log1p(-z)) * hyp2f1(a + b - 1 - r, a - 1, c, z)
    return np.asarray(c / (a - 1) * (1 - tail), dtype=np.float64)


@frozen
class BgNbd:
    """A BG/NBD model with known parameters (r, alpha, a, b); `fit` estimates them."""

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
        start: Sequence[float] = (1.0, 1.0, 1.0, 1.0),
    ) -> BgNbd:
        (requirements or DataRequirements()).check(MODEL, len(summary), summary.repeat_buyers())
        data = _Prepared.of(summary.weighted())
        subset = subset_rows(len(data.rows))
        warm = None
        if subset is not None:
            part = _Prepared.of(data.rows.take(subset))
            warm = ((lambda p: _log_likelihood(p, part)), float(part.rows.weight.sum()))
        estimate = maximize(
            lambda p: _log_likelihood(p, data), start, NAMES, data.rows.customers, MODEL, warm
        )
        return cls(estimate.params, estimate)

    def with_params(self, params: FloatArray) -> BgNbd:
        return BgNbd(params)

    def log_likelihood(self, summary: CustomerSummary) -> float:
        return _log_likelihood(self.params, _Prepared.of(summary.weighted()))[0]

    def p_alive(self, summary: CustomerSummary) -> FloatArray:
        r, alpha, a, b = self.params
        x = summary.x
        out = np.ones_like(x)
        rep = x > 0
        log_odds = (
            np.log(a)
            - np.log(b + x[rep] - 1)
            + (r + x[rep]) * (np.log(alpha + summary.T[rep]) - np.log(alpha + summary.t_x[rep]))
        )
        out[rep] = expit(-log_odds)
        return out

    def expected_transactions(self, summary: CustomerSummary, t: float) -> FloatArray:
        """E[Y(t) | x, t_x, T]: expected transactions in the next `t` time units."""
        return _future_factor(self.params, summary.x, summary.T, t) * self.p_alive(summary)

    def expected_transactions_over(
        self, summary: CustomerSummary, times: Sequence[float]
    ) -> list[FloatArray]:
        """E[Y(t) | x, t_x, T] for several horizons at once: P(alive) once, and the
        hypergeometric factor once per distinct (x, T) pair (it does not depend on t_x)."""
        alive = self.p_alive(summary)
        first, inverse = summary.x_and_age_groups
        x, T = summary.x[first], summary.T[first]
        return [_future_factor(self.params, x, T, t)[inverse] * alive for t in times]

    def expected_transactions_new(self, t: FloatArray | float) -> FloatArray:
        """E[X(t)]: expected transactions of a new customer in its first `t` time units."""
        times = np.atleast_1d(np.asarray(t, dtype=np.float64))
        zero = np.zeros_like(times)
        return _future_factor(self.params, zero, zero, times)

    def summary(self) -> dict[str, object]:
        return describe_fit(MODEL, NAMES, self.params, self.estimate)
