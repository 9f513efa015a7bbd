"""`[rfm]` options: the number of score levels, the monetary definition, thresholds, the map.

Every check runs when the options are built, so a bad `[rfm]` table fails at load time with one
line per problem under its own key path (`crm.toml: rfm.bins: ...`), like the core config.
"""

from __future__ import annotations

import functools
import itertools
import math
import tomllib
from collections.abc import Mapping, Sequence
from importlib import resources
from typing import Any

import attrs
import cattrs
from attrs import field, frozen
from cattrs.errors import AttributeValidationNote

from crm.core.segment_map import SegmentMap, SegmentMapError

MIN_BINS, MAX_BINS = 2, 10
MONETARY_CHOICES = ("total", "average")
#: The RFM metrics a segment map may use as axes (all are scores 1..bins).
SCORE_AXES = ("rfm.r", "rfm.f", "rfm.m", "rfm.fm")
DEFAULT_MAP_FILE = "default_segment_map.toml"
DEFAULT_MAP_LEVELS = 5


@frozen(kw_only=True)
class RfmThresholds:
    """Explicit cut points per metric, replacing quantiles for that metric.

    Each list has `bins - 1` strictly increasing numbers: days for recency, purchases for
    frequency, currency units (12.5 = 12.50) for monetary.
    """

    recency: tuple[float, ...] | None = None
    frequency: tuple[float, ...] | None = None
    monetary: tuple[float, ...] | None = None


@frozen(kw_only=True)
class RfmOptions:
    """The `[rfm]` table.

    `bins`: scores run 1..bins (2..10, default 5). `monetary`: "total" spend or "average" spend
    per purchase. `thresholds`: optional explicit cut points per metric. `segment_map`: an
    optional map table (`axes`, `[[segments]]`) replacing the default 5 x 5 recency x FM grid.
    """

    bins: int = 5
    monetary: str = "total"
    thresholds: RfmThresholds = field(factory=RfmThresholds)
    segment_map: Mapping[str, Any] | None = None

    def __attrs_post_init__(self) -> None:
        problems = _problems(self)
        if problems:
            # A cattrs validation error with one note per attribute, so that the core config
            # loader reports `crm.toml: rfm.<attribute>: <message>` lines. cattrs wraps errors
            # raised in __init__ in an error of its own; the empty note on this one lets the path
            # continue through that wrapper to the attributes below.
            error = cattrs.ClassValidationError("invalid [rfm] options", problems, RfmOptions)
            error.__notes__ = [AttributeValidationNote("RfmOptions", "", RfmOptions)]
            raise error

    def build_segment_map(self) -> SegmentMap:
        """The segment map these options select: the custom one, else the default grid."""
        if self.segment_map is None:
            return default_segment_map()
        return SegmentMap.from_toml(
            self.segment_map, levels=self.bins, source="crm.toml", key_path="rfm.segment_map"
        )


@functools.cache
def default_segment_map() -> SegmentMap:
    """The shipped 11-segment recency x FM map (checked like any other map)."""
    text = resources.files("crm_rfm").joinpath(DEFAULT_MAP_FILE).read_text(encoding="utf-8")
    return SegmentMap.from_toml(
        tomllib.loads(text),
        levels=DEFAULT_MAP_LEVELS,
        source=f"crm_rfm/{DEFAULT_MAP_FILE}",
        key_path="",
    )


def _problem(attribute: str, path: str, message: str) -> Exception:
    # The attrs validator convention (message, attribute): the core formatter prints it as is.
    exc = ValueError(message, getattr(attrs.fields(RfmOptions), attribute))
    exc.__notes__ = [AttributeValidationNote(f"RfmOptions.{path}", path, None)]
    return exc


def _problems(options: RfmOptions) -> list[Exception]:
    problems: list[Exception] = []
    bins_ok = isinstance(options.bins, int) and MIN_BINS <= options.bins <= MAX_BINS
    if not bins_ok:
        problems.append(
            _problem(
                "bins",
                "bins",
                f"expected an integer from {MIN_BINS} to {MAX_BINS} (score levels 1..bins), "
                f"got {options.bins!r}",
            )
        )
    if options.monetary not in MONETARY_CHOICES:
        problems.append(
            _problem(
                "monetary",
                "monetary",
                f"expected 'total' (spend before the analysis date) or 'average' (spend per "
                f"purchase), got {options.monetary!r}",
            )
        )
    if bins_ok:
        for metric in ("recency", "frequency", "monetary"):
            message = _threshold_problem(getattr(options.thresholds, metric), options.bins)
            if message:
                problems.append(_problem("thresholds", f"thresholds.{metric}", message))
        problems.extend(_map_problems(options))
    return problems


def _threshold_problem(values: Sequence[float] | None, bins: int) -> str | None:
    if values is None:
        return None
    ascending = all(a < b for a, b in itertools.pairwise(values))
    if len(values) != bins - 1 or not ascending or not all(math.isfinite(v) for v in values):
        return (
            f"expected {bins - 1} strictly increasing numbers (bins - 1 cut points for "
            f"bins = {bins}), got {list(values)}"
        )
    return None


def _map_problems(options: RfmOptions) -> list[Exception]:
    if options.segment_map is None:
        if options.bins != DEFAULT_MAP_LEVELS:
            return [
                _problem(
                    "bins",
                    "bins",
                    f"the default segment map is a {DEFAULT_MAP_LEVELS} x {DEFAULT_MAP_LEVELS} "
                    f"grid of R and FM scores, so bins = {options.bins} needs its own "
                    f"[rfm.segment_map] covering scores 1..{options.bins} "
                    f"(or set bins = {DEFAULT_MAP_LEVELS})",
                )
            ]
        return []
    axes = options.segment_map.get("axes")
    if isinstance(axes, list) and any(axis not in SCORE_AXES for axis in axes):
        return [
            _problem(
                "segment_map",
                "segment_map.axes",
                f"expected axes among {', '.join(SCORE_AXES)} (RFM scores 1..{options.bins}), "
                f"got {axes!r}",
            )
        ]
    try:
        options.build_segment_map()
    except SegmentMapError as exc:
        return [
            _problem("segment_map", "segment_map" + (f".{path}" if path else ""), message)
            for path, message in exc.problems
        ]
    return []
