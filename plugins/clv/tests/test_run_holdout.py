"""The run's own holdout check ([clv.validation]), the report's holdout section, profiling
opt-outs and the cost attribute, on SQLite and PostgreSQL with the CDNOW sample."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import crm_clv
import numpy as np
import pytest
from crm_clv.api import fit_report
from crm_clv.options import ClvOptions
from sqlalchemy import Engine, update

from crm.core.config import parse_config
from crm.core.database import read_only_connection
from crm.core.errors import ConfigError
from crm.core.project import Project

from .test_from_database import CDNOW, DATA, write_master_layout


def _project(engine: Engine, clv: dict[str, Any]) -> Project:
    return Project(parse_config({"clv": clv}), extra_plugins=(("clv", crm_clv),), engine=engine)


@pytest.fixture
def project(engine: Engine, tmp_path: Path) -> Any:
    project = _project(engine, {"model": "bgnbd"})
    project.import_interactions(write_master_layout(tmp_path / "cdnow.txt"), CDNOW)
    yield project
    project.close()


def test_the_run_checks_its_model_on_the_papers_split(project: Any) -> None:
    # the day after the sample's last purchase: a holdout of half the 78 weeks is the papers'
    run = project.segment(as_of=date(1998, 7, 1))
    check = run.artifacts["clv.validation"]
    assert (check["calibration_end"], check["holdout_end"]) == ("1997-09-30", "1998-06-30")
    assert check["holdout_days"] == 273 and len(check["tracking"]) == 39
    assert check["customers"] == 2357 and check["actual"] == 1882
    assert round(check["cumulative_error"], 2) == -0.04  # BG/NBD under-forecasts by ~4 %
    assert check["buckets"][0] == {
        "frequency": "0",
        "customers": 1411,
        "actual": 334,
        "predicted": pytest.approx(check["buckets"][0]["predicted"]),
    }
    # the zero class: about 0.23 holdout transactions each, as the paper finds
    assert check["buckets"][0]["predicted"] / 1411 == pytest.approx(0.23, abs=0.01)
    card = run.artifacts["clv.model_card"]
    assert card["holdout_error"] == check["error"] < 0
    assert card["customers"] == 2357  # the scores' fit sees the whole window

    document = project.report(["clv"], run_id=run.run_id)
    holdout = next(s for s in document.sections if s.title == "CLV holdout check")
    kinds = {f.kind: f for f in holdout.figures}
    assert set(kinds) == {"line", "bar"}
    assert kinds["line"].categories == tuple(str(w) for w in range(1, 40))
    assert kinds["line"].series[0].values[-1] == 1882
    assert kinds["bar"].categories == ("0", "1", "2", "3", "4", "5", "6", "7+")
    assert sum(v or 0 for v in kinds["bar"].series[0].values) == 1882
    tables = {t.name: t for t in holdout.tables}
    assert set(tables) == {"holdout_frequency", "holdout_tracking"}
    assert tables["holdout_frequency"].rows[0][:3] == ("0", 1411, 334)
    assert tables["holdout_tracking"].rows[-1][0] == 39
    model = next(t for t in document.sections[0].tables if t.name == "model_card")
    assert dict(model.rows)["holdout error %"] == round(100 * check["error"], 1)


def test_the_check_can_be_off_or_impossible(project: Any) -> None:
    off = _project(project.engine, {"validation": {"enabled": False}})
    run = off.segment(as_of=date(1998, 7, 1), store=False)
    assert "clv.validation" not in run.artifacts
    assert run.artifacts["clv.model_card"]["holdout_error"] is None
    section = off.report(["clv"], as_of=date(1998, 7, 1)).sections[-1]
    assert section.figures == () and "no holdout check" in section.blocks[0].text  # type: ignore[union-attr]
    # 400 days of a 273-day window leave nothing to calibrate on: said, and the run goes on
    long = _project(project.engine, {"validation": {"holdout_days": 400}})
    run = long.segment(as_of=date(1997, 10, 1), store=False)
    assert "leaves no calibration period" in run.artifacts["clv.validation"]["skipped"]
    assert np.isfinite(run.scores["clv.clv"]).sum() == 2357
    bad = _project(project.engine, {"validation": {"holdout_days": 3}})
    with pytest.raises(ConfigError, match=r"clv\.validation: holdout_days must be .*>= 7"):
        bad.plan()


def test_a_profiling_opt_out_is_in_no_fit(project: Any) -> None:
    customer = project.tables.customer
    with project.engine.begin() as connection:
        connection.execute(
            update(customer)
            .where(customer.c.external_id == "00001")
            .values(consent_profiling=False)
        )
    with read_only_connection(project.engine) as connection:
        fitted = fit_report(connection, project.tables, date(1997, 9, 30), "bgnbd", ClvOptions())
    assert fitted["customers"] == 2356
    run = project.segment(as_of=date(1998, 7, 1), store=False)
    assert run.artifacts["clv.model_card"]["customers"] == 2356
    assert run.artifacts["clv.validation"]["customers"] == 2356


def test_a_cost_attribute_gives_the_margin(engine: Engine, tmp_path: Path) -> None:
    # the sample with a cost column: 60 % of the amount, unreadable for every 10th customer
    lines = ["customer_id date number_of_cds dollar_value cost"]
    revenue = costed_margin = uncosted_revenue = 0
    uncosted = 0
    for line in (DATA / "CDNOW_sample.txt").read_text().splitlines():
        _, sample_id, day, cds, dollars = line.split()
        if day > "19970930":
            continue
        cents = int(Decimal(dollars) * 100)
        revenue += cents
        if int(sample_id) % 10 == 0:
            cost = "n/a"
            uncosted += 1
            uncosted_revenue += cents
        else:
            cost = f"{Decimal(dollars) * Decimal('0.6'):.2f}"
            costed_margin += cents - int(Decimal(cost) * 100)
        lines.append(f"{int(sample_id):05d} {day} {cds} {dollars} {cost}")
    (tmp_path / "cdnow.txt").write_text("\n".join(lines) + "\n")
    base = {"validation": {"enabled": False}}
    project = _project(engine, {**base, "cost_attribute": "cost", "margin": 0.5})
    try:
        project.import_interactions(tmp_path / "cdnow.txt", attrs.evolve(CDNOW, keep_extra=True))
        run = project.segment(as_of=date(1997, 10, 1), store=False)
        plain = _project(engine, base).segment(as_of=date(1997, 10, 1), store=False)
    finally:
        project.close()
    expected = costed_margin + 0.5 * uncosted_revenue
    assert np.nansum(run.scores["clv.margin"]) == pytest.approx(expected, abs=0.5)
    assert np.nansum(run.scores["clv.revenue"]) == revenue
    scored = np.isfinite(plain.scores["clv.clv"])
    ratio = run.scores["clv.clv"][scored] / plain.scores["clv.clv"][scored]
    np.testing.assert_allclose(ratio, expected / revenue, rtol=1e-9)
    card = run.artifacts["clv.model_card"]
    assert card["margin_rate"] == pytest.approx(expected / revenue, rel=1e-12)
    assert any(f"margin: {uncosted} purchases" in w for w in card["warnings"])
