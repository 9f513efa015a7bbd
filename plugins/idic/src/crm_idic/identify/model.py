"""The Fellegi-Sunter match model: m and u per field and level, the prior, match weights.

- u (how often two different people agree at a level) comes from random pairs of customers,
  which are almost all non-matches, as in Splink's `estimate_u_using_random_sampling`.
- m (how often two records of one person agree at a level) and the prior share of matches
  among the candidate pairs are estimated by expectation-maximisation over the candidate
  pairs with u held fixed. EM runs on the distinct agreement patterns with their counts (a few
  hundred), not on the pairs, so it costs nothing next to comparing.
- A pair's match weight is log2 of its posterior odds: the prior's log-odds plus, per field,
  log2(m / u) of its level (a missing value adds 0). Fields count as independent given match
  status, the model's classic assumption.

Configured probabilities (`[idic.identify.fields.<field>] m = {...}` / `u = {...}`) replace the
estimates for that field.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
from attrs import frozen

from crm_idic.identify.fields import BLOCKING_KEYS, FIELD_LEVELS, FIELDS

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from crm_idic.identify.records import Records
    from crm_idic.options import FieldProbabilities

    Levels = NDArray[np.int8]

#: A level never seen among random pairs still gets this many pseudo-observations, so that its
#: weight is large but finite.
U_PSEUDO_COUNT = 0.5
M_FLOOR = 1e-4
INITIAL_PRIOR = 0.1


@frozen
class MatchModel:
    """Per field, m and u by level (arrays in level order), and the prior match share."""

    m: Mapping[str, NDArray[np.float64]]
    u: Mapping[str, NDArray[np.float64]]
    prior: float
    iterations: int

    def partial_weights(self) -> dict[str, NDArray[np.float64]]:
        return {f: np.log2(self.m[f] / self.u[f]) for f in FIELDS}

    def weights(
        self, levels: Levels, adjustment: NDArray[np.float64] | None = None
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """(match weight per pair, partial weight per pair and field); `adjustment` (pairs x
        fields, as `crm_idic.identify.frequencies.adjustments`) is added to the partial
        weights."""
        partial = np.zeros(levels.shape, dtype=np.float64) if adjustment is None else adjustment
        table = self.partial_weights()
        for column, field in enumerate(FIELDS):
            level = levels[:, column]
            present = level >= 0
            partial[present, column] += table[field][level[present]]
        prior = float(np.log2(self.prior / (1 - self.prior)))
        return prior + partial.sum(axis=1), partial


def estimate_u(
    records: Records, random_pairs: int, rng: np.random.Generator
) -> dict[str, NDArray[np.float64]]:
    from crm_idic.identify.compare import compare

    n = len(records)
    if n < 2:
        return {f: np.full(len(FIELD_LEVELS[f]), 1 / len(FIELD_LEVELS[f])) for f in FIELDS}
    draws = min(random_pairs, n * (n - 1) // 2)
    left = rng.integers(0, n, size=draws)
    right = (left + rng.integers(1, n, size=draws)) % n  # never the customer itself
    levels = compare(records, left.astype(np.int64), right.astype(np.int64))
    u = {}
    for column, field in enumerate(FIELDS):
        count = np.bincount(
            levels[:, column][levels[:, column] >= 0], minlength=len(FIELD_LEVELS[field])
        )
        smoothed = count + U_PSEUDO_COUNT
        u[field] = smoothed / smoothed.sum()
    return u


def _initial_m(field: str) -> NDArray[np.float64]:
    # Matches mostly agree: most mass on the top level, a little on each lower one.
    k = len(FIELD_LEVELS[field])
    m = np.full(k, 0.1 / (k - 1))
    m[-1] = 0.9
    return m


def _log_ratio(
    patterns: Levels, m: Mapping[str, NDArray[np.float64]], u: Mapping[str, NDArray[np.float64]],
    fields: Sequence[str],
) -> NDArray[np.float64]:  # fmt: skip
    """log(P(pattern | match) / P(pattern | non-match)) over `fields` (missing levels add 0)."""
    out = np.zeros(len(patterns))
    for field in fields:
        level = patterns[:, FIELDS.index(field)]
        present = level >= 0
        out[present] += np.log(m[field][level[present]]) - np.log(u[field][level[present]])
    return out


def _posterior(log_ratio: NDArray[np.float64], prior: float) -> NDArray[np.float64]:
    odds = np.exp(np.clip(log_ratio, -700, 700)) * prior / (1 - prior)
    posterior: NDArray[np.float64] = odds / (1 + odds)
    return posterior


def _session(
    levels: Levels, u: Mapping[str, NDArray[np.float64]], learn: Sequence[str], iterations: int
) -> tuple[dict[str, NDArray[np.float64]], float, int]:
    """EM over one rule's pairs: m of the fields in `learn` (the rule's own fields stay out of
    the likelihood: pairs chosen for agreeing on them say nothing about how matches do)."""
    m = {f: _initial_m(f) for f in learn}
    prior = INITIAL_PRIOR
    patterns, counts = np.unique(levels, axis=0, return_counts=True)
    counts = counts.astype(np.float64)
    done = 0
    for done in range(1, iterations + 1):  # noqa: B007 - the count is reported
        expected = counts * _posterior(_log_ratio(patterns, m, u, learn), prior)
        prior = float(np.clip(expected.sum() / counts.sum(), 1e-6, 1 - 1e-6))
        change = 0.0
        for field in learn:
            level = patterns[:, FIELDS.index(field)]
            present = level >= 0
            mass = np.bincount(level[present], weights=expected[present], minlength=len(m[field]))
            mass = np.maximum(mass / max(mass.sum(), 1e-12), M_FLOOR)
            mass /= mass.sum()
            change = max(change, float(np.abs(mass - m[field]).max()))
            m[field] = mass
        if change < 1e-6:
            break
    return m, prior, done


def fit(
    levels: Levels,
    by_rule: Sequence[NDArray[np.int64]],
    rules: Sequence[Sequence[str]],
    u: Mapping[str, NDArray[np.float64]],
    fixed: Mapping[str, FieldProbabilities],
    iterations: int,
    customers: int,
) -> MatchModel:
    """m by EM, one session per blocking rule (as Splink trains), u fixed; then the prior.

    Each session learns the m of the fields its rule does not block on; a field's m is the mean
    over the sessions that learned it, weighted by their expected matches.

    The prior is the match probability of two random customers (u comes from random pairs, so
    the prior must too; the candidates' own match share would count the blocking evidence
    twice): expected matches among the candidates, assuming blocking misses few, over all
    n (n - 1) / 2 pairs, iterated to a fixed point.
    """
    u = {f: _fixed(fixed, f, "u", u[f]) for f in FIELDS}
    sums = {f: np.zeros(len(FIELD_LEVELS[f])) for f in FIELDS}
    mass = dict.fromkeys(FIELDS, 0.0)
    rounds = 0
    for rule, positions in zip(rules, by_rule, strict=True):
        own = {BLOCKING_KEYS[key] for key in rule}
        learn = [f for f in FIELDS if f not in own and not _is_fixed(fixed, f, "m")]
        if positions.size == 0 or not learn:
            continue
        m_rule, prior_rule, done = _session(levels[positions], u, learn, iterations)
        rounds += done
        matches = prior_rule * positions.size
        for field in learn:
            sums[field] += matches * m_rule[field]
            mass[field] += matches
    m = {
        f: _fixed(fixed, f, "m", sums[f] / mass[f] if mass[f] > 0 else _initial_m(f))
        for f in FIELDS
    }
    prior = _random_pair_prior(levels, m, u, customers, iterations)
    return MatchModel(m, u, prior, rounds)


def _random_pair_prior(
    levels: Levels,
    m: Mapping[str, NDArray[np.float64]],
    u: Mapping[str, NDArray[np.float64]],
    customers: int,
    iterations: int,
) -> float:
    all_pairs = max(customers * (customers - 1) / 2, 1.0)
    prior = min(0.5, 1 / max(customers, 2))  # a start: about one duplicate per customer
    if levels.shape[0] == 0:
        return prior
    patterns, counts = np.unique(levels, axis=0, return_counts=True)
    ratio = _log_ratio(patterns, m, u, FIELDS)
    for _ in range(iterations):
        new = float(np.clip((counts * _posterior(ratio, prior)).sum() / all_pairs, 1e-12, 0.5))
        if abs(new - prior) <= 1e-9 * prior:
            break
        prior = new
    return prior


def _is_fixed(fixed: Mapping[str, FieldProbabilities], field: str, kind: str) -> bool:
    given = fixed.get(field)
    return given is not None and getattr(given, kind) is not None


def _fixed(
    fixed: Mapping[str, FieldProbabilities], field: str, kind: str, default: NDArray[np.float64]
) -> NDArray[np.float64]:
    given = fixed.get(field)
    values: Mapping[str, float] | None = getattr(given, kind) if given is not None else None
    if values is None:
        return default
    return np.array([values[level] for level in FIELD_LEVELS[field]], dtype=np.float64)
