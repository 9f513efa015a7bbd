"""The shipped map is the issue's 11-segment recency x FM grid, cell by cell."""

from __future__ import annotations

import pytest
from crm_rfm import default_segment_map

# Rows R=5..1, columns FM=1..5, copied from the issue.
GRID = {
    5: ["Recent Customers", "Potential Loyalist", "Loyal Customers", "Champions", "Champions"],
    4: ["Promising", "Potential Loyalist", "Potential Loyalist", "Loyal Customers", "Champions"],
    3: ["Promising", "Need Attention", "Potential Loyalist", "Loyal Customers", "Loyal Customers"],
    2: ["About To Sleep", "Need Attention", "Need Attention", "At Risk", "At Risk"],
    1: ["Lost", "Hibernating", "At Risk", "Cannot Lose Them", "Cannot Lose Them"],
}
CELLS = [(r, fm, GRID[r][fm - 1]) for r in GRID for fm in range(1, 6)]


@pytest.mark.parametrize(("r", "fm", "segment"), CELLS, ids=[f"R{r}-FM{fm}" for r, fm, _ in CELLS])
def test_every_cell_of_the_default_grid(r: int, fm: int, segment: str) -> None:
    assert default_segment_map().segment_at(r, fm).name == segment


def test_eleven_segments_in_display_order_each_with_description_and_action() -> None:
    grid = default_segment_map()
    assert grid.axes == ("rfm.r", "rfm.fm")
    assert grid.levels == (5, 5)
    assert [s.name for s in grid.segments] == [
        "Champions",
        "Loyal Customers",
        "Potential Loyalist",
        "Recent Customers",
        "Promising",
        "Need Attention",
        "About To Sleep",
        "At Risk",
        "Cannot Lose Them",
        "Hibernating",
        "Lost",
    ]
    assert all(s.description and s.action for s in grid.segments)
