"""The Newton fits' analytic derivatives and the optimiser itself.

The BG/NBD and Gamma-Gamma fits take Newton steps on a hand-derived gradient and Hessian, and
report standard errors from that Hessian. Here the likelihoods are checked against the papers'
formulas written out independently (FHL 2005 equation 6; the Gamma-Gamma density of FHL's
"RFM and CLV"), the gradients against differences of those values, the Hessians against
differences of the gradients; then the optimiser from far-off starts. (The warm-started path
of large data is in test_simulated.py.)
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from crm_clv import bgnbd, gamma_gamma
from crm_clv.bgnbd import BgNbd
from crm_clv.gamma_gamma import GammaGamma
from crm_clv.summary import CustomerSummary
from scipy.special import betaln, gammaln


def _histories(rng: np.random.Generator, n: int) -> CustomerSummary:
    """Any valid histories will do for checking derivatives, heavy buyers included."""
    x = rng.poisson(rng.gamma(0.5, 4.0, n))
    T = rng.uniform(20.0, 52.0, n)
    t_x = np.where(x > 0, T * rng.random(n), 0.0)
    heavy = CustomerSummary(
        [300, 0, 5, 1, 200], [50.0, 0.0, 52.0, 0.001, 1.0], [52.0, 52.0, 52.0, 500.0, 520.0]
    )
    return CustomerSummary(np.append(x, heavy.x), np.append(t_x, heavy.t_x), np.append(T, heavy.T))


def _equation_6(params: np.ndarray, s: CustomerSummary) -> float:
    """FHL 2005 eq. (6) as printed: L = A (alpha+T)^-(r+x) + [x>0] A' (alpha+t_x)^-(r+x)."""
    r, alpha, a, b = params
    x = s.x
    common = gammaln(r + x) - gammaln(r) + r * np.log(alpha) - betaln(a, b)
    alive = common + betaln(a, b + x) - (r + x) * np.log(alpha + s.T)
    with np.errstate(invalid="ignore"):
        dropped = (
            common + betaln(a + 1, np.maximum(b + x - 1, 1e-300)) - (r + x) * np.log(alpha + s.t_x)
        )
    return float(np.sum(np.where(x > 0, np.logaddexp(alive, dropped), alive)))


def _gamma_gamma_density(params: np.ndarray, x: np.ndarray, m: np.ndarray) -> float:
    p, q, v = params
    return float(
        np.sum(
            gammaln(p * x + q)
            - gammaln(p * x)
            - gammaln(q)
            + q * np.log(v)
            + (p * x - 1) * np.log(m)
            + p * x * np.log(x)
            - (p * x + q) * np.log(v + m * x)
        )
    )


def _differences(fn: Any, params: np.ndarray, step: float = 1e-5) -> np.ndarray:
    """Central differences of `fn` (a number or a vector) in each parameter."""
    columns = []
    for i in range(len(params)):
        up, down = params.copy(), params.copy()
        up[i] += step * params[i]
        down[i] -= step * params[i]
        columns.append((np.asarray(fn(up)) - np.asarray(fn(down))) / (2 * step * params[i]))
    return np.array(columns)


BG_POINTS = [[0.243, 4.414, 0.793, 2.426], [0.5, 4.0, 0.8, 2.5], [3.0, 0.5, 2.0, 0.3]]


@pytest.mark.parametrize("params", BG_POINTS)
def test_bgnbd_likelihood_gradient_and_hessian_match_equation_6(params: list[float]) -> None:
    p = np.array(params)
    for summary in (
        _histories(np.random.default_rng(5), 300),
        _histories(np.random.default_rng(6), 3),
    ):
        data = bgnbd._Prepared.of(summary.weighted())
        value, grad, hessian = bgnbd._log_likelihood(p, data)
        assert value == pytest.approx(_equation_6(p, summary), rel=1e-12)
        scale = abs(value)
        np.testing.assert_allclose(
            grad,
            _differences(lambda q, s=summary: _equation_6(q, s), p),
            rtol=1e-6,
            atol=1e-8 * scale,
        )
        numeric = _differences(lambda q, d=data: bgnbd._log_likelihood(q, d)[1], p)
        np.testing.assert_allclose(hessian, numeric, rtol=1e-6, atol=1e-8 * scale)


@pytest.mark.parametrize("params", [[6.25, 3.74, 15.44], [1.0, 1.0, 1.0], [0.3, 20.0, 2.0]])
def test_gamma_gamma_likelihood_gradient_and_hessian_match_the_density(
    params: list[float],
) -> None:
    rng = np.random.default_rng(6)
    x = np.append(rng.integers(1, 15, 300).astype(float), [250.0])
    m = rng.gamma(6.0 * x, 1 / (x * rng.gamma(4.0, 1 / 15.0, len(x))))
    p = np.array(params)
    data = gamma_gamma._Prepared.of(x, m)
    value, grad, hessian = gamma_gamma._log_likelihood(p, data)
    assert value == pytest.approx(_gamma_gamma_density(p, x, m), rel=1e-12)
    scale = abs(value)
    np.testing.assert_allclose(
        grad,
        _differences(lambda q: _gamma_gamma_density(q, x, m), p),
        rtol=1e-6,
        atol=1e-8 * scale,
    )
    numeric = _differences(lambda q: gamma_gamma._log_likelihood(q, data)[1], p)
    np.testing.assert_allclose(hessian, numeric, rtol=1e-6, atol=1e-8 * scale)


def test_far_starts_reach_the_reference_optimum(
    cdnow_sample: Any, reference: dict[str, Any]
) -> None:
    """The trust region carries the fits from starts far from the optimum, where the Hessian
    is not negative definite, to lifetimes' optimum on CDNOW."""
    summary = cdnow_sample.summary
    expected = reference["fits"]["bgnbd"]["params"]
    for start in ((5.0, 0.1, 5.0, 0.1), (0.01, 500.0, 0.05, 50.0)):
        fitted = BgNbd.fit(summary, start=start).summary()["params"]
        assert isinstance(fitted, dict)
        for name, value in expected.items():
            assert fitted[name] == pytest.approx(value, rel=1e-5), (start, name)
    assert summary.mean_spend is not None
    for start in ((0.1, 30.0, 1000.0), (50.0, 0.5, 0.1)):
        spend = GammaGamma.fit(summary.x, summary.mean_spend, start=start)
        p, q, v = spend.params
        # the published values (lifetimes' reference fit saw mean spends half a cent off)
        assert (round(p, 2), round(q, 2), round(v, 2)) == (6.25, 3.74, 15.44), start
        assert spend.estimate is not None
        ll = reference["fits"]["gg"]["ll"]
        assert spend.estimate.log_likelihood == pytest.approx(ll, rel=5e-6)
