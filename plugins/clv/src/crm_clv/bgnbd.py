"""BG/NBD (Fader, Hardie and Lee 2005, "Counting your customers the easy way").

Purchases follow a Poisson process with rate lambda ~ Gamma(r, alpha) while a customer is
alive; after every purchase the customer drops out with probability p ~ Beta(a, b). The
log-likelihood of (x, t_x, T) is the paper's equation (6) in log space:

    ln L = lnG(r+x) - lnG(r) + r ln(alpha) + lnB(a, b+x) - lnB(a, b)
           + ln[ (alpha+T)^-(r+x) + [x>0] a/(b+x-1) (alpha+t_x)^-(r+x) ]

with the last term taken as -(r+x) ln(alpha+t_x) + ln(rho + a/(b+x-1)), rho =
((alpha+t_x)/(alpha+T))^(r+x) <= 1, so hundreds of transactions or long histories never
overflow. Its gradient and Hessian are analytic (the fit takes Newton steps, `crm_clv.newton`).
Terms that depend only on x are computed once per distinct x.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from attrs import field, frozen
from scipy.special import betaln, digamma, expit, gammaln, hyp2f1, zeta

from crm_clv.estimation import (
    Estimate,
    FloatArray,
    as_params,
    describe_fit,
    product_sum,
    subset_rows,
)
from crm_clv.newton import maximize_newton
from crm_clv.requirements import DataRequirements
from crm_clv.summary import CustomerSummary, WeightedSummary
from crm_clv.valuation import Predicting

NAMES = ("r", "alpha", "a", "b")
MODEL = "bgnbd"


_LOWER = np.tril_indices(4, -1)


@frozen
class _Prepared:
    """A weighted summary split into customers without repeat transactions (only T matters)
    and repeat buyers, with per-x weights and the constants every evaluation reuses.

    `scratch` and `scratch_zero` are work space that every evaluation overwrites (one fit
    owns a `_Prepared`): at 200,000 rows, fresh temporaries cost more in page faults than
    the arithmetic on them.
    """

    customers: float
    T_zero: FloatArray
    w_zero: FloatArray
    x: FloatArray
    x_less_one: FloatArray
    t_x: FloatArray
    T: FloatArray
    w: FloatArray
    wx: FloatArray
    distinct_x: FloatArray
    weight_per_x: FloatArray
    scratch: FloatArray
    scratch_zero: FloatArray

    @classmethod
    def of(cls, rows: WeightedSummary) -> _Prepared:
        repeat = rows.x > 0
        x, w = rows.x[repeat], rows.weight[repeat]
        # x are whole numbers (CustomerSummary checks it), so bincount groups them
        per_x = np.bincount(x.astype(np.intp), weights=w)
        distinct_x = np.flatnonzero(np.bincount(x.astype(np.intp)))
        return cls(
            customers=float(rows.weight.sum()),
            T_zero=rows.T[~repeat],
            w_zero=rows.weight[~repeat],
            x=x,
            x_less_one=x - 1,
            t_x=rows.t_x[repeat],
            T=rows.T[repeat],
            w=w,
            wx=w * x,
            distinct_x=distinct_x.astype(np.float64),
            weight_per_x=np.asarray(per_x[distinct_x], dtype=np.float64),
            scratch=np.empty((9, len(x))),
            scratch_zero=np.empty((2, int(np.count_nonzero(~repeat)))),
        )


def _per_x_terms(params: FloatArray, data: _Prepared) -> tuple[float, FloatArray, FloatArray]:
    """sum_x n_x [lnG(r+x) - lnG(r) + lnB(a, b+x) - lnB(a, b)] over repeat buyers' x, with
    its gradient and Hessian (x = 0 contributes nothing)."""
    r, _alpha, a, b = params
    ux, nx = data.distinct_x, data.weight_per_x
    ab = a + b
    value = nx @ (gammaln(r + ux) - gammaln(r) + betaln(a, b + ux) - betaln(a, b))
    psi_abx, tri_abx = digamma(ab + ux), zeta(2, ab + ux)
    n, psi_ab, tri_ab = nx.sum(), float(digamma(ab)), float(zeta(2, ab))
    grad = np.array(
        [
            nx @ digamma(r + ux) - n * digamma(r),
            0.0,
            n * psi_ab - nx @ psi_abx,
            nx @ (digamma(b + ux) - psi_abx) + n * (psi_ab - digamma(b)),
        ]
    )
    h_aa = n * tri_ab - nx @ tri_abx
    h_bb = nx @ (zeta(2, b + ux) - tri_abx) + n * (tri_ab - zeta(2, b))
    hessian = np.zeros((4, 4))
    hessian[0, 0] = nx @ zeta(2, r + ux) - n * zeta(2, r)
    hessian[2:, 2:] = [[h_aa, h_aa], [h_aa, h_bb]]
    return float(value), grad, hessian


def _log_likelihood(params: FloatArray, data: _Prepared) -> tuple[float, FloatArray, FloatArray]:
    """Total log-likelihood, gradient and Hessian in (r, alpha, a, b).

    A repeat buyer's last term is written as -(r+x) ln(alpha+t_x) + ln(rho + a k) with
    rho = ((alpha+t_x)/(alpha+T))^(r+x) <= 1 and k = 1/(b+x-1), so nothing overflows; s =
    a k/(rho + a k) is the posterior share of "dropped out after the last purchase".
    """
    r, alpha, a, b = params
    value, grad, h = _per_x_terms(params, data)
    n = data.customers
    # customers without repeat transactions: r ln alpha - r ln(alpha+T)
    u0, log_at0 = data.scratch_zero
    w0 = data.w_zero
    np.add(data.T_zero, alpha, out=u0)
    np.log(u0, out=log_at0)
    np.reciprocal(u0, out=u0)
    sum_w0_log_at0, sum_w0u0 = product_sum(w0, log_at0), product_sum(w0, u0)
    # repeat buyers; each name is one row of the scratch space, some reused as noted
    w, wx = data.w, data.wx
    u_T, u_t, log_atx, gap, k, sigma, log_total, s, rx = data.scratch
    np.add(data.T, alpha, out=u_T)
    np.add(data.t_x, alpha, out=u_t)
    np.log(u_t, out=log_atx)
    np.log(u_T, out=gap)
    gap -= log_atx  # ln(alpha+T) - ln(alpha+t_x) >= 0
    np.reciprocal(u_T, out=u_T)
    np.reciprocal(u_t, out=u_t)
    np.add(data.x_less_one, b, out=k)
    np.reciprocal(k, out=k)
    np.add(data.x, r, out=rx)
    np.multiply(rx, gap, out=sigma)
    np.negative(sigma, out=sigma)
    np.exp(sigma, out=sigma)  # rho
    np.multiply(k, a, out=s)
    np.add(sigma, s, out=log_total)  # rho + a k
    s /= log_total  # drop-out share
    sigma /= log_total  # alive share, 1 - s without the cancellation
    np.log(log_total, out=log_total)
    value += n * r * np.log(alpha) - r * sum_w0_log_at0
    value += product_sum(w, log_total) - r * product_sum(w, log_atx) - product_sum(wx, log_atx)

    grad[0] += (
        n * np.log(alpha) - sum_w0_log_at0 - product_sum(w, log_atx) - product_sum(w, sigma, gap)
    )
    slope = log_atx  # d ln(a k/rho)/d alpha = (r+x)(u_T - u_t)
    np.subtract(u_T, u_t, out=slope)
    slope *= rx
    wrx = rx
    wrx *= w
    # d/d alpha of ln(alpha + t_x), mixed over the two branches: sigma u_T + s u_t
    w_alive = product_sum(w, sigma, u_T) + product_sum(w, s, u_t)
    wrx_alive = product_sum(wrx, sigma, u_T) + product_sum(wrx, s, u_t)
    sum_ws, sum_ws_k = product_sum(w, s), product_sum(w, s, k)
    grad[1] += n * r / alpha - r * sum_w0u0 - wrx_alive
    grad[2] += sum_ws / a
    grad[3] -= sum_ws_k

    # d s/d theta = s (1 - s) d ln(a k/rho)/d theta
    wq = log_total
    np.multiply(s, sigma, out=wq)
    wq *= w
    sum_wq = float(wq.sum())
    h[0, 0] += product_sum(wq, gap, gap)
    h[0, 1] = n / alpha - sum_w0u0 - w_alive + product_sum(wq, gap, slope)
    u_T *= u_T
    u_t *= u_t
    h[1, 1] = -n * r / alpha**2 + r * product_sum(w0, u0, u0)
    h[1, 1] += (
        product_sum(wrx, sigma, u_T) + product_sum(wrx, s, u_t) + product_sum(wq, slope, slope)
    )
    h[0, 2] = product_sum(wq, gap) / a
    h[0, 3] = -product_sum(wq, gap, k)
    h[1, 2] = product_sum(wq, slope) / a
    h[1, 3] = -product_sum(wq, slope, k)
    h[2, 2] += (sum_wq - sum_ws) / a**2
    h[2, 3] -= product_sum(wq, k) / a
    k *= k
    h[3, 3] += product_sum(wq, k) + product_sum(w, s, k)
    h[_LOWER] = h.T[_LOWER]
    return float(value), grad, h


def _future_factor(
    params: FloatArray, x: FloatArray, T: FloatArray, t: FloatArray | float
) -> FloatArray:
    """(a+b+x-1)/(a-1) * [1 - ((alpha+T)/(alpha+T+t))^(r+x) 2F1(r+x, b+x; a+b+x-1; z)].

    The hypergeometric term is taken through Euler's transformation,
    (1-z)^(a-1) 2F1(a+b-1-r, a-1; a+b+x-1; z), whose parameters do not grow with x, so it
    stays accurate for customers with hundreds of transactions and long horizons.

    A fit at the edge where dropout has no heterogeneity (a and b in the hundreds of
    thousands, a/(a+b) fixed: a small calibration period can end there) makes that form
    0 * inf; those rows take the direct form, which is then well conditioned (b+x is close to
    a+b+x-1).
    """
    r, alpha, a, b = params
    x, T, t = np.broadcast_arrays(
        np.asarray(x, dtype=np.float64),
        np.asarray(T, dtype=np.float64),
        np.asarray(t, dtype=np.float64),
    )
    z = t / (alpha + T + t)
    c = a + b + x - 1
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):
        tail = np.exp((a - 1) * np.log1p(-z)) * hyp2f1(a + b - 1 - r, a - 1, c, z)
    bad = ~np.isfinite(tail)
    if bad.any():
        xb, Tb, tb = x[bad], T[bad], t[bad]
        tail[bad] = np.exp((r + xb) * np.log((alpha + Tb) / (alpha + Tb + tb))) * hyp2f1(
            r + xb, b + xb, c[bad], z[bad]
        )
    return np.asarray(c / (a - 1) * (1 - tail), dtype=np.float64)


def _start_for(summary: CustomerSummary) -> tuple[float, float, float, float]:
    rate = float(summary.x.mean()) / float(summary.T.mean())
    if not (np.isfinite(rate) and rate > 0):
        return (1.0, 1.0, 1.0, 1.0)
    return (0.5, 0.5 / rate, 1.0, 1.0)


@frozen
class BgNbd(Predicting):
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
        start: Sequence[float] | None = None,
    ) -> BgNbd:
        """Maximum likelihood fit; `start` defaults to r 0.5, a 1, b 1 and alpha such that
        r/alpha, the mean purchase rate, is the data's repeat transactions per unit of age
        (so the start does not depend on the time unit)."""
        (requirements or DataRequirements()).check(MODEL, len(summary), summary.repeat_buyers())
        rows = summary.weighted()
        data = _Prepared.of(rows)
        subset = subset_rows(len(rows))
        warm = None
        if subset is not None:
            part = _Prepared.of(rows.take(subset))
            warm = ((lambda p: _log_likelihood(p, part)), part.customers)
        estimate = maximize_newton(
            lambda p: _log_likelihood(p, data),
            _start_for(summary) if start is None else start,
            NAMES,
            data.customers,
            MODEL,
            warm,
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
