"""The rfm report sections from scores set by hand: grid counts, distributions, cut points.

Ten customers k = 1..10: scores R = F = M = 1 + floor((k - 1) / 2) (two customers per score),
so FM = F and every customer sits on the grid's diagonal, two per cell. Recency 11 - k days,
frequency k purchases, monetary 10.00 * k.
"""

from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import numpy as np
from crm_rfm import RfmOptions, default_segment_map
from crm_rfm.report import cut_points_table, distribution_section, grid_section

from crm.core.report_model import Document, RunHeader
from crm.core.small_groups import suppress_document

K = np.arange(1, 11, dtype=np.float64)
SCORE = 1 + np.floor((K - 1) / 2)
RUN: Any = SimpleNamespace(
    scores={
        "rfm.recency": 11 - K,
        "rfm.frequency": K,
        "rfm.monetary": 1000 * K,
        "rfm.r": SCORE,
        "rfm.f": SCORE,
        "rfm.m": SCORE,
        "rfm.fm": SCORE,
    }
)


def test_the_grid_counts_customers_per_cell_with_the_cell_segment() -> None:
    section = grid_section(RUN, default_segment_map())
    (figure,) = section.figures
    assert figure.kind == "heatmap"
    rows = {series.name: series.values for series in figure.series}
    assert list(rows) == ["R 5", "R 4", "R 3", "R 2", "R 1"]  # best recency on top
    assert rows["R 5"] == (0, 0, 0, 0, 2)
    assert rows["R 3"] == (0, 0, 2, 0, 0)
    assert rows["R 1"] == (2, 0, 0, 0, 0)
    assert figure.series[0].labels[4] == "Champions"  # R 5, FM 5
    assert figure.series[4].labels[0] == "Lost"  # R 1, FM 1
    table = section.tables[0]
    assert sum(row[3] for row in table.rows) == 10
    assert (5, 5, "Champions", 2) in table.rows


def test_cells_of_two_customers_are_hidden_below_a_min_group_size_of_five() -> None:
    document = Document(
        title="t",
        header=RunHeader(as_of="2024-03-11", config_hash="", plugins={}, run_id=None, customers=10),
        sections=(grid_section(RUN, default_segment_map()),),
    )
    (figure,) = suppress_document(document, 5).sections[0].figures
    assert figure.series[0].values == (0, 0, 0, 0, None)
    assert figure.series[0].hidden == ("", "", "", "", "<5")


def test_each_score_holds_two_customers() -> None:
    section = distribution_section(RUN, 5)
    assert [f.title for f in section.figures] == [
        "R (recency) scores",
        "F (frequency) scores",
        "M (monetary) scores",
    ]
    for figure in section.figures:
        assert figure.series[0].values == (2, 2, 2, 2, 2)
        assert figure.series[0].customers == (2, 2, 2, 2, 2)


def test_cut_points_are_the_raw_ranges_of_each_score() -> None:
    rows = {(row[0], row[1]): row[2:] for row in cut_points_table(RUN, 5).rows}
    # (customers, from, to, unit). R 5: k = 9, 10, recency 1..2 days; F 1: k = 1, 2 purchases;
    # M 5: k = 9, 10, 90.00 .. 100.00
    assert rows[("R", 5)] == (2, 1, 2, "days")
    assert rows[("F", 1)] == (2, 1, 2, "purchases")
    assert rows[("M", 5)] == (2, Decimal("90.00"), Decimal("100.00"), "money")
    assert RfmOptions().bins == 5
