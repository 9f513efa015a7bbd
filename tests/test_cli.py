"""The command line through click's CliRunner: output contract, exit codes, errors."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from crm.cli import cli
from crm.cli.app import App
from crm.core.config import load_config
from crm.core.database import ensure_schema, make_engine
from tests.conftest import BigSpendersPlugin, SpendPlugin

PURCHASES = [
    ("a", "2024-03-01T10:00:00", "150.00"),
    ("b", "2024-03-02T10:00:00", "20.00"),
    ("b", "2024-03-03T10:00:00", "30.50"),
    ("c", "2024-03-03T11:00:00", "99.99"),
]


@pytest.fixture
def project_dir(tmp_path: Path, seed: Any) -> Path:
    (tmp_path / "crm.toml").write_text("[plugins]\nenabled = []\n")
    engine = make_engine(f"sqlite:///{tmp_path / 'crm.db'}")
    ensure_schema(engine)
    seed(engine, PURCHASES, {"a": {"country": "GB"}})
    engine.dispose()
    return tmp_path


def invoke(project_dir: Path, *args: str) -> Any:
    app = App(
        config_path=project_dir / "crm.toml",
        extra_plugins=(("spend", SpendPlugin()), ("size", BigSpendersPlugin())),
    )
    return CliRunner().invoke(cli, list(args), obj=app)


def test_segment_json_is_one_object_per_segment(project_dir: Path) -> None:
    result = invoke(project_dir, "segment", "--format", "json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [(r["segmentation"], r["segment"], r["customers"], r["share"]) for r in rows] == [
        ("size", "Big", 1, 0.3333),
        ("size", "Small", 2, 0.6667),
    ]
    assert rows[0]["revenue"] == 150.0
    assert rows[0]["description"] == "spent 100 or more"


def test_segment_customers_csv_has_a_column_per_segmentation_and_metric(project_dir: Path) -> None:
    result = invoke(project_dir, "segment", "--customers", "--format", "csv")
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert rows == [
        {"customer_id": "a", "size": "Big", "spend.total": "150.00"},
        {"customer_id": "b", "size": "Small", "spend.total": "50.50"},
        {"customer_id": "c", "size": "Small", "spend.total": "99.99"},
    ]


def test_segment_stores_the_run_and_reports_on_stderr(project_dir: Path) -> None:
    result = invoke(project_dir, "segment", "--format", "csv")
    assert "3 customers as of 2024-03-04, stored as run 1" in result.stderr
    assert "customers as of" not in result.stdout
    again = invoke(project_dir, "segment", "--no-store", "--format", "csv")
    assert "not stored" in again.stderr


def test_segment_as_of_excludes_later_interactions(project_dir: Path) -> None:
    result = invoke(project_dir, "segment", "--customers", "--as-of", "2024-03-03", "-f", "json")
    rows = {r["customer_id"]: r for r in json.loads(result.stdout)}
    assert rows["b"]["spend.total"] == 20.0
    assert rows["c"]["spend.total"] is None or rows["c"]["spend.total"] == 0.0


def test_segment_output_file(project_dir: Path) -> None:
    out = project_dir / "out.json"
    result = invoke(project_dir, "segment", "-f", "json", "--output", str(out))
    assert result.exit_code == 0
    assert result.stdout == ""
    assert len(json.loads(out.read_text())) == 2


def test_table_format_shows_segments(project_dir: Path) -> None:
    result = invoke(project_dir, "segment")
    assert result.exit_code == 0
    assert "Big" in result.stdout
    assert "Small" in result.stdout


def test_bad_as_of_is_a_usage_error(project_dir: Path) -> None:
    result = invoke(project_dir, "segment", "--as-of", "03/04/2024")
    assert result.exit_code == 2
    assert "expected a date as YYYY-MM-DD" in result.output


def test_missing_config_exits_2_and_suggests_init(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["segment"], obj=App(config_path=tmp_path / "crm.toml"))
    assert result.exit_code == 2
    assert "crm init" in result.stderr
    assert "Traceback" not in result.output


def test_broken_config_names_the_key(tmp_path: Path) -> None:
    (tmp_path / "crm.toml").write_text("[plugins]\nenabled = 'rfm'\n")
    result = CliRunner().invoke(cli, ["segment"], obj=App(config_path=tmp_path / "crm.toml"))
    assert result.exit_code == 2
    assert "crm.toml: plugins.enabled: expected a list of strings" in result.stderr


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    app = App(config_path=tmp_path / "crm.toml", debug=True)
    result = CliRunner().invoke(cli, ["segment"], obj=app)
    assert result.exit_code != 0
    assert result.exception is not None


def test_init_writes_a_config_that_loads_and_refuses_to_overwrite(tmp_path: Path) -> None:
    runner = CliRunner()
    first = runner.invoke(cli, ["init", str(tmp_path)], obj=App(config_path=tmp_path / "x.toml"))
    assert first.exit_code == 0, first.output
    config = load_config(tmp_path / "crm.toml")
    assert config.database.url == "sqlite:///crm.db"
    second = runner.invoke(cli, ["init", str(tmp_path)], obj=App(config_path=tmp_path / "x.toml"))
    assert second.exit_code == 1
    assert "already exists" in second.stderr


def test_customers_show_profile_with_segments_and_scores(project_dir: Path) -> None:
    assert invoke(project_dir, "segment", "-f", "json").exit_code == 0
    result = invoke(project_dir, "customers", "show", "a", "--format", "json")
    assert result.exit_code == 0, result.output
    profile = json.loads(result.stdout)
    assert profile["customer_id"] == "a"
    assert profile["attributes"]["country"] == "GB"
    assert profile["segments"] == {"size": "Big"}
    assert profile["scores"] == {"spend.total": 150.0}  # money, shown in currency units
    assert profile["last_interactions"][0]["amount"] == 150.0


def test_customers_show_unknown_id_exits_5(project_dir: Path) -> None:
    result = invoke(project_dir, "customers", "show", "nobody")
    assert result.exit_code == 5
    assert "no customer with id 'nobody'" in result.stderr


def test_plugins_lists_the_extra_plugins_as_enabled(project_dir: Path) -> None:
    result = invoke(project_dir, "plugins", "--format", "json")
    assert result.exit_code == 0, result.output
    rows = {r["name"]: r for r in json.loads(result.stdout)}
    assert rows["spend"]["enabled"] is True
    assert rows["spend"]["hooks"] == ["register_scorers"]


def test_report_lists_the_registered_reports(project_dir: Path) -> None:
    result = invoke(project_dir, "report", "--format", "json")
    assert result.exit_code == 0, result.output
    assert {(r["report"], r["plugin"]) for r in json.loads(result.stdout)} == {
        ("segments", "crm"),
        ("migration", "crm"),
        ("customers", "crm"),
    }


def test_report_segments_matches_the_segment_summary(project_dir: Path) -> None:
    # Every group here is smaller than the default min_group_size of 5: show them all.
    (project_dir / "crm.toml").write_text(
        "[plugins]\nenabled = []\n[reports]\nmin_group_size = 1\n"
    )
    report = invoke(project_dir, "report", "segments", "-f", "json")
    segment = invoke(project_dir, "segment", "--no-store", "-f", "json")
    assert report.exit_code == 0, report.output
    assert json.loads(report.stdout) == json.loads(segment.stdout)


def test_report_segments_hides_groups_below_min_group_size(project_dir: Path) -> None:
    # size: Big has 1 customer, Small 2; with min_group_size 2 only Big is hidden
    (project_dir / "crm.toml").write_text(
        "[plugins]\nenabled = []\n[reports]\nmin_group_size = 2\n"
    )
    report = invoke(project_dir, "report", "segments", "-f", "json")
    assert report.exit_code == 0, report.output
    rows = {r["segment"]: r for r in json.loads(report.stdout)}
    assert rows["Big"]["customers"] == "<2"
    assert rows["Big"]["revenue"] == "<2"
    assert rows["Big"]["description"] == "spent 100 or more"
    assert (rows["Small"]["customers"], rows["Small"]["revenue"]) == (2, 150.49)


def test_unknown_report_suggests_the_close_name(project_dir: Path) -> None:
    result = invoke(project_dir, "report", "segment")
    assert result.exit_code == 2
    assert "unknown report 'segment'; did you mean 'segments'?" in result.stderr


def test_an_unexpected_error_is_one_line_without_debug(tmp_path: Path) -> None:
    from crm import hookimpl

    class Broken:
        @hookimpl
        def segmentation_finished(self) -> None:
            raise RuntimeError("disk on fire")

    (tmp_path / "crm.toml").write_text(f'[database]\nurl = "sqlite:///{tmp_path / "c.db"}"\n')
    app = App(config_path=tmp_path / "crm.toml", extra_plugins=(("broken", Broken()),))
    result = CliRunner().invoke(cli, ["segment"], obj=app)
    assert result.exit_code == 3
    assert (
        "plugin 'broken': hook segmentation_finished failed: RuntimeError: disk on fire"
        in result.stderr
    )
    assert "Traceback" not in result.stderr


def test_a_bug_is_reported_in_one_line_and_debug_shows_it(
    project_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from crm.core.project import Project

    def explode(self: Project, **_: Any) -> None:
        raise KeyError("surprise")

    monkeypatch.setattr(Project, "segment", explode)
    result = invoke(project_dir, "segment")
    assert result.exit_code == 1
    assert "unexpected KeyError: 'surprise' (run with --debug for the traceback)" in result.stderr
    debug = CliRunner().invoke(
        cli, ["--debug", "segment"], obj=App(config_path=project_dir / "crm.toml")
    )
    assert isinstance(debug.exception, KeyError)


def test_demo_builds_a_project_and_prints_the_segments(tmp_path: Path) -> None:
    target = tmp_path / "demo"
    app = App(config_path=tmp_path / "unused.toml")
    result = CliRunner().invoke(
        cli, ["demo", str(target), "--customers", "300", "-f", "json"], obj=app
    )
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    rfm = [r for r in rows if r["segmentation"] == "rfm"]
    assert [r["segment"] for r in rfm][:2] == ["Champions", "Loyal Customers"]
    # the demo's own rule segmentations, plus those of the bundled plugins installed (funnel, ...)
    assert {r["segmentation"] for r in rows} >= {"rfm", "funnel", "region", "value", "clv_tier"}
    assert (target / "crm.toml").exists() and (target / "crm.db").exists()
    # Every customer once, "(none)" included, except those who refused profiling.
    with sqlite3.connect(target / "crm.db") as db:
        (refused,) = db.execute(
            "SELECT count(*) FROM customer WHERE NOT consent_profiling"
        ).fetchone()
    assert refused > 0
    # 300 drawn, plus 15 planted duplicates (5%) and 3 households (1%) for crm identify
    assert sum(r["customers"] for r in rfm) == 318 - refused
    config = load_config(target / "crm.toml")
    assert {"clv", "funnel", "rfm"} <= set(config.plugins.enabled)
    again = CliRunner().invoke(cli, ["demo", str(target)], obj=App(config_path=tmp_path / "x.toml"))
    assert again.exit_code == 1
    assert "already exists; use --force" in again.stderr


def test_a_long_table_is_plain_aligned_text() -> None:
    from crm.cli.output import RICH_MAX_ROWS, render
    from crm.core.components import Table

    rows = tuple((f"C{i}", i % 3 or None) for i in range(RICH_MAX_ROWS + 1))
    stream = io.StringIO()
    render(Table(columns=("customer_id", "score"), rows=rows, title="Many"), "table", stream)
    lines = stream.getvalue().splitlines()
    assert lines[:4] == [
        "Many",
        "customer_id  score",
        "-----------  -----",
        "C0",
    ]
    assert lines[5] == "C2           2"
    assert len(lines) == 3 + RICH_MAX_ROWS + 1


def test_runs_lists_stored_runs_newest_first_with_what_reproduces_them(project_dir: Path) -> None:
    invoke(project_dir, "segment", "-f", "json")
    invoke(project_dir, "segment", "--as-of", "2024-03-03", "-f", "json")
    invoke(project_dir, "segment", "--no-store", "-f", "json")
    result = invoke(project_dir, "runs", "--format", "json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [(r["run"], r["as_of"], r["customers"]) for r in rows] == [
        (2, "2024-03-03", 3),
        (1, "2024-03-04", 3),
    ]
    assert rows[0]["config_hash"] == rows[1]["config_hash"]
    assert "size unpackaged" in rows[0]["plugins"]


def test_config_check_accepts_a_valid_project_and_names_a_broken_one(tmp_path: Path) -> None:
    (tmp_path / "crm.toml").write_text('[plugins]\nenabled = ["rfm"]\n[rfm]\nbins = 5\n')
    ok = CliRunner().invoke(cli, ["config", "check"], obj=App(config_path=tmp_path / "crm.toml"))
    assert ok.exit_code == 0, ok.output
    assert "segmentations: rfm" in ok.stderr
    (tmp_path / "crm.toml").write_text('[plugins]\nenabled = ["rfm"]\n[rfm]\nbins = 4\n')
    bad = CliRunner().invoke(cli, ["config", "check"], obj=App(config_path=tmp_path / "crm.toml"))
    assert bad.exit_code == 2
    assert "crm.toml: rfm.bins: the default segment map is a 5 x 5 grid" in bad.stderr


def test_config_show_prints_the_defaults_and_reads_back_the_same(tmp_path: Path) -> None:
    (tmp_path / "crm.toml").write_text('[plugins]\nenabled = ["rfm"]\n')
    shown = CliRunner().invoke(cli, ["config", "show"], obj=App(config_path=tmp_path / "crm.toml"))
    assert shown.exit_code == 0, shown.output
    assert '[rfm]\nbins = 5\nmonetary = "total"\n' in shown.stdout
    (tmp_path / "shown.toml").write_text(shown.stdout)
    again = CliRunner().invoke(
        cli, ["config", "show"], obj=App(config_path=tmp_path / "shown.toml")
    )
    assert again.stdout == shown.stdout


def test_where_keeps_only_the_customers_of_a_segment(project_dir: Path) -> None:
    result = invoke(project_dir, "segment", "--customers", "--where", "size=Small", "-f", "csv")
    assert result.exit_code == 0, result.output
    assert [r["customer_id"] for r in csv.DictReader(io.StringIO(result.stdout))] == ["b", "c"]
    both = invoke(
        project_dir,
        "segment",
        "--customers",
        "--where",
        "size=Small",
        "--where",
        "size=Big",
        "-f",
        "json",
    )
    assert len(json.loads(both.stdout)) == 3
    unknown = invoke(project_dir, "segment", "--customers", "--where", "size=Huge")
    assert unknown.exit_code == 2
    assert "no segment 'Huge' of segmentation 'size'; known: Big, Small" in unknown.stderr
    alone = invoke(project_dir, "segment", "--where", "size=Big")
    assert alone.exit_code == 2
    assert "use it with --customers" in alone.output
