"""Identify: find the customers that are the same person (see the plugin README).

    found = identify(connection, tables, options.identify)
    found.clusters        # one row per member: cluster, survivor, decision, the pair shown
    found.merges()        # (survivor, merged ids, reason) per automatic merge cluster

Steps: load and normalise (`records`), candidate pairs by blocking rules (`blocking`),
agreement levels per field (`compare`), u from random pairs and m by EM (`model`), exact
agreement weighed by how common the value is (`frequencies`), guarded clustering (`clusters`). Nothing is written; merging is `crm.Project.merge_many`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
from attrs import frozen
from sqlalchemy import Connection

from crm.core.schema import Tables
from crm_idic.identify.blocking import Pairs, candidate_pairs
from crm_idic.identify.clusters import Clusters, cluster_rows
from crm_idic.identify.compare import compare
from crm_idic.identify.fields import FIELDS
from crm_idic.identify.frequencies import (
    SAME_CODES,
    adjustments,
    value_frequencies,
    with_exact_agreement,
)
from crm_idic.identify.model import MatchModel, estimate_u, fit
from crm_idic.identify.records import Records, build_records, load_rows

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from crm_idic.options import IdentifyOptions

__all__ = ["Identification", "identify", "identify_records"]


@frozen
class Identification:
    records: Records
    pairs: Pairs
    levels: NDArray[np.int8]
    weight: NDArray[np.float64]
    partial: NDArray[np.float64]
    model: MatchModel
    clusters: Clusters
    #: Seconds per step, for the benchmark and `--verbose` diagnostics.
    timings: dict[str, float]

    def merges(self, min_weight: float | None = None) -> list[tuple[str, tuple[str, ...], str]]:
        """(survivor, merged, reason) per cluster decided "merge"; with `min_weight`, instead
        every cluster (review ones too) whose members all link directly to the survivor with
        at least that weight."""
        c = self.clusters
        ids = self.records.external_id
        shown = np.where(c.pair >= 0, self.weight[np.maximum(c.pair, 0)], -np.inf)
        chosen = c.merge
        if min_weight is not None:
            chosen = self.links_to_survivor() & (shown >= min_weight)
        out: list[tuple[str, tuple[str, ...], str]] = []
        starts = np.flatnonzero(np.r_[True, c.cluster[1:] != c.cluster[:-1]])
        for rows in np.split(np.arange(len(c)), starts[1:]):
            if rows.size == 0 or not chosen[rows].all():
                continue
            weakest = float(shown[rows].min())
            out.append(
                (
                    str(ids[c.survivor[rows[0]]]),
                    tuple(str(x) for x in ids[c.member[rows]]),
                    f"crm identify: cluster {int(c.cluster[rows[0]])}, weakest link {weakest:.1f}",
                )
            )
        return out

    def links_to_survivor(self) -> NDArray[np.bool_]:
        """Per cluster row, whether the pair shown is the member's own link to the survivor."""
        c = self.clusters
        pair = np.maximum(c.pair, 0)
        low, high = np.minimum(c.member, c.survivor), np.maximum(c.member, c.survivor)
        direct: NDArray[np.bool_] = (
            (c.pair >= 0) & (self.pairs.left[pair] == low) & (self.pairs.right[pair] == high)
        )
        return direct


def identify_records(
    records: Records, options: IdentifyOptions, clock: Callable[[], float] = time.perf_counter
) -> Identification:
    timings: dict[str, float] = {}
    start = clock()

    def lap(name: str) -> None:
        nonlocal start
        now = clock()
        timings[name] = now - start
        start = now

    pairs = candidate_pairs(records, options.blocking, options.max_block_size)
    lap("blocking")
    levels = compare(records, pairs.left, pairs.right)
    lap("comparing")
    rng = np.random.default_rng(options.seed)
    frequencies = value_frequencies(records, SAME_CODES)
    u = with_exact_agreement(estimate_u(records, options.random_pairs, rng), frequencies)
    model = fit(
        levels, pairs.by_rule, options.blocking, u, options.fields, options.em_iterations,
        len(records),
    )  # fmt: skip
    adjusted = frequencies.only(options.term_frequencies)
    weight, partial = model.weights(levels, adjustments(levels, pairs.left, adjusted))
    lap("estimating")
    mergeable = np.ones(len(pairs), dtype=bool)
    for field in options.merge_requires:
        mergeable &= levels[:, FIELDS.index(field)] != 0  # "different"; missing is no objection
    clusters = cluster_rows(
        len(records), pairs.left, pairs.right, weight, records.created_order,
        options.merge_weight, options.review_weight, options.max_cluster_size, mergeable,
    )  # fmt: skip
    lap("clustering")
    return Identification(records, pairs, levels, weight, partial, model, clusters, timings)


def identify(connection: Connection, tables: Tables, options: IdentifyOptions) -> Identification:
    """Find duplicate customers among those not merged already; nothing is written."""
    start = time.perf_counter()
    rows = load_rows(connection, tables, options.postcode_attribute)
    loaded = time.perf_counter()
    records = build_records(rows, options)
    normalised = time.perf_counter()
    found = identify_records(records, options)
    found.timings.update(loading=loaded - start, normalising=normalised - loaded)
    return found
