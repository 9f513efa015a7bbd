"""`crm clv fit` / `crm clv validate` through the command line, and `[clv]` option errors."""

from __future__ import annotations

import json
from pathlib import Path

import crm_clv
import pytest
from click.testing import CliRunner

from crm.cli import cli
from crm.cli.app import App
from crm.core.config import parse_config
from crm.core.errors import ConfigError
from crm.core.project import Project

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def cdnow_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("cdnow")
    (folder / "crm.toml").write_text('[plugins]\nenabled = []\n[clv]\ntime_unit = "weeks"\n')
    lines = ["customer_id date number_of_cds dollar_value"]
    for line in (DATA / "CDNOW_sample.txt").read_text().splitlines():
        _, sample_id, day, cds, dollars = line.split()
        lines.append(f"{int(sample_id):05d} {day} {cds} {dollars}")
    (folder / "cdnow.txt").write_text("\n".join(lines) + "\n")
    # the README's CDNOW command
    result = invoke(
        folder,
        "import",
        "interactions",
        str(folder / "cdnow.txt"),
        "--delimiter",
        "whitespace",
        "--map",
        "occurred_at=date",
        "--map",
        "amount=dollar_value",
        "--date-format",
        "%Y%m%d",
    )
    assert result.exit_code == 0, result.output
    return folder


def invoke(folder: Path, *args: str) -> object:
    app = App(config_path=folder / "crm.toml", extra_plugins=(("clv", crm_clv),))
    return CliRunner().invoke(cli, list(args), obj=app)


def test_fit_prints_the_documented_json(cdnow_project: Path) -> None:
    result = invoke(
        cdnow_project,
        "clv",
        "fit",
        "--model",
        "pareto_nbd",
        "--time-unit",
        "weeks",
        "--calibration-end",
        "1997-09-30",
        "--format",
        "json",
    )
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    data = json.loads(result.stdout)  # type: ignore[attr-defined]
    assert data["model"] == "pareto_nbd" and data["converged"] is True
    assert data["customers"] == 2357
    assert {k: round(v, 3) for k, v in data["params"].items() if k != "beta"} == {
        "r": 0.553,
        "alpha": 10.578,
        "s": 0.606,
    }
    assert data["params"]["beta"] == pytest.approx(11.669, rel=1e-3)
    assert data["log_likelihood"] == pytest.approx(-9595.0, abs=1.0)


def test_validate_prints_the_holdout_table(cdnow_project: Path) -> None:
    result = invoke(
        cdnow_project,
        "clv",
        "validate",
        "--calibration-end",
        "1997-09-30",
        "--holdout-end",
        "1998-06-30",
        "--format",
        "csv",
    )
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    lines = result.stdout.splitlines()  # type: ignore[attr-defined]
    assert lines[0] == "part,group,customers,actual,predicted"
    assert lines[1].startswith("total,all,2357,1882,1653.")
    assert lines[2].startswith("frequency,0,1411,334,")
    assert lines[-1].startswith("tracking,39,,1882,1653.")


def test_too_little_data_exits_1_with_the_reason(tmp_path: Path) -> None:
    (tmp_path / "crm.toml").write_text("[plugins]\nenabled = []\n")
    (tmp_path / "few.csv").write_text("customer_id,occurred_at,amount\nA,2024-01-01,1.00\n")
    assert invoke(tmp_path, "import", "interactions", str(tmp_path / "few.csv")).exit_code == 0  # type: ignore[attr-defined]
    result = invoke(tmp_path, "clv", "fit", "--calibration-end", "2024-02-01")
    assert result.exit_code == 1  # type: ignore[attr-defined]
    assert "1 customers (needs at least 100)" in result.output  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "args",
    [
        ("fit", "--calibration-end", "1997-13-01"),
        ("validate", "--calibration-end", "30/09/1997"),
        ("validate", "--calibration-end", "1997-09-30", "--holdout-end", "1997-09-01"),
    ],
)
def test_bad_dates_are_usage_errors(cdnow_project: Path, args: tuple[str, ...]) -> None:
    result = invoke(cdnow_project, "clv", *args)
    assert result.exit_code == 2, result.output  # type: ignore[attr-defined]
    assert "Traceback" not in result.output  # type: ignore[attr-defined]
    assert "YYYY-MM-DD" in result.output or "must be after" in result.output  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"model": "bg"}, "model must be one of bgnbd, pareto_nbd, got 'bg'"),
        ({"time_unit": "months"}, "time_unit must be one of days, weeks"),
        ({"tiers": [0.6, 0.5]}, "tiers must be two shares"),
        ({"annual_discount_rate": -0.1}, "annual_discount_rate must be a number"),
        ({"horizon_days": "365"}, "clv.horizon_days"),
        ({"validation": {"enabled": "yes"}}, "clv.validation.enabled"),
        ({"cost_attribute": " "}, "cost_attribute must name"),
    ],
)
def test_bad_options_name_the_key(table: dict[str, object], message: str) -> None:
    project = Project(parse_config({"clv": table}), extra_plugins=(("clv", crm_clv),))
    with pytest.raises(ConfigError, match=message):
        project.plan()


def test_show_prints_the_model_card_of_the_current_run(cdnow_project: Path) -> None:
    stored = invoke(cdnow_project, "segment", "--as-of", "1997-10-01")
    assert stored.exit_code == 0, stored.output  # type: ignore[attr-defined]
    result = invoke(cdnow_project, "clv", "show", "--format", "json")
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    card = json.loads(result.stdout)  # type: ignore[attr-defined]
    assert card["model"] == "bgnbd" and card["converged"] is True
    assert card["customers"] == 2357
    assert card["data_window"] == {"first_day": "1997-01-01", "last_day": "1997-09-30"}
    assert {k: round(v, 3) for k, v in card["params"].items()} == {
        "r": 0.243,
        "alpha": 4.414,
        "a": 0.793,
        "b": 2.426,
    }
    assert round(card["spend"]["params"]["p"], 1) == 6.2  # spend in cents: p and q as in dollars
