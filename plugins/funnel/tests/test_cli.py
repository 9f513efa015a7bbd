"""`crm funnel` through the installed entry point: data on stdout, in the three formats."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from crm.cli import cli
from crm.core.database import ensure_schema, make_engine

CONFIG = """
[database]
url = "sqlite:///crm.db"

[plugins]
enabled = ["funnel"]

[funnel]
window_days = 10
steps = [
  { name = "seen", kinds = ["visit"] },
  { name = "bought", kinds = ["purchase"], window_days = 2 },
]

[funnel.deals]
stages = ["qualified", "proposal"]
win_probability = { qualified = 0.5, proposal = 0.9 }
"""


def make_project(tmp_path: Path, logs: Any) -> Path:
    config = tmp_path / "crm.toml"
    config.write_text(CONFIG)
    engine = make_engine(f"sqlite:///{tmp_path / 'crm.db'}")
    ensure_schema(engine)
    logs.write_log(
        engine,
        [
            {"customer": "a", "kind": "visit", "day": 0},
            {"customer": "a", "kind": "purchase", "day": 2},  # step window edge: counts
            {"customer": "b", "kind": "visit", "day": 0},
            {"customer": "b", "kind": "purchase", "day": 2.5},  # half a day too late
            {"customer": "c", "kind": "stage_change", "stage": "qualified", "day": 1,
             "order_id": "D1", "amount": 5000},
            {"customer": "c", "kind": "stage_change", "stage": "won", "day": 3, "order_id": "D1"},
        ],
    )  # fmt: skip
    engine.dispose()
    return config


def run(config: Path, *args: str) -> str:
    result = CliRunner().invoke(cli, ["--config", str(config), *args], prog_name="crm")
    assert result.exit_code == 0, result.output
    return result.stdout


def test_step_table_as_json_and_dropped_as_csv(tmp_path: Path, logs: Any) -> None:
    config = make_project(tmp_path, logs)
    rows = json.loads(run(config, "funnel", "--as-of", "2024-02-01", "--format", "json"))
    assert [(r["step"], r["customers"]) for r in rows] == [("seen", 2), ("bought", 1)]
    assert rows[1]["median_days"] == 2.0
    dropped = run(
        config, "funnel", "dropped", "--after", "seen", "--as-of", "2024-02-01", "-f", "csv"
    )
    assert dropped.splitlines() == [
        "customer_id,reached_at,days_since,window_open",
        "b,2024-01-01T00:00:00Z,31,False",
    ]


def test_deals_and_calibrate(tmp_path: Path, logs: Any) -> None:
    config = make_project(tmp_path, logs)
    deals = run(config, "funnel", "deals", "--as-of", "2024-02-01", "-f", "csv").splitlines()
    assert (
        deals[0]
        == "stage,open_deals,open_value,p_win,p_low,p_high,source,closed_deals,weighted_value"
    )
    summary = run(config, "funnel", "deals", "--summary", "--as-of", "2024-02-01", "-f", "csv")
    # D1: opened day 1, won day 3
    assert "won,1" in summary.splitlines() and "average_cycle_days,2" in summary.splitlines()
    scores = json.loads(
        run(config, "funnel", "calibrate", "--holdout-start", "2024-01-01", "--as-of", "2024-02-01",
            "-f", "json")
    )  # fmt: skip
    # D1 was at "qualified" when it closed (won): fixed 0.5 -> Brier 0.25; no estimate before
    assert {s["probabilities"]: s["deals"] for s in scores} == {"estimated": 0, "fixed": 1}
    assert next(s for s in scores if s["probabilities"] == "fixed")["brier"] == 0.25


def test_unknown_step_is_a_usage_error(tmp_path: Path, logs: Any) -> None:
    config = make_project(tmp_path, logs)
    result = CliRunner().invoke(
        cli, ["--config", str(config), "funnel", "dropped", "--after", "nowhere"], prog_name="crm"
    )
    assert result.exit_code == 2 and "no step is called 'nowhere'" in result.output


def test_every_funnel_command_has_help(tmp_path: Path, logs: Any) -> None:
    config = make_project(tmp_path, logs)
    for path in ([], ["dropped"], ["deals"], ["calibrate"]):
        assert "Usage: crm funnel" in run(config, "funnel", *path, "--help")
