"""Fits recover known parameters from simulated data, and intervals cover at their nominal rate.

The generators draw each customer's rates from the models' mixing distributions and then
continuous purchase times (so identical (x, t_x, T) rows are rare): BG/NBD drops a customer
with probability p after every repeat purchase, Pareto/NBD ends its life after an
exponential time, and Gamma-Gamma draws transaction values around a customer's own mean.
"""

from __future__ import annotations

import numpy as np
import pytest
from crm_clv import bgnbd, estimation
from crm_clv.bgnbd import BgNbd
from crm_clv.estimation import WARM_START_ROWS, FitError, InsufficientData
from crm_clv.gamma_gamma import GammaGamma
from crm_clv.pareto_nbd import ParetoNbd, moment_start
from crm_clv.requirements import DataRequirements
from crm_clv.summary import CustomerSummary
from crm_clv.valuation import Valuation, predict

BG_TRUTH = np.array([0.5, 4.0, 0.8, 2.5])
PNBD_TRUTH = np.array([0.6, 8.0, 0.8, 12.0])
GG_TRUTH = np.array([6.0, 4.0, 15.0])


def simulate_bgnbd(
    rng: np.random.Generator, n: int, params: np.ndarray, T_max: float = 52.0
) -> CustomerSummary:
    r, alpha, a, b = params
    lam = rng.gamma(r, 1 / alpha, n)
    p = rng.beta(a, b, n)
    T = rng.uniform(T_max / 2, T_max, n)
    x, t_x = np.zeros(n), np.zeros(n)
    now = np.zeros(n)
    active = np.ones(n, dtype=bool)
    while active.any():
        now[active] += rng.exponential(1 / lam[active])
        active &= now <= T
        x[active] += 1
        t_x[active] = now[active]
        active &= rng.random(n) >= p  # dropped out right after this purchase
    return CustomerSummary(x, t_x, T)


def simulate_pareto_nbd(
    rng: np.random.Generator, n: int, params: np.ndarray, T_max: float = 52.0
) -> CustomerSummary:
    r, alpha, s, beta = params
    lam = rng.gamma(r, 1 / alpha, n)
    life = rng.exponential(1 / rng.gamma(s, 1 / beta, n))
    T = rng.uniform(T_max / 2, T_max, n)
    end = np.minimum(life, T)
    x, t_x, now = np.zeros(n), np.zeros(n), np.zeros(n)
    active = np.ones(n, dtype=bool)
    while active.any():
        now[active] += rng.exponential(1 / lam[active])
        active &= now <= end
        x[active] += 1
        t_x[active] = now[active]
    return CustomerSummary(x, t_x, T)


def simulate_spend(rng: np.random.Generator, x: np.ndarray, params: np.ndarray) -> np.ndarray:
    p, q, v = params
    nu = rng.gamma(q, 1 / v, len(x))
    # the mean of x Gamma(p, nu) values is Gamma(p x, nu x)
    safe = np.maximum(x, 1)
    return np.where(x > 0, rng.gamma(p * safe, 1 / (nu * safe)), np.nan)


def _within_two_se(fitted: np.ndarray, se: np.ndarray, truth: np.ndarray) -> None:
    assert np.all(np.abs(fitted - truth) < 2 * se), (fitted, se, truth)


def test_bgnbd_recovers_parameters() -> None:
    data = simulate_bgnbd(np.random.default_rng(7), 4000, BG_TRUTH)
    model = BgNbd.fit(data)
    assert model.estimate is not None
    _within_two_se(model.params, model.estimate.std_errors, BG_TRUTH)


def test_pareto_nbd_recovers_parameters() -> None:
    data = simulate_pareto_nbd(np.random.default_rng(11), 3000, PNBD_TRUTH)
    model = ParetoNbd.fit(data)
    assert model.estimate is not None
    _within_two_se(model.params, model.estimate.std_errors, PNBD_TRUTH)


def test_gamma_gamma_recovers_parameters() -> None:
    rng = np.random.default_rng(3)
    x = rng.integers(1, 15, 3000).astype(float)
    model = GammaGamma.fit(x, simulate_spend(rng, x, GG_TRUTH))
    assert model.estimate is not None
    _within_two_se(model.params, model.estimate.std_errors, GG_TRUTH)
    assert model.warnings == ()  # spend drawn independently of frequency


