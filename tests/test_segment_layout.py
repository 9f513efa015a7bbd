"""`crm segment` for people at 80 columns, on the demo data: nothing wider, nothing split."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from crm.cli import cli
from crm.cli.app import App
from crm.cli.terminal import bar


def _segment(directory: Path, *args: str, columns: str | None = "80") -> str:
    app = App(config_path=directory / "crm.toml")
    env = {"COLUMNS": columns}
    result = CliRunner().invoke(cli, ["segment", "--no-store", *args], obj=app, env=env)
    assert result.exit_code == 0, result.output
    return result.stdout


@pytest.mark.parametrize("columns", ["80", None], ids=["COLUMNS=80", "piped"])
def test_the_summary_fits_80_columns_with_every_segment_on_one_line(
    demo_dir: Path, columns: str | None
) -> None:
    text = _segment(demo_dir, columns=columns)
    lines = text.splitlines()
    assert max(len(line.rstrip()) for line in lines) <= 80
    rows = json.loads(_segment(demo_dir, "-f", "json"))
    for row in rows:
        # the segment's name, its customer count and its share, whole, on one line
        share = f"{100 * row['share']:.1f}%"
        expected = (row["segment"], f"{row['customers']:,}", share)
        assert any(all(part in line for part in expected) for line in lines), expected
    # 19 segments in 3 segmentations: a screenful of summary plus the meanings, not 231 lines
    assert len([line for line in lines if "%" in line]) == len(rows)


def test_the_summary_shows_the_rfm_means_at_80_columns(demo_dir: Path) -> None:
    text = _segment(demo_dir)
    lines = text.splitlines()
    # the header of the rfm block (the funnel's stage block comes first since crm-funnel ships)
    rfm_block = lines[next(i for i, line in enumerate(lines) if line.startswith("rfm:")) :]
    header = next(line for line in rfm_block if "recency" in line)
    assert "frequency" in header and "monetary" in header


def test_descriptions_and_actions_follow_and_wide_has_every_column(demo_dir: Path) -> None:
    text = _segment(demo_dir)
    assert "rfm: what the segments mean" in text
    assert "Reward them" in text  # the Champions action of the default map
    wide = _segment(demo_dir, "--wide", columns="500")
    assert "description" in wide and "mean rfm.monetary" in wide


def test_csv_keeps_every_column(demo_dir: Path) -> None:
    header = _segment(demo_dir, "-f", "csv").splitlines()[0]
    assert header.startswith("segmentation,segment,customers,share,revenue,revenue_share,")
    assert header.endswith(",description,action")


@pytest.mark.parametrize(
    ("fraction", "drawn"), [(1.0, "██████"), (0.5, "███   "), (0.0, "      "), (1 / 48, "▏     ")]
)
def test_bars_are_drawn_in_eighths_of_a_cell(fraction: float, drawn: str) -> None:
    assert bar(fraction) == drawn


def test_the_segments_and_rfm_reports_fit_80_columns(demo_dir: Path) -> None:
    app = App(config_path=demo_dir / "crm.toml")
    result = CliRunner().invoke(cli, ["report", "segments", "rfm"], obj=app, env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert max(len(line.rstrip()) for line in lines) <= 80
    for title in ("Segments", "RFM grid", "Score distributions", "Cut points"):
        assert any(line.startswith(f"{title} ─") for line in lines), title


def test_report_on_a_stored_run_matches_the_run(demo_dir: Path) -> None:
    """`crm demo` stored run 1; `--run 1` reports it (once run storage can load runs back)."""
    app = App(config_path=demo_dir / "crm.toml")
    result = CliRunner().invoke(cli, ["report", "segments", "--run", "1", "-f", "json"], obj=app)
    if not hasattr(app.project, "load_run"):
        assert result.exit_code == 1
        assert "cannot load a stored run yet" in result.stderr
        return
    assert result.exit_code == 0, result.output
    fresh = json.loads(_segment(demo_dir, "-f", "json"))  # same data, same analysis date
    shown = {(r["segmentation"], r["segment"]): r["customers"] for r in json.loads(result.stdout)}
    for row in fresh:
        expected = row["customers"] if not 0 < row["customers"] < 5 else "<5"
        assert shown[(row["segmentation"], row["segment"])] == expected


def test_the_demo_prints_what_crm_segment_prints_inside_80_columns(tmp_path: Path) -> None:
    target = tmp_path / "demo"
    made = CliRunner().invoke(
        cli,
        ["demo", str(target), "--customers", "400"],
        obj=App(config_path=tmp_path / "unused.toml"),
        env={"COLUMNS": "80"},
    )
    assert made.exit_code == 0, made.output
    lines = made.stdout.splitlines()
    assert max(len(line.rstrip()) for line in lines) <= 80
    # the compact layout: a title line per segmentation, not one wide table
    assert any(line.startswith("rfm: ") and line.rstrip().endswith(" customers") for line in lines)
    assert made.stdout == _segment(target)


def test_a_segmentation_without_its_own_scorer_shows_the_headline_means_first() -> None:
    from crm.cli.segment_layout import compact_tables
    from crm.core.components import Table

    means = ("mean_aidas.days_to_action", "mean_clv.revenue", "mean_rfm.recency")
    summary = Table(
        columns=("segmentation", "segment", "customers", "share", *means),
        rows=(
            ("funnel", "purchase", 10, 0.5, 3.0, 40.0, 20.0),
            ("aidas", "action", 10, 0.5, 3.0, 40.0, 20.0),
        ),
    )
    # room for the core columns (33) and the widest mean, "days_to_action" and a gap (15)
    width = 48

    def shown(headline: tuple[str, ...]) -> dict[str, str]:
        tables = compact_tables(summary, width, headline)
        return {t.title.split(":")[0]: t.columns[-1] for t in tables}

    # registered first, aidas's mean used to win every table without a scorer of its own
    assert shown(()) == {"funnel": "mean\ndays_to_action", "aidas": "mean\ndays_to_action"}
    # with rfm the headline segmentation, the funnel's table shows rfm's; aidas keeps its own
    assert shown(("rfm",)) == {"funnel": "mean\nrecency", "aidas": "mean\ndays_to_action"}


def test_the_demo_funnel_table_shows_rfm_means_and_aidas_its_own(demo_dir: Path) -> None:
    lines = _segment(demo_dir).splitlines()

    def header(block: str) -> str:
        start = next(i for i, line in enumerate(lines) if line.startswith(f"{block}:"))
        return " ".join(lines[start + 1 : start + 3])

    assert "recency" in header("funnel") and "days to" not in header("funnel")
    assert "days to" in header("aidas")
