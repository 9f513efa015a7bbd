"""Explaining a segmentation: the rfm segment map and this run's cut points."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from crm.cli import cli
from crm.cli.app import App
from crm.cli.explain_command import explain, explain_segmentation
from crm.core.config import parse_config
from crm.core.errors import ConfigError
from crm.core.project import Project

# Ten customers with 1..10 purchases of 10.00 each, the last one on day d of March 2024: with
# quantile scores over 5 bins, customer k (k purchases) gets F = 1 + floor(5 * (k - 1) / 10).
PURCHASES = [
    (f"c{k:02}", f"2024-03-{day:02}T10:00:00", "10.00")
    for k in range(1, 11)
    for day in range(1, k + 1)
]


def _project(tmp_path: Path) -> Project:
    config = parse_config(
        {
            "database": {"url": f"sqlite:///{tmp_path / 'crm.db'}"},
            "plugins": {"enabled": ["rfm"]},
            "reports": {"min_group_size": 1},
        }
    )
    return Project(config)


def test_rfm_is_explained_by_its_map_and_the_cut_points_of_the_run(
    tmp_path: Path, seed: Any
) -> None:
    project = _project(tmp_path)
    seed(project.engine, PURCHASES)
    document = explain_segmentation(project, "rfm")
    assert [s.title for s in document.sections] == ["RFM segment map", "Cut points"]
    segment_map = document.sections[0].tables[0]
    champions = next(row for row in segment_map.rows if row[0] == "Champions")
    assert champions[1] == "R=4 FM=5; R=5 FM=4; R=5 FM=5"
    cut_points = document.sections[1].tables[0]
    frequency = [row for row in cut_points.rows if row[0] == "F"]
    # F=1: 1-2 purchases, F=2: 3-4, ... F=5: 9-10 (two customers each)
    assert [(row[1], row[2], row[3], row[4]) for row in frequency] == [
        (1, 2, 1, 2),
        (2, 2, 3, 4),
        (3, 2, 5, 6),
        (4, 2, 7, 8),
        (5, 2, 9, 10),
    ]


def test_an_unexplained_segmentation_is_a_config_error(tmp_path: Path, seed: Any) -> None:
    project = _project(tmp_path)
    seed(project.engine, PURCHASES)
    with pytest.raises(ConfigError, match="no enabled plugin explains segmentation 'region'"):
        explain_segmentation(project, "region")


def test_the_explain_command_prints_json_tables(tmp_path: Path, seed: Any) -> None:
    (tmp_path / "crm.toml").write_text(
        '[plugins]\nenabled = ["rfm"]\n[reports]\nmin_group_size = 1\n'
    )
    project = _project(tmp_path)
    seed(project.engine, PURCHASES)
    project.close()
    app = App(config_path=tmp_path / "crm.toml")
    result = CliRunner().invoke(explain, ["rfm", "-f", "json"], obj=app)
    assert result.exit_code == 0, result.output
    tables = json.loads(result.stdout)
    assert set(tables) == {"rfm-explain.segment_map", "rfm-explain.cut_points"}
    report = CliRunner().invoke(cli, ["report", "rfm-explain", "-f", "csv"], obj=app)
    assert report.exit_code == 2  # two tables: CSV needs --table
    assert "pick one with --table" in report.stderr