def test_warm_started_large_fits_recover_the_truth() -> None:
    """Above 2 x WARM_START_ROWS rows a fit starts on a subset; the full fit still ends at
    the full data's optimum: the truth within two standard errors, and a zero slope."""
    n = 2 * WARM_START_ROWS + 5000
    rng = np.random.default_rng(8)
    data = simulate_bgnbd(rng, n, BG_TRUTH, T_max=39.0)
    assert len(data.weighted()) > 2 * WARM_START_ROWS  # continuous times: nothing compresses
    model = BgNbd.fit(data)
    assert model.estimate is not None
    assert np.all(np.abs(model.params - BG_TRUTH) < 2 * model.estimate.std_errors)
    grad = bgnbd._log_likelihood(model.params, bgnbd._Prepared.of(data.weighted()))[1]
    assert np.max(np.abs(grad * model.params)) / n < 1e-6
    x = rng.integers(1, 15, n).astype(float)
    spend = GammaGamma.fit(x, simulate_spend(rng, x, GG_TRUTH))
    assert spend.estimate is not None
    assert np.all(np.abs(spend.params - GG_TRUTH) < 2 * spend.estimate.std_errors)


def test_intervals_cover_the_truth_at_nominal_rate() -> None:
    """Over 40 simulated data sets, the 95 % parameter intervals and the 90 % intervals for
    expected transactions of three fixed customers cover the true values at about that rate.

    With 160 parameter intervals, 95 % coverage has a binomial sd of 1.7 points, so 0.89..0.99
    is three sd; the transaction intervals of one data set move together, so their 120 draws
    are worth about 40 and 0.78..0.98 is about 2.5 sd around 0.90.
    """
    rng = np.random.default_rng(2024)
    profiles = CustomerSummary([0, 3, 10], [0, 20.0, 45.0], [40.0, 40.0, 50.0])
    valuation = Valuation(horizon=26, interval_level=0.90, steps=2)
    truth = BgNbd(BG_TRUTH).expected_transactions(profiles, 26)
    param_hits, interval_hits = [], []
    for _ in range(40):
        model = BgNbd.fit(simulate_bgnbd(rng, 1500, BG_TRUTH))
        assert model.estimate is not None
        param_hits.extend(np.abs(model.params - BG_TRUTH) < 1.96 * model.estimate.std_errors)
        p = predict(model, profiles, valuation)
        interval_hits.extend(
            (p.expected_transactions_low <= truth) & (truth <= p.expected_transactions_high)
        )
    assert 0.89 <= np.mean(param_hits) <= 0.99
    assert 0.78 <= np.mean(interval_hits) <= 0.98


def test_long_histories_stay_finite() -> None:
    # hundreds of transactions, and a customer observed for 20 years of weeks
    heavy = CustomerSummary(
        [500, 800, 0, 1], [100.0, 1000.0, 0.0, 1.0], [104.0, 1040.0, 1040.0, 1040.0]
    )
    for model in (BgNbd(BG_TRUTH), ParetoNbd(PNBD_TRUTH)):
        alive = model.p_alive(heavy)
        expected = model.expected_transactions(heavy, 52)
        assert np.all(np.isfinite(alive)) and np.all((alive >= 0) & (alive <= 1))
        assert np.all(np.isfinite(expected)) and np.all(expected >= 0)
        assert np.isfinite(model.log_likelihood(heavy))
    # the heavy buyer, if alive, buys at (r+x)/(alpha+T) = 500.5/108 = 4.63 a week: at most
    # 241 in 52 weeks; with a posterior drop-out chance a/(a+b+x) = 0.0016 after each purchase
    # the expectation is about (1 - (1-0.0016)^241) / 0.0016 = 200
    bg = BgNbd(BG_TRUTH)
    if_alive = bg.expected_transactions(heavy, 52)[0] / bg.p_alive(heavy)[0]
    assert 195 < if_alive < 241


def test_too_little_data_is_refused_with_a_reason() -> None:
    data = simulate_bgnbd(np.random.default_rng(1), 60, BG_TRUTH)
    with pytest.raises(InsufficientData, match="60 customers \\(needs at least 100\\)"):
        BgNbd.fit(data)
    with pytest.raises(InsufficientData, match="repeat buyers"):
        ParetoNbd.fit(CustomerSummary(np.zeros(500), np.zeros(500), np.full(500, 30.0)))


def test_a_fit_that_does_not_converge_is_an_error() -> None:
    nobody_returns = CustomerSummary(np.zeros(500), np.zeros(500), np.full(500, 30.0))
    with pytest.raises(FitError, match="bgnbd"):
        BgNbd.fit(nobody_returns, requirements=DataRequirements(0, 0))


