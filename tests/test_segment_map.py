"""Score-grid segment maps: load-time checks (exhaustive, exclusive, reachable) and lookup."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pytest

from crm.core.errors import ConfigError
from crm.core.segment_map import SegmentMap, SegmentMapError

AXES = ["rfm.r", "rfm.fm"]


class Cols(dict[str, Any]):
    """The smallest `Columns`: named arrays of one length."""

    def __len__(self) -> int:
        return len(next(iter(self.values())))


def load(segments: list[dict[str, Any]], *, axes: list[str] = AXES, levels: Any = 5) -> SegmentMap:
    return SegmentMap.from_toml(
        {"axes": axes, "segments": segments},
        levels=levels,
        source="crm.toml",
        key_path="rfm.segment_map",
    )


def problems(segments: list[dict[str, Any]], **kwargs: Any) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load(segments, **kwargs)
    return list(info.value.lines)


# The widely copied 11-segment RFM table (results.md section 7): R range, "F&M" range.
PUBLISHED_TABLE = [
    ("Champions", "4-5:4-5"),
    ("Loyal Customers", "2-5:3-5"),
    ("Potential Loyalist", "3-5:1-3"),
    ("New Customers", "4-5:1"),
    ("Promising", "3-4:1"),
    ("Need Attention", "2-3:2-3"),
    ("About To Sleep", "2-3:1-2"),
    ("At Risk", "1-2:2-5"),
    ("Can't Lose Them", "1:4-5"),
    ("Hibernating", "1-2:1-2"),
    ("Lost", "1-2:1-2"),
]


def test_published_rfm_table_fails_exclusivity_and_leaves_segments_without_a_cell() -> None:
    lines = problems([{"name": name, "cells": [cells]} for name, cells in PUBLISHED_TABLE])
    prefix = "crm.toml: rfm.segment_map: "
    # Counted by hand on the 5 x 5 grid: only R=1 FM=3, R=3 FM=4, R=3 FM=5, R=4 FM=2 and
    # R=5 FM=2 have a single claimant; the other 20 cells are claimed two to five times.
    overlaps = [line for line in lines if " is claimed by " in line]
    assert len(overlaps) == 20
    assert prefix + "cell R=1 FM=1 is claimed by both 'Hibernating' and 'Lost'" in lines
    assert (
        prefix + "cell R=5 FM=1 is claimed by both 'Potential Loyalist' and 'New Customers'"
        in lines
    )
    assert (
        prefix + "cell R=4 FM=1 is claimed by 'Potential Loyalist', 'New Customers' and 'Promising'"
        in lines
    )
    assert (
        prefix + "cell R=2 FM=2 is claimed by 'Need Attention', 'About To Sleep', 'At Risk', "
        "'Hibernating' and 'Lost'" in lines
    )
    # Every cell has at least one claimant: the table is exhaustive, just not exclusive.
    assert not [line for line in lines if "no segment" in line]
    # Segments every one of whose cells is contested: first-match in the published order
    # swallows four of them (New Customers, Promising, Can't Lose Them, Lost), and no
    # resolution can keep both Hibernating and Lost on identical ranges.
    without_own_cell = [
        line.removeprefix(prefix).split(" has no cell of its own")[0]
        for line in lines
        if "has no cell of its own" in line
    ]
    assert without_own_cell == [
        "segment 'Champions'",
        "segment 'New Customers'",
        "segment 'Promising'",
        "segment 'Need Attention'",
        "segment 'About To Sleep'",
        'segment "Can\'t Lose Them"',
        "segment 'Hibernating'",
        "segment 'Lost'",
    ]
    assert (
        prefix + "segment 'New Customers' has no cell of its own: each of its cells is also "
        "claimed by 'Potential Loyalist' and 'Promising'" in lines
    )


def test_gaps_are_listed_cell_by_cell() -> None:
    lines = problems(
        [
            {"name": "Top", "cells": ["2-5:*"]},
            {"name": "Low", "cells": ["1:1-2", "1:5"]},
        ]
    )
    assert lines == ["crm.toml: rfm.segment_map: cells R=1 FM=3, R=1 FM=4 get no segment"]


def test_a_single_gap_is_named_in_the_singular() -> None:
    lines = problems([{"name": "Most", "cells": ["2-5:*", "1:2-5"]}])
    assert lines == ["crm.toml: rfm.segment_map: cell R=1 FM=1 gets no segment"]


def test_overlap_names_the_cell_and_both_segments() -> None:
    lines = problems(
        [
            {"name": "Promising", "cells": ["3-4:1"]},
            {"name": "New Customers", "cells": ["4-5:1"]},
            {"name": "Rest", "cells": ["3:2-5", "4:2-5", "5:2-5", "1-2:*"]},
        ]
    )
    assert lines == [
        "crm.toml: rfm.segment_map: cell R=4 FM=1 is claimed by both 'Promising' and "
        "'New Customers'"
    ]


def test_segment_with_cells_outside_the_grid_is_unreachable() -> None:
    lines = problems(
        [
            {"name": "All", "cells": ["*:*"]},
            {"name": "Lost", "cells": ["6:1", "0:1-2"]},
        ]
    )
    assert lines == [
        "crm.toml: rfm.segment_map: segment 'Lost' is unreachable: its cells '6:1', '0:1-2' are "
        "outside the grid 1..5"
    ]


def test_segment_without_cells_is_unreachable() -> None:
    lines = problems([{"name": "All", "cells": ["*:*"]}, {"name": "Ghost", "cells": []}])
    assert lines == [
        "crm.toml: rfm.segment_map: segment 'Ghost' is unreachable: it has no valid cell"
    ]


def test_one_cell_outside_the_grid_is_named_even_when_the_segment_has_others() -> None:
    lines = problems([{"name": "All", "cells": ["*:*", "5:6"]}])
    assert lines == [
        "crm.toml: rfm.segment_map: segment 'All': cell '5:6' is outside the grid 1..5"
    ]


@pytest.mark.parametrize("pattern", ["x", "5", "5:4:3", "5-:1", "4-2:1", "a:*", ""])
def test_malformed_pattern_names_its_key_path_and_the_expected_form(pattern: str) -> None:
    lines = problems([{"name": "All", "cells": ["*:*", pattern]}])
    assert lines == [
        "crm.toml: rfm.segment_map.segments[0].cells[1]: expected one part per axis (R:FM), each "
        f"a score, an inclusive range a-b or *, such as '5:4-5'; got {pattern!r}"
    ]


def test_shape_problems_name_their_keys() -> None:
    lines = problems(
        [
            {"name": "All", "cells": ["*:*"], "colour": "red"},
            {"name": "All", "cells": "1:1"},
            {"cells": ["1:1"], "action": 3},
        ]
    )
    assert lines[:4] == [
        "crm.toml: rfm.segment_map.segments[0]: unknown key 'colour' (expected one of: name, "
        "description, action, cells)",
        "crm.toml: rfm.segment_map.segments[1].name: segment 'All' is defined twice; list all its "
        "cells in one entry",
        "crm.toml: rfm.segment_map.segments[2].name: expected a segment name (a non-empty string), "
        "got None",
        "crm.toml: rfm.segment_map.segments[2].action: expected a string, got 3",
    ]


def test_missing_axes_and_segments_are_reported() -> None:
    with pytest.raises(SegmentMapError) as info:
        SegmentMap.from_toml({"axis": []}, levels=5, source="crm.toml", key_path="rfm.segment_map")
    assert info.value.lines == (
        "crm.toml: rfm.segment_map: unknown key 'axis' (expected one of: axes, segments)",
        "crm.toml: rfm.segment_map.axes: expected a non-empty list of metric names such as "
        '["rfm.r", "rfm.fm"], got None',
        "crm.toml: rfm.segment_map.segments: expected a non-empty list of [[segments]] tables, "
        "each with name, description, action and cells; got None",
    )
    # The same problems as (path inside the map, message) pairs, for plugins' own key paths.
    assert info.value.problems[1][0] == "axes"


def test_lookup_matches_the_grid_and_nan_gets_no_segment() -> None:
    grid = load(
        [
            {"name": "Best", "description": "top right", "action": "keep", "cells": ["4-5:4-5"]},
            {"name": "Recent", "cells": ["4-5:1-3"]},
            {"name": "Old", "cells": ["1-3:*"]},
        ]
    )
    assert grid.segments[0].description == "top right"
    assert grid.inputs == ("rfm.r", "rfm.fm")
    assert grid.segment_at(5, 5).name == "Best"
    assert grid.segment_at(4, 3).name == "Recent"
    assert grid.segment_at(1, 5).name == "Old"
    assert grid.cells_of("Best") == ((4, 4), (4, 5), (5, 4), (5, 5))
    columns = Cols(
        {
            "rfm.r": np.array([5.0, 4.0, 3.0, 1.0, np.nan, 2.0]),
            "rfm.fm": np.array([4.0, 1.0, 5.0, 1.0, 3.0, np.nan]),
        }
    )
    assert grid.assign(columns).tolist() == [0, 1, 2, 2, -1, -1]


def test_three_axes_with_different_ranges() -> None:
    grid = load(
        [{"name": "High", "cells": ["3:*:2"]}, {"name": "Other", "cells": ["1-2:*:*", "3:*:1"]}],
        axes=["a.x", "a.y", "a.z"],
        levels=[3, 4, 2],
    )
    assert grid.grid_text() == "X 1..3 x Y 1..4 x Z 1..2"
    columns = Cols(
        {
            "a.x": np.array([3.0, 3.0, 2.0]),
            "a.y": np.array([4.0, 1.0, 4.0]),
            "a.z": np.array([2.0, 1.0, 2.0]),
        }
    )
    assert grid.assign(columns).tolist() == [0, 1, 1]


def test_assign_refuses_scores_outside_the_grid() -> None:
    grid = load([{"name": "All", "cells": ["*:*"]}])
    columns = Cols({"rfm.r": np.array([1.0, 6.0]), "rfm.fm": np.array([1.0, 1.0])})
    with pytest.raises(ValueError, match=re.escape("'rfm.r' holds 6.0, which is not a score 1..5")):
        grid.assign(columns)
