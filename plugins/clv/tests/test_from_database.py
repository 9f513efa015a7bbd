"""The plugin on a real database (SQLite and PostgreSQL): CDNOW imported as a user would.

The sample is written in the master file's layout and loaded with the README's CDNOW import
options; the SQL summary must equal the hand-built one of conftest.py, and the fit, the holdout
check and the scores must match the papers.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import crm_clv
import numpy as np
import pytest
from crm_clv.api import fit_report, validate_split
from crm_clv.history import load_history
from crm_clv.options import ClvOptions
from sqlalchemy import Engine

from crm.core.config import parse_config
from crm.core.database import read_only_connection
from crm.core.importing import ImportOptions
from crm.core.project import Project

DATA = Path(__file__).parent / "data"
CDNOW = ImportOptions(
    delimiter="whitespace",
    mapping={"occurred_at": "date", "amount": "dollar_value"},
    date_format="%Y%m%d",
)
CALIBRATION_END = date(1997, 9, 30)


def write_master_layout(path: Path) -> Path:
    lines = ["customer_id date number_of_cds dollar_value"]
    for line in (DATA / "CDNOW_sample.txt").read_text().splitlines():
        _, sample_id, day, cds, dollars = line.split()
        lines.append(f"{int(sample_id):05d} {day} {cds} {dollars}")
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def project(engine: Engine, tmp_path: Path) -> Any:
    config = parse_config({"clv": {"model": "bgnbd"}})
    project = Project(config, extra_plugins=(("clv", crm_clv),), engine=engine)
    project.import_interactions(write_master_layout(tmp_path / "cdnow.txt"), CDNOW)
    yield project
    project.close()


def test_sql_summary_equals_the_hand_built_one(project: Any, cdnow_sample: Any) -> None:
    from .conftest import load

    expected = load(rounded=False).summary
    with read_only_connection(project.engine) as connection:
        history = load_history(connection, project.tables, date(1997, 10, 1))
    summary = history.summary(7.0)
    assert len(summary) == 2357
    np.testing.assert_array_equal(summary.x, expected.x)
    np.testing.assert_allclose(summary.t_x, expected.t_x, rtol=0, atol=1e-12)
    np.testing.assert_allclose(summary.T, expected.T, rtol=0, atol=1e-12)
    assert summary.mean_spend is not None and expected.mean_spend is not None
    np.testing.assert_allclose(summary.mean_spend / 100, expected.mean_spend, rtol=1e-12)


def test_fit_report_is_the_documented_object(project: Any) -> None:
    with read_only_connection(project.engine) as connection:
        report = fit_report(connection, project.tables, CALIBRATION_END, "bgnbd", ClvOptions())
        spend = fit_report(connection, project.tables, CALIBRATION_END, "gamma_gamma", ClvOptions())
    assert set(report) == {
        "model",
        "time_unit",
        "calibration_end",
        "params",
        "std_errors",
        "log_likelihood",
        "customers",
        "converged",
        "warnings",
    }
    assert {k: round(v, 3) for k, v in report["params"].items()} == {
        "r": 0.243,
        "alpha": 4.414,
        "a": 0.793,
        "b": 2.426,
    }
    assert report["customers"] == 2357 and report["converged"] is True
    assert set(report["std_errors"]) == {"r", "alpha", "a", "b"}
    assert {k: round(v, 2) for k, v in spend["params"].items() if k != "v"} == {
        "p": 6.25,
        "q": 3.74,
    }
    assert spend["params"]["v"] == pytest.approx(15.44, abs=0.01)
    assert spend["customers"] == 946


def test_validation_reproduces_the_holdout(project: Any) -> None:
    with read_only_connection(project.engine) as connection:
        result = validate_split(
            connection, project.tables, CALIBRATION_END, date(1998, 6, 30), ClvOptions()
        )
    assert result.holdout_length == 39.0
    assert result.actual == 1882 and result.tracking[-1].actual == 1882
    assert round(result.cumulative_error, 2) == -0.04
    assert result.buckets[0].customers == 1411 and result.buckets[0].actual == 334
    assert [p.period for p in result.tracking] == list(range(1, 40))


def test_scores_and_segments(project: Any) -> None:
    result = project.segment(as_of=date(1997, 10, 1), store=False)
    scores = result.scores
    clv = scores["clv.clv"]
    scored = np.isfinite(clv)
    assert scored.sum() == 2357
    assert np.all(scores["clv.clv_low"][scored] <= clv[scored])
    assert np.all(clv[scored] <= scores["clv.clv_high"][scored])
    alive = scores["clv.p_alive"][scored]
    assert np.all((alive > 0) & (alive <= 1))
    tiers = next(o for o in result.outcomes if o.name == "clv_tier")
    names = tiers.segment_names()
    # a customer is in the top tier when fewer than 20 % have a strictly higher CLV, so ties
    # at the boundary can make a tier slightly larger than its share
    assert 0.19 < np.mean(names == "High value") < 0.21
    assert 0.49 < np.mean(np.isin(names, ["High value", "Medium value"])) < 0.51
    risk = next(o for o in result.outcomes if o.name == "clv_risk")
    at_risk = risk.segment_names() == "At risk"
    assert np.all(alive[at_risk[scored]] < 0.3)
    # revenue is exact: the sample's calibration-period dollars in cents
    assert np.nansum(scores["clv.revenue"]) == pytest.approx(
        round(_calibration_dollars() * 100), abs=0.5
    )


def _calibration_dollars() -> float:
    total = 0.0
    for line in (DATA / "CDNOW_sample.txt").read_text().splitlines():
        parts = line.split()
        if parts[2] <= "19970930":
            total += float(parts[4])
    return total


def test_report_sections(project: Any) -> None:
    document = project.report(["clv"], as_of=date(1997, 10, 1))
    titles = [s.title for s in document.sections]
    assert titles == [
        "CLV model card",
        "Predicted CLV",
        "Expected transactions over the horizon, by frequency and recency",
        "Probability alive, by frequency and recency",
        "CLV holdout check",
    ]
    card = document.sections[0]
    table = next(b for b in card.tables if b.name == "parameters")
    params = {row[0]: row[1] for row in table.rows}
    assert {k: round(float(params[k]), 3) for k in ("r", "alpha", "a", "b")} == {
        "r": 0.243,
        "alpha": 4.414,
        "a": 0.793,
        "b": 2.426,
    }
    histogram = document.sections[1].figures[0]
    assert sum(histogram.series[0].values) == 2357  # deciles of all scored customers
    alive = document.sections[3].figures[0]
    # the 1,411 customers without a repeat purchase sit in recency 0-20 %, P(alive) = 1 there
    zero_row = alive.series[0]
    assert zero_row.customers[0] == 1411 and zero_row.values[0] == 1.0
    assert all(c == 0 for c in zero_row.customers[1:])
    assert sum(sum(s.customers) for s in alive.series) == 2357