def test_gamma_gamma_warns_on_dependence_and_drops_non_positive_spend() -> None:
    rng = np.random.default_rng(5)
    x = rng.integers(1, 15, 2000).astype(float)
    spend = simulate_spend(rng, x, GG_TRUTH) * x  # spend grows with frequency
    spend[:5] = [0.0, -3.0, 0.0, 0.0, -1.0]
    model = GammaGamma.fit(x, spend)
    assert model.excluded == 5
    assert any("correlation" in w for w in model.warnings)
    assert any("5 repeat buyers" in w for w in model.warnings)
    assert np.allclose(
        model.expected_spend(x[:2], spend[:2]),
        model.population_mean
        * (1 - model.params[0] * x[:2] / (model.params[0] * x[:2] + model.params[1] - 1)),
    )


@pytest.mark.parametrize(
    "params",
    [
        [0.55, 10.6, 0.61, 11.7],
        [0.5, 12.0, 0.7, 9.0],
        [1.2, 3.0, 2.0, 40.0],
        [2.0, 5.0, 0.3, 5.0],
        [1.0, 0.5, 1.0, 40.0],  # z up to 0.99: the hyp2f1 fallback
    ],
)
def test_pareto_nbd_series_equals_the_hypergeometric_form(params: list[float]) -> None:
    """The fit's series likelihood equals scipy's hyp2f1 form (both sides of alpha = beta,
    heavy buyers included), and its analytic gradient equals central differences of it."""
    from crm_clv.estimation import numerical_gradient
    from crm_clv.pareto_nbd import _row_log_likelihood
    from crm_clv.pareto_series import log_likelihood_and_gradient

    rows = simulate_pareto_nbd(np.random.default_rng(4), 400, PNBD_TRUTH).weighted()
    heavy = CustomerSummary([300, 0, 5], [50.0, 0.0, 52.0], [52.0, 52.0, 52.0]).weighted()
    p = np.array(params)
    for data in (rows, heavy):
        value, grad = log_likelihood_and_gradient(p, data.x, data.t_x, data.T, data.weight)
        assert value == pytest.approx(float(data.weight @ _row_log_likelihood(p, data)), rel=1e-12)

        # differences of the series' own value: hyp2f1's rounding (1e-10 at z = 0.99) would
        # swamp a central difference, while the series' value is smooth to 1e-16
        numeric = numerical_gradient(
            lambda q, d=data: log_likelihood_and_gradient(q, d.x, d.t_x, d.T, d.weight)[0], p
        )
        np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-6 * abs(value))


def test_pareto_nbd_heavy_buyers_stay_finite_where_hyp2f1_fails() -> None:
    # beta >> alpha and hundreds of transactions: scipy's 2F1(1, 300.5; 302; -1799) is NaN
    model = ParetoNbd([0.5, 0.5, 1.0, 900.0])
    heavy = CustomerSummary([300, 300, 0], [10.0, 52.0, 0.0], [52.0, 52.0, 52.0])
    alive = model.p_alive(heavy)
    assert np.all(np.isfinite(alive)) and np.all((alive >= 0) & (alive <= 1))
    # bought 300 times up to week 10 then nothing for 42 weeks, at ~30 a week: surely gone;
    # bought up to the end: surely alive
    assert alive[0] < 1e-6 and alive[1] > 0.999


def test_fit_through_a_subset_equals_the_direct_fit(monkeypatch: pytest.MonkeyPatch) -> None:
    data = simulate_pareto_nbd(np.random.default_rng(21), 2000, PNBD_TRUTH)
    direct = ParetoNbd.fit(data)
    monkeypatch.setattr(estimation, "WARM_START_ROWS", 300)
    assert estimation.subset_rows(len(data)) is not None
    through = ParetoNbd.fit(data)
    np.testing.assert_allclose(through.params, direct.params, rtol=1e-4)
    assert through.estimate is not None and direct.estimate is not None
    np.testing.assert_allclose(through.estimate.std_errors, direct.estimate.std_errors, rtol=1e-3)


def test_moment_start_is_of_the_right_order() -> None:
    data = simulate_pareto_nbd(np.random.default_rng(2), 3000, PNBD_TRUTH).weighted()
    r, alpha, _, _ = moment_start(data)
    # ignoring drop-out the mean rate r/alpha is underestimated, but of the right order
    assert 0.3 * PNBD_TRUTH[0] / PNBD_TRUTH[1] < r / alpha < 1.5 * PNBD_TRUTH[0] / PNBD_TRUTH[1]
