"""Spend in the predictions: customers without a usable mean repeat spend, as documented."""

from __future__ import annotations

import numpy as np
import pytest
from crm_clv.bgnbd import BgNbd
from crm_clv.gamma_gamma import GammaGamma
from crm_clv.summary import CustomerSummary
from crm_clv.valuation import Valuation, predict

# the papers' CDNOW parameters (Fader, Hardie and Lee 2005)
P, Q, V = 6.25, 3.74, 15.44


def test_zero_or_negative_mean_spend_is_predicted_at_the_population_mean() -> None:
    summary = CustomerSummary(
        x=[2.0, 2.0, 3.0, 0.0],
        t_x=[30.0, 30.0, 35.0, 0.0],
        T=[38.0, 38.0, 38.0, 38.0],
        mean_spend=[0.0, -5.0, 30.0, np.nan],  # a free repeat purchase, a return, a buyer, none
    )
    predictions = predict(
        BgNbd([0.243, 4.414, 0.793, 2.426]),
        summary,
        Valuation(horizon=52),
        GammaGamma(np.array([P, Q, V])),
    )
    population = V * P / (Q - 1)
    spend = predictions.expected_spend
    assert spend[[0, 1, 3]] == pytest.approx([population] * 3, rel=1e-12)
    weight = P * 3 / (P * 3 + Q - 1)  # the paper's E[M | x, mbar] for the one real buyer
    assert spend[2] == pytest.approx((1 - weight) * population + weight * 30.0, rel=1e-12)
