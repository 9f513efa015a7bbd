"""Segmentations over the `clv` scores: value tiers by predicted CLV, and at-risk by P(alive)."""

from __future__ import annotations

import numpy as np
from attrs import frozen
from numpy.typing import NDArray

from crm import Columns, Segment
from crm_clv.options import ClvOptions


@frozen
class ValueTiers:
    """Top share / next share / rest of scored customers by predicted CLV (ties share a tier)."""

    options: ClvOptions
    inputs = ("clv.clv",)

    @property
    def segments(self) -> tuple[Segment, ...]:
        top, nxt = self.options.tiers
        return (
            Segment(
                "High value",
                f"the top {100 * top:g} percent of customers by predicted CLV",
                "Retain and reward: they carry most of the future value.",
            ),
            Segment(
                "Medium value",
                f"the next {100 * nxt:g} percent by predicted CLV",
                "Grow: cross-sell to move them up.",
            ),
            Segment("Low value", "the remaining customers by predicted CLV", "Serve efficiently."),
        )

    def assign(self, columns: Columns) -> NDArray[np.int64]:
        clv = np.asarray(columns["clv.clv"], dtype=np.float64)
        codes = np.full(len(clv), -1, dtype=np.int64)
        scored = np.isfinite(clv)
        values = clv[scored]
        if len(values) == 0:
            return codes
        # share of scored customers with a strictly higher CLV: equal values get equal tiers
        ordered = np.sort(values)
        above = (len(values) - np.searchsorted(ordered, values, side="right")) / len(values)
        top, nxt = self.options.tiers
        codes[scored] = np.where(above < top, 0, np.where(above < top + nxt, 1, 2))
        return codes


@frozen
class AtRisk:
    """ "At risk" where P(alive) is below the threshold, else "Likely active"."""

    options: ClvOptions
    inputs = ("clv.p_alive",)

    @property
    def segments(self) -> tuple[Segment, ...]:
        limit = self.options.at_risk_below
        return (
            Segment(
                "At risk",
                f"probability alive below {limit:g}",
                "Win back before they are gone for good.",
            ),
            Segment("Likely active", f"probability alive {limit:g} or more"),
        )

    def assign(self, columns: Columns) -> NDArray[np.int64]:
        alive = np.asarray(columns["clv.p_alive"], dtype=np.float64)
        codes = np.where(alive < self.options.at_risk_below, 0, 1).astype(np.int64)
        codes[~np.isfinite(alive)] = -1
        return codes
