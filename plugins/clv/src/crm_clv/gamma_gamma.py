"""Gamma-Gamma spend (Fader, Hardie and Lee 2005, "RFM and CLV: using iso-value curves").

A customer's transaction values are Gamma(p, nu) with nu ~ Gamma(q, v) across customers
(`v` is the papers' gamma). Fitted on customers with at least one repeat transaction, from
their number of repeat transactions x and mean repeat value mbar:

    ln f = lnG(px+q) - lnG(px) - lnG(q) + q ln v + (px-1) ln mbar + px ln x - (px+q) ln(v + x mbar)

The model assumes spend is independent of purchase frequency; `fit` measures the correlation
between x and mbar and returns a warning above `INDEPENDENCE_THRESHOLD`. Customers whose mean
repeat spend is zero or negative (returns, free items) cannot come from a gamma distribution:
they are left out of the fit, counted in `excluded`, and predicted at the population mean.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from attrs import field, frozen
from scipy.special import digamma, gammaln, zeta

from crm_clv.estimation import (
    Estimate,
    FloatArray,
    InsufficientData,
    as_params,
    describe_fit,
    product_sum,
    subset_rows,
)
from crm_clv.newton import maximize_newton
from crm_clv.requirements import DataRequirements

NAMES = ("p", "q", "v")
MODEL = "gamma_gamma"
#: |corr(x, mean spend)| above which the independence assumption is reported as doubtful.
INDEPENDENCE_THRESHOLD = 0.3


@frozen
class _Prepared:
    """Repeat buyers' (x, mbar) with what every evaluation reuses: the distinct x (the
    gamma-function terms depend on x alone), x mbar, and the sums of the terms without
    parameters inside a function. `scratch` is work space every evaluation overwrites."""

    customers: float
    x: FloatArray
    xm: FloatArray
    distinct_x: FloatArray
    count_per_x: FloatArray
    sum_log_m: float
    sum_x_log_xm: float
    scratch: FloatArray

    @classmethod
    def of(cls, x: FloatArray, m: FloatArray) -> _Prepared:
        distinct_x, counts = np.unique(x, return_counts=True)
        xm = x * m
        return cls(
            customers=float(len(x)),
            x=x,
            xm=xm,
            distinct_x=distinct_x,
            count_per_x=counts.astype(np.float64),
            sum_log_m=float(np.log(m).sum()),
            sum_x_log_xm=product_sum(x, np.log(xm)),
            scratch=np.empty((2, len(x))),
        )


def _log_likelihood(params: FloatArray, data: _Prepared) -> tuple[float, FloatArray, FloatArray]:
    """Total log-likelihood, gradient and Hessian in (p, q, v). Summed over customers,

    ln f = sum_x n_x [lnG(px+q) - lnG(px) - lnG(q)] + n q ln v + p sum x ln(x mbar)
           - sum ln mbar - p sum x ln(v + x mbar) - q sum ln(v + x mbar)

    so only ln(v + x mbar) and 1/(v + x mbar) are computed per customer.
    """
    p, q, v = params
    ux, nx, n, x = data.distinct_x, data.count_per_x, data.customers, data.x
    px, log_v = p * ux, np.log(v)
    log_vxm, u = data.scratch
    np.add(data.xm, v, out=u)
    np.log(u, out=log_vxm)
    np.reciprocal(u, out=u)
    sum_l, sum_xl = float(log_vxm.sum()), product_sum(x, log_vxm)
    sum_u, sum_xu = float(u.sum()), product_sum(x, u)
    sum_uu, sum_xuu = product_sum(u, u), product_sum(x, u, u)
    value = nx @ (gammaln(px + q) - gammaln(px)) - n * gammaln(q) + n * q * log_v
    value += p * (data.sum_x_log_xm - sum_xl) - data.sum_log_m - q * sum_l
    psi, tri = digamma(px + q), zeta(2, px + q)
    grad = np.array(
        [
            (nx * ux) @ (psi - digamma(px)) + data.sum_x_log_xm - sum_xl,
            nx @ psi - n * digamma(q) + n * log_v - sum_l,
            n * q / v - p * sum_xu - q * sum_u,
        ]
    )
    h_pq = (nx * ux) @ tri
    h_pv, h_qv = -sum_xu, n / v - sum_u
    hessian = np.array(
        [
            [(nx * ux * ux) @ (tri - zeta(2, px)), h_pq, h_pv],
            [h_pq, nx @ tri - n * zeta(2, q), h_qv],
            [h_pv, h_qv, -n * q / v**2 + p * sum_xuu + q * sum_uu],
        ]
    )
    return float(value), grad, hessian


def _correlation(x: FloatArray, m: FloatArray) -> float:
    # Pearson's r by einsum sums (np.corrcoef's BLAS products are slow under load)
    dx, dm = x - x.mean(), m - m.mean()
    spread = np.sqrt(product_sum(dx, dx) * product_sum(dm, dm))
    return product_sum(dx, dm) / spread if spread > 0 else 0.0


def _usable(x: FloatArray, mean_spend: FloatArray) -> FloatArray:
    return np.asarray((x > 0) & np.isfinite(mean_spend) & (mean_spend > 0))


@frozen
class GammaGamma:
    """A Gamma-Gamma spend model with known (p, q, v); `fit` estimates them."""

    params: FloatArray = field(converter=as_params)
    estimate: Estimate | None = None
    warnings: tuple[str, ...] = ()
    excluded: int = 0
    names = NAMES
    model = MODEL

    @classmethod
    def fit(
        cls,
        x: FloatArray,
        mean_spend: FloatArray,
        *,
        requirements: DataRequirements | None = None,
        start: Sequence[float] | None = None,
    ) -> GammaGamma:
        """Maximum likelihood fit on the usable repeat buyers; `start` defaults to p 1, q 2
        and v the mean of their mean spend, where the model's mean spend p v/(q-1) is the
        data's (so the start does not depend on the currency unit)."""
        x = np.asarray(x, dtype=np.float64)
        mean_spend = np.asarray(mean_spend, dtype=np.float64)
        usable = _usable(x, mean_spend).astype(bool)
        excluded = int(np.count_nonzero((x > 0) & ~usable))
        needed = requirements or DataRequirements()
        if int(usable.sum()) < needed.repeat_buyers:
            raise InsufficientData(
                f"{MODEL}: not enough data to fit: {int(usable.sum())} repeat buyers with a "
                f"positive mean repeat spend (needs at least {needed.repeat_buyers}); the spend "
                "model learns from repeat transactions only. Use spend_model = 'mean' or more "
                "data"
            )
        xs, ms = x[usable], mean_spend[usable]
        data = _Prepared.of(xs, ms)
        subset = subset_rows(len(xs))
        warm = None
        if subset is not None:
            part = _Prepared.of(xs[subset], ms[subset])
            warm = ((lambda p: _log_likelihood(p, part)), part.customers)
        estimate = maximize_newton(
            lambda p: _log_likelihood(p, data),
            (1.0, 2.0, float(ms.mean())) if start is None else start,
            NAMES,
            data.customers,
            MODEL,
            warm,
        )
        warnings: list[str] = []
        correlation = _correlation(xs, ms) if len(xs) > 2 else 0.0
        if abs(correlation) > INDEPENDENCE_THRESHOLD:
            warnings.append(
                f"gamma_gamma: the correlation between repeat frequency and mean spend is "
                f"{correlation:.2f} (above {INDEPENDENCE_THRESHOLD}); the model assumes they "
                "are independent, so its spend predictions are biased for this data"
            )
        if excluded:
            warnings.append(
                f"gamma_gamma: {excluded} repeat buyers with zero or negative mean spend were "
                "left out of the fit and get the population mean spend"
            )
        return cls(estimate.params, estimate, tuple(warnings), excluded)

    def with_params(self, params: FloatArray) -> GammaGamma:
        return GammaGamma(params)

    def log_likelihood(self, x: FloatArray, mean_spend: FloatArray) -> float:
        usable = _usable(x, mean_spend).astype(bool)
        return _log_likelihood(self.params, _Prepared.of(x[usable], mean_spend[usable]))[0]

    @property
    def population_mean(self) -> float:
        p, q, v = self.params
        return float(v * p / (q - 1)) if q > 1 else float("inf")

    def expected_spend(self, x: FloatArray, mean_spend: FloatArray) -> FloatArray:
        """E[M | x, mbar]: a weighted mean of the population mean and the customer's own mean.

        Customers without a usable repeat spend (x == 0, or zero/negative mean) get the
        population mean v p / (q - 1).
        """
        p, q, _v = self.params
        x = np.asarray(x, dtype=np.float64)
        m = np.where(_usable(x, mean_spend).astype(bool), mean_spend, 0.0)
        weight = p * x / (p * x + q - 1)
        return np.asarray((1 - weight) * self.population_mean + weight * m, dtype=np.float64)

    def predict(self, x: FloatArray, mean_spend: FloatArray) -> FloatArray:
        """The prediction of this model: each customer's expected spend per transaction
        (`expected_spend`)."""
        return self.expected_spend(x, mean_spend)

    def summary(self) -> dict[str, object]:
        out = describe_fit(MODEL, NAMES, self.params, self.estimate)
        out["warnings"] = list(self.warnings)
        return out
