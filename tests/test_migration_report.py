"""The core report "Segment migration": a heat map per segmentation from the earlier run (the
one `crm segments diff` picks), over two hand-made runs counted by hand."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Engine

from crm.core.config import parse_config
from crm.core.project import Project
from crm.core.report_model import Figure
from tests.run_factory import hand_made_result, store
from tests.test_segment_migration import SEGMENTS, two_runs


def _project(engine: Engine, min_group_size: int) -> Project:
    config = parse_config(
        {"plugins": {"enabled": []}, "reports": {"min_group_size": min_group_size}}
    )
    return Project(config, engine=engine)


def test_the_migration_heat_map_counts_each_cell_by_hand(engine: Engine) -> None:
    a, b = two_runs(engine)
    document = _project(engine, 1).report(("migration",), run_id=b)
    (section,) = document.sections
    assert section.title == "Segment migration"
    (figure,) = section.figures
    assert isinstance(figure, Figure) and figure.kind == "heatmap"
    assert figure.categories == ("Champions", "At Risk", "Lost", "(none)", "(gone)")
    assert [s.name for s in figure.series] == [*SEGMENTS, "(none)", "(new)"]
    # the same hand count as crm segments diff: run A (2025-01-01) -> run B (2025-07-01)
    assert [list(s.values) for s in figure.series] == [
        [1, 1, 0, 0, 1],  # c1 stayed, c2 -> At Risk, c6 left
        [0, 1, 0, 0, 0],  # c3 stayed
        [1, 0, 0, 0, 0],  # c4 -> Champions
        [0, 0, 1, 0, 0],  # c5 had no segment, now Lost
        [1, 0, 0, 0, 0],  # c7 entered
    ]
    assert f"run {a} (as of 2025-01-01)" in section.blocks[0].text  # type: ignore[union-attr]


def test_small_cells_are_hidden_and_empty_ones_stay(engine: Engine) -> None:
    _a, b = two_runs(engine)
    (section,) = _project(engine, 2).report(("migration",), run_id=b).sections
    champions = section.figures[0].series[0]
    assert champions.values == (None, None, 0.0, 0.0, None)
    assert champions.hidden == ("<2", "<2", "", "", "<2")


def test_without_an_earlier_run_the_whole_report_has_no_migration(engine: Engine) -> None:
    only = store(engine, hand_made_result(date(2025, 1, 1), [1], {"rfm": (SEGMENTS, [0])}))
    project = _project(engine, 1)
    assert project.report(("migration",), run_id=only).sections == ()
    # a later run: now the whole report (every in-document report) has the section
    later = store(engine, hand_made_result(date(2025, 2, 1), [1], {"rfm": (SEGMENTS, [1])}))
    titles = [s.title for s in project.report((), run_id=later).sections]
    assert "Segment migration" in titles
