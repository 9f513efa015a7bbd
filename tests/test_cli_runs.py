"""`crm runs`, `crm segments diff` and `crm customers show --run` through click's CliRunner."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from crm import Metric, ScorerSpec, hookimpl
from crm.cli import cli
from crm.cli.app import App
from crm.core.database import ensure_schema, make_engine
from crm.core.runs import RUN_TABLES
from tests.conftest import BigSpendersPlugin, SpendPlugin

# As of 2024-03-03: a Big (150), b Small (20), c Small (nothing yet).
# As of 2024-03-04: a Big, b Big (150), c Small (99.99).
PURCHASES = [
    ("a", "2024-03-01T10:00:00", "150.00"),
    ("b", "2024-03-02T10:00:00", "20.00"),
    ("b", "2024-03-03T10:00:00", "130.00"),
    ("c", "2024-03-03T11:00:00", "99.99"),
]


class CardScorer:
    """Attaches its 'fit' to the run, as the CLV plugin will attach its model card."""

    def score(self, context: Any) -> dict[str, np.ndarray]:
        context.attach_artifact("card", {"customers": len(context.facts), "alpha": 0.25})
        return {"n": np.ones(len(context.facts))}


class CardPlugin:
    @hookimpl
    def register_scorers(self, register: Any) -> None:
        register(ScorerSpec(name="fit", factory=lambda _o: CardScorer(), metrics=(Metric("n"),)))


@pytest.fixture
def project_dir(tmp_path: Path, seed: Any) -> Path:
    (tmp_path / "crm.toml").write_text("[plugins]\nenabled = []\n")
    engine = make_engine(f"sqlite:///{tmp_path / 'crm.db'}")
    ensure_schema(engine)
    seed(engine, PURCHASES)
    engine.dispose()
    return tmp_path


def invoke(project_dir: Path, *args: str, stdin: str | None = None) -> Any:
    app = App(
        config_path=project_dir / "crm.toml",
        extra_plugins=(
            ("spend", SpendPlugin()),
            ("size", BigSpendersPlugin()),
            ("fit", CardPlugin()),
        ),
    )
    return CliRunner().invoke(cli, list(args), obj=app, input=stdin)


def two_runs(project_dir: Path) -> None:
    assert invoke(project_dir, "segment", "-f", "json").exit_code == 0  # run 1, 2024-03-04
    back = invoke(project_dir, "segment", "--as-of", "2024-03-03", "-f", "json")  # run 2
    assert back.exit_code == 0, back.output


def stored_rows(project_dir: Path) -> int:
    engine = make_engine(f"sqlite:///{project_dir / 'crm.db'}")
    with engine.connect() as conn:
        total = sum(conn.scalar(select(func.count()).select_from(t)) for t in RUN_TABLES)
    engine.dispose()
    return total


def test_a_back_dated_run_is_listed_but_not_current(project_dir: Path) -> None:
    two_runs(project_dir)
    rows = json.loads(invoke(project_dir, "runs", "-f", "json").stdout)
    assert [(r["run"], r["as_of"], r["current"]) for r in rows] == [
        (2, "2024-03-03", False),
        (1, "2024-03-04", True),
    ]


def test_customers_show_uses_the_current_run_or_the_one_named(project_dir: Path) -> None:
    two_runs(project_dir)
    current = json.loads(invoke(project_dir, "customers", "show", "b", "-f", "json").stdout)
    assert current["run"]["id"] == 1
    assert current["segments"] == {"size": "Big"}
    assert current["scores"]["spend.total"] == 150.0
    older = invoke(project_dir, "customers", "show", "b", "--run", "2", "-f", "json")
    assert older.exit_code == 0, older.output
    assert json.loads(older.stdout)["segments"] == {"size": "Small"}
    missing = invoke(project_dir, "customers", "show", "b", "--run", "9")
    assert missing.exit_code == 5
    assert "no run 9" in missing.stderr


def test_runs_show_prints_config_plugins_counts_and_artifacts(project_dir: Path) -> None:
    two_runs(project_dir)
    result = invoke(project_dir, "runs", "show", "1", "-f", "json")
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    assert (shown["run"], shown["as_of"], shown["current"], shown["customers"]) == (
        1,
        "2024-03-04",
        True,
        3,
    )
    assert shown["plugins"]["size"] == "unpackaged"
    assert shown["config"]["plugins"]["enabled"] == []
    assert shown["metrics"] == ["spend.total", "fit.n"]
    assert shown["segments"] == [
        {"segmentation": "size", "segment": "Big", "customers": 2},
        {"segmentation": "size", "segment": "Small", "customers": 1},
    ]
    assert shown["artifacts"] == {"fit.card": {"customers": 3, "alpha": 0.25}}
    table = invoke(project_dir, "runs", "show", "1")
    assert "fit.card" in table.stdout
    assert invoke(project_dir, "runs", "show", "7").exit_code == 5


def test_an_artifact_that_is_not_json_fails_naming_the_plugin_and_stores_nothing(
    project_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def bad(self: Any, context: Any) -> dict[str, np.ndarray]:
        context.attach_artifact("card", {"alpha": float("nan")})
        return {"n": np.ones(len(context.facts))}

    monkeypatch.setattr(CardScorer, "score", bad)
    result = invoke(project_dir, "segment")
    assert result.exit_code == 3
    assert "plugin 'fit'" in result.stderr and "not JSON" in result.stderr
    assert stored_rows(project_dir) == 0


def test_a_typo_in_where_stores_no_run(project_dir: Path) -> None:
    result = invoke(project_dir, "segment", "--customers", "--where", "size=Bgi")
    assert result.exit_code == 2
    assert "no segment 'Bgi'" in result.stderr
    assert stored_rows(project_dir) == 0


def test_delete_asks_for_yes_off_a_terminal_and_leaves_no_rows(project_dir: Path) -> None:
    two_runs(project_dir)
    refused = invoke(project_dir, "runs", "delete", "2")
    assert refused.exit_code == 2
    assert "--yes" in refused.stderr
    assert invoke(project_dir, "runs", "delete", "5", "--yes").exit_code == 5
    before = stored_rows(project_dir)
    done = invoke(project_dir, "runs", "delete", "2", "--yes")
    assert done.exit_code == 0, done.output
    assert "deleted 1 run(s)" in done.stderr
    assert stored_rows(project_dir) == before / 2
    assert [r["run"] for r in json.loads(invoke(project_dir, "runs", "-f", "json").stdout)] == [1]


def test_prune_keeps_the_current_run(project_dir: Path) -> None:
    two_runs(project_dir)
    assert invoke(project_dir, "runs", "prune", "--yes").exit_code == 2  # nothing chosen
    result = invoke(project_dir, "runs", "prune", "--keep", "1", "--yes")
    assert result.exit_code == 0, result.output
    # run 2 is the newest but back-dated; run 1 is current and survives --keep 1 too.
    assert "no run to prune" in result.stderr
    result = invoke(project_dir, "runs", "prune", "--keep", "0", "--yes")
    assert "pruned 1 run(s): 2" in result.stderr
    assert [r["run"] for r in json.loads(invoke(project_dir, "runs", "-f", "json").stdout)] == [1]


def test_segments_diff_prints_cells_matrix_and_movers(project_dir: Path) -> None:
    two_runs(project_dir)
    cells = invoke(project_dir, "segments", "diff", "--segmentation", "size", "-f", "json")
    assert cells.exit_code == 0, cells.output
    # From run 2 (2024-03-03, the earlier analysis date) to the current run 1.
    assert "size: run 2 (as of 2024-03-03) -> run 1 (as of 2024-03-04)" in cells.stderr
    assert json.loads(cells.stdout) == [
        {"from": "Big", "to": "Big", "customers": 1, "share": 1.0, "revenue": 150.0},
        {"from": "Small", "to": "Big", "customers": 1, "share": 0.5, "revenue": 150.0},
        {"from": "Small", "to": "Small", "customers": 1, "share": 0.5, "revenue": 99.99},
    ]
    matrix = invoke(
        project_dir, "segments", "diff", "2", "1", "-s", "size", "--matrix", "-f", "csv"
    )
    assert list(csv.reader(io.StringIO(matrix.stdout))) == [
        ["from \\ to", "Big", "Small", "(none)", "(gone)"],
        ["Big", "1", "0", "0", "0"],
        ["Small", "1", "1", "0", "0"],
        ["(none)", "0", "0", "0", "0"],
        ["(new)", "0", "0", "0", "0"],
    ]
    movers = invoke(
        project_dir,
        "segments",
        "diff",
        "-s",
        "size",
        "--from",
        "Small",
        "--to",
        "Big",
        "--customers",
        "-f",
        "csv",
    )
    assert movers.stdout.splitlines() == ["customer_id,from,to,revenue", "b,Small,Big,150.00"]
    table = invoke(project_dir, "segments", "diff", "-s", "size")
    assert table.exit_code == 0 and "1 moved, 0 entered, 0 left" in table.stdout
    assert invoke(project_dir, "segments", "diff", "-s", "size", "--from", "Big").exit_code == 2
    unknown = invoke(project_dir, "segments", "diff")  # default --segmentation rfm
    assert unknown.exit_code == 2
    assert "run 2 has no segmentation 'rfm'; it has: size" in unknown.stderr
