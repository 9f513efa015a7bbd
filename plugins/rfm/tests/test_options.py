"""`[rfm]` options: every problem is a line naming its key under `rfm.`."""

from __future__ import annotations

from typing import Any

import pytest
from crm_rfm import RfmOptions, RfmThresholds, default_segment_map, make_segment_map

from crm.core.config import structure
from crm.core.errors import ConfigError


def options(table: dict[str, Any]) -> RfmOptions:
    return structure(table, RfmOptions, source="crm.toml", prefix="rfm")


def problems(table: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as info:
        options(table)
    return list(info.value.lines)


SMALL_MAP = {
    "axes": ["rfm.r", "rfm.f"],
    "segments": [
        {"name": "Active", "description": "bought lately", "cells": ["3:*"]},
        {"name": "Lapsing", "cells": ["1-2:2-3"]},
        {"name": "Gone", "cells": ["1-2:1"]},
    ],
}


def test_defaults() -> None:
    got = options({})
    assert got == RfmOptions(bins=5, monetary="total", thresholds=RfmThresholds())
    assert make_segment_map(got) is default_segment_map()


def test_bins_out_of_range_names_rfm_bins() -> None:
    assert problems({"bins": 50}) == [
        "crm.toml: rfm.bins: expected an integer from 2 to 10 (score levels 1..bins), got 50"
    ]


def test_bins_of_the_wrong_type() -> None:
    assert problems({"bins": "5"}) == ["crm.toml: rfm.bins: expected an integer, got '5'"]


def test_bins_other_than_five_need_a_map_of_their_own() -> None:
    assert problems({"bins": 4}) == [
        "crm.toml: rfm.bins: the default segment map is a 5 x 5 grid of R and FM scores, so "
        "bins = 4 needs its own [rfm.segment_map] covering scores 1..4 (or set bins = 5)"
    ]


def test_unknown_monetary_definition() -> None:
    assert problems({"monetary": "avg"}) == [
        "crm.toml: rfm.monetary: expected 'total' (spend before the analysis date) or 'average' "
        "(spend per purchase), got 'avg'"
    ]


def test_thresholds_need_bins_minus_one_increasing_cut_points() -> None:
    assert problems({"thresholds": {"recency": [30, 90, 180], "monetary": [10, 5, 20, 30]}}) == [
        "crm.toml: rfm.thresholds.recency: expected 4 strictly increasing numbers (bins - 1 cut "
        "points for bins = 5), got [30.0, 90.0, 180.0]",
        "crm.toml: rfm.thresholds.monetary: expected 4 strictly increasing numbers (bins - 1 cut "
        "points for bins = 5), got [10.0, 5.0, 20.0, 30.0]",
    ]


def test_unknown_keys_are_errors() -> None:
    assert problems({"thresholds": {"recncy": [1, 2, 3, 4]}}) == [
        "crm.toml: rfm.thresholds: unknown key 'recncy' (expected one of: recency, frequency, "
        "monetary)"
    ]


def test_several_problems_are_reported_together() -> None:
    assert problems({"bins": 1, "monetary": "median"}) == [
        "crm.toml: rfm.bins: expected an integer from 2 to 10 (score levels 1..bins), got 1",
        "crm.toml: rfm.monetary: expected 'total' (spend before the analysis date) or 'average' "
        "(spend per purchase), got 'median'",
    ]


def test_custom_map_for_three_bins() -> None:
    got = options({"bins": 3, "segment_map": SMALL_MAP})
    grid = make_segment_map(got)
    assert grid.inputs == ("rfm.r", "rfm.f")
    assert [grid.segment_at(r, 1).name for r in (3, 2, 1)] == ["Active", "Gone", "Gone"]
    assert grid.segment_at(2, 3).name == "Lapsing"


def test_custom_map_problems_name_their_key_paths() -> None:
    broken = {
        "axes": ["rfm.r", "rfm.f"],
        "segments": [
            {"name": "Active", "cells": ["3:*", "3-"]},
            {"name": "Lapsing", "cells": ["1-2:2-3", "2:1"]},
            {"name": "Gone", "cells": ["1-2:1"]},
        ],
    }
    assert problems({"bins": 3, "segment_map": broken}) == [
        "crm.toml: rfm.segment_map.segments[0].cells[1]: expected one part per axis (R:F), each a "
        "score, an inclusive range a-b or *, such as '5:4-5'; got '3-'",
        "crm.toml: rfm.segment_map: cell R=2 F=1 is claimed by both 'Lapsing' and 'Gone'",
    ]


def test_custom_map_must_fit_the_bins() -> None:
    # With bins = 2, "3:*" and "1-2:2-3" fall outside the grid, so Active and Lapsing get no
    # cell and the two F=2 cells get no segment; "1-2:1" (Gone) still fits.
    assert problems({"bins": 2, "segment_map": SMALL_MAP}) == [
        "crm.toml: rfm.segment_map: cells R=1 F=2, R=2 F=2 get no segment",
        "crm.toml: rfm.segment_map: segment 'Active' is unreachable: its cell '3:*' is outside "
        "the grid 1..2",
        "crm.toml: rfm.segment_map: segment 'Lapsing' is unreachable: its cell '1-2:2-3' is "
        "outside the grid 1..2",
    ]


def test_custom_map_axes_are_rfm_scores() -> None:
    wrong = {**SMALL_MAP, "axes": ["rfm.r", "rfm.monetary"]}
    assert problems({"bins": 3, "segment_map": wrong}) == [
        "crm.toml: rfm.segment_map.axes: expected axes among rfm.r, rfm.f, rfm.m, rfm.fm (RFM "
        "scores 1..3), got ['rfm.r', 'rfm.monetary']"
    ]
