"""The match model, blocking and clustering on hand-made or simulated data."""

from __future__ import annotations

import numpy as np
import pytest
from crm_idic.identify.blocking import block_pairs
from crm_idic.identify.clusters import cluster_rows, components
from crm_idic.identify.fields import FIELD_LEVELS, FIELDS
from crm_idic.identify.model import MatchModel, fit


def test_weight_is_prior_log_odds_plus_log2_m_over_u() -> None:
    m = {f: np.full(len(FIELD_LEVELS[f]), 1 / len(FIELD_LEVELS[f])) for f in FIELDS}
    u = {f: np.full(len(FIELD_LEVELS[f]), 1 / len(FIELD_LEVELS[f])) for f in FIELDS}
    m["email"] = np.array([0.05, 0.15, 0.8])
    u["email"] = np.array([0.99, 0.0098, 0.0002])
    model = MatchModel(m, u, prior=0.2, iterations=0)
    levels = np.full((3, len(FIELDS)), -1, dtype=np.int8)
    levels[0, 0], levels[1, 0] = 2, 0  # email same / different; row 2: all missing
    weight, partial = model.weights(levels)
    # log2(0.2/0.8) = -2; log2(0.8/0.0002) = log2(4000) = 11.9658; log2(0.05/0.99) = -4.3074
    assert weight == pytest.approx([-2 + 11.965784, -2 - 4.307429, -2.0], abs=1e-5)
    assert partial[2].tolist() == [0.0] * len(FIELDS)


def test_em_recovers_m_from_pairs_simulated_with_known_parameters() -> None:
    """Candidate pairs drawn from a known mixture (30% matches) under two blocking rules;
    EM must find the m that generated them, u being given."""
    rng = np.random.default_rng(7)
    true_m = {"email": [0.05, 0.15, 0.8], "phone": [0.1, 0.2, 0.7], "name": [0.02, 0.08, 0.3, 0.6]}
    true_u = {
        "email": [0.98, 0.019, 0.001],
        "phone": [0.97, 0.02, 0.01],
        "name": [0.9, 0.05, 0.04, 0.01],
    }
    n_pairs = 40_000
    match = rng.random(n_pairs) < 0.3
    levels = np.full((n_pairs, len(FIELDS)), -1, dtype=np.int8)
    for field in true_m:
        column = FIELDS.index(field)
        for is_match, table in ((True, true_m), (False, true_u)):
            rows = np.flatnonzero(match == is_match)
            levels[rows, column] = rng.choice(len(table[field]), size=rows.size, p=table[field])
    u = {f: np.full(len(FIELD_LEVELS[f]), 1 / len(FIELD_LEVELS[f])) for f in FIELDS}
    u.update({f: np.array(v) for f, v in true_u.items()})
    # Each rule's pairs are all candidates here; the rule's own field is left out of its session.
    everything = np.arange(n_pairs)
    model = fit(levels, [everything, everything], [("email",), ("phone",)], u, {}, 200, 1_000)
    for field, expected in true_m.items():
        assert model.m[field] == pytest.approx(expected, abs=0.03), field


def test_blocks_give_all_pairs_inside_and_skip_big_ones() -> None:
    key = np.array([5, 7, 5, -1, 5, 7, 9, 8, 8, 8, 8])
    left, right, skipped_blocks, skipped_customers = block_pairs(key, max_block_size=3)
    pairs = sorted(
        zip(np.minimum(left, right).tolist(), np.maximum(left, right).tolist(), strict=True)
    )
    # key 5: rows 0, 2, 4 -> 3 pairs; key 7: rows 1, 5; key 8 has 4 rows > 3: skipped
    assert pairs == [(0, 2), (0, 4), (1, 5), (2, 4)]
    assert (skipped_blocks, skipped_customers) == (1, 4)


def test_components_follow_chains() -> None:
    labels = components(6, np.array([0, 1, 4]), np.array([1, 2, 5]))
    assert labels.tolist() == [0, 0, 0, 3, 4, 4]


def test_guard_keeps_chains_from_merging_what_nothing_links() -> None:
    # 0-1 and 1-2 link strongly, 0-2 was never scored: 0 is the survivor (created first), 1
    # links to it, 2 only to 1. Pair 3-4 is a plain merge; 5-6 only reaches review.
    left = np.array([0, 1, 3, 5])
    right = np.array([1, 2, 4, 6])
    weight = np.array([20.0, 20.0, 15.0, 3.0])
    rank = np.arange(7)
    rows = cluster_rows(7, left, right, weight, rank, 8.0, 0.0, 6)
    found = sorted(
        zip(rows.member.tolist(), rows.survivor.tolist(), rows.merge.tolist(), strict=True)
    )
    # 2 is detached from 0's cluster and reviewed against it, showing its link to 1 (pair 1)
    assert found == [(1, 0, True), (2, 0, False), (4, 3, True), (6, 5, False)]
    assert rows.pair[rows.member == 2].tolist() == [1]


def test_oversized_components_go_to_review_whole() -> None:
    left = np.array([0, 0, 0])
    right = np.array([1, 2, 3])
    rows = cluster_rows(4, left, right, np.full(3, 20.0), np.arange(4), 8.0, 0.0, 3)
    assert not rows.merge.any() and sorted(rows.member.tolist()) == [1, 2, 3]


def test_vetoed_pairs_never_merge() -> None:
    rows = cluster_rows(
        2, np.array([0]), np.array([1]), np.array([30.0]), np.arange(2), 8.0, 0.0, 6,
        np.array([False]),
    )  # fmt: skip
    assert rows.merge.tolist() == [False]
