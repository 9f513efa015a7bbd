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
from scipy.special import digamma, gammaln

from crm_clv.estimation import (
    Estimate,
    FloatArray,
    InsufficientData,
    as_params,
    describe_fit,
    maximize,
    subset_rows,
)
from crm_clv.requirements import DataRequirements

NAMES = ("p", "q", "v")
MODEL = "gamma_gamma"
#: |corr(x, mean spend)| above which the independence assumption is reported as doubtful.
INDEPENDENCE_THRESHOLD = 0.3


def _log_likelihood(params: FloatArray, x: FloatArray, m: FloatArray) -> tuple[float, FloatArray]:
    p, q, v = params
    px = p * x
    log_vxm = np.log(v + x * m)
    log_m, log_x = np.log(m), np.log(x)
    total = np.sum(
        gammaln(px + q)
        - gammaln(px)
        - gammaln(q)
        + q * np.log(v)
        + (px - 1) * log_m
        + px * log_x
        - (px + q) * log_vxm
    )
    psi = digamma(px + q)
    d_p = np.sum(x * (psi - digamma(px) + log_m + log_x - log_vxm))
    d_q = np.sum(psi - digamma(q) + np.log(v) - log_vxm)
    d_v = np.sum(q / v - (px + q) / (v + x * m))
    return float(total), np.array([d_p, d_q, d_v])


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
        start: Sequence[float] = (1.0, 1.0, 1.0),
    ) -> GammaGamma:
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
        subset = subset_rows(len(xs))
        warm = None
        if subset is not None:
            xw, mw = xs[subset], ms[subset]
            warm = ((lambda p: _log_likelihood(p, xw, mw)), float(len(xw)))
        estimate = maximize(
            lambda p: _log_likelihood(p, xs, ms), start, NAMES, len(xs), MODEL, warm
        )
        warnings: list[str] = []
        correlation = float(np.corrcoef(xs, ms)[0, 1]) if len(xs) > 2 else 0.0
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
        return _log_likelihood(self.params, x[usable], mean_spend[usable])[0]

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

    def summary(self) -> dict[str, object]:
        out = describe_fit(MODEL, NAMES, self.params, self.estimate)
        out["warnings"] = list(self.warnings)
        return out
