"""The plugin's own tests: no installation, no crm.toml on disk.

Each test builds a crm `Project` with this plugin registered as an extra plugin, imports a small
hand-made file and checks values computed by hand. Analysis date 2024-02-20 throughout.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from crm import ConfigError
from crm.core.config import parse_config
from crm.core.importing import ImportOptions
from crm.core.project import Project

import crm_churn_risk
from crm_churn_risk.scoring import mean_gap_days

AS_OF = date(2024, 2, 20)

PURCHASES = """\
customer_id,occurred_at,amount
A,2024-01-01T10:00:00Z,10.00
A,2024-01-11T09:30:00Z,12.50
A,2024-01-21T15:45:00Z,8.00
B,2024-01-01T10:00:00Z,40.00
B,2024-02-10T10:00:00Z,35.00
C,2024-02-01T10:00:00Z,20.00
"""

COMPLAINTS = """\
customer_id,occurred_at
C,2024-02-05T10:00:00Z
C,2024-02-06T10:00:00Z
D,2024-02-07T10:00:00Z
"""


def project(tmp_path: Path, **churn: Any) -> Project:
    data = {"database": {"url": f"sqlite:///{tmp_path / 'crm.db'}"}, "churn": churn}
    return Project(parse_config(data), extra_plugins=(("churn", crm_churn_risk),))


def imported(tmp_path: Path, **churn: Any) -> Project:
    built = project(tmp_path, **churn)
    (tmp_path / "purchases.csv").write_text(PURCHASES, encoding="utf-8")
    (tmp_path / "complaints.csv").write_text(COMPLAINTS, encoding="utf-8")
    built.import_interactions(tmp_path / "purchases.csv", ImportOptions())
    built.import_interactions(tmp_path / "complaints.csv", ImportOptions(kind="complaint"))
    return built


def by_customer(result: Any, column: str) -> dict[str, Any]:
    if "." in column:
        values = result.scores[column].tolist()
    else:
        values = next(o for o in result.outcomes if o.name == column).segment_names().tolist()
    return dict(zip(result.facts.external_id.tolist(), values, strict=True))


def test_mean_gap_is_whole_days_between_first_and_last_purchase_per_gap() -> None:
    first = np.array(["2024-01-01T10:00", "2024-01-01T10:00", "2024-02-01", "NaT"], "M8[s]")
    last = np.array(["2024-01-21T23:00", "2024-01-01T18:00", "2024-02-01", "NaT"], "M8[s]")
    purchases = np.array([3, 2, 1, 0])
    gaps = mean_gap_days(first, last, purchases)
    # 20 days over 2 gaps; two purchases on one day; one purchase; none
    assert gaps[0] == 10.0
    assert np.isnan(gaps[1:]).all()


def test_scores_and_segments_computed_by_hand(tmp_path: Path) -> None:
    built = imported(tmp_path)
    try:
        result = built.segment(as_of=AS_OF, store=False)
    finally:
        built.close()
    overdue = by_customer(result, "churn.overdue")
    # A: 30 days since 2024-01-21, mean gap 10; B: 10 days since 2024-02-10, mean gap 40
    assert overdue["A"] == 3.0
    assert overdue["B"] == 0.25
    assert np.isnan(overdue["C"]) and np.isnan(overdue["D"])
    assert by_customer(result, "churn.complaints") == {"A": 0, "B": 0, "C": 2, "D": 1}
    assert by_customer(result, "churn") == {
        "A": "Churn risk",
        "B": "Stable",
        "C": "Churn risk",  # two complaints
        "D": None,  # never purchased
    }


def test_options_change_the_segments(tmp_path: Path) -> None:
    built = imported(tmp_path, threshold=3.5, complaint_limit=3)
    try:
        result = built.segment(as_of=AS_OF, store=False)
    finally:
        built.close()
    assert by_customer(result, "churn") == {"A": "Stable", "B": "Stable", "C": "Stable", "D": None}


@pytest.mark.parametrize(
    ("churn", "message"),
    [
        ({"threshold": "x"}, "crm.toml: churn.threshold: expected a number, got 'x'"),
        ({"threshold": 0}, "crm.toml: churn: threshold must be a positive number, got 0.0"),
        ({"complaint_limit": 0}, "crm.toml: churn: complaint_limit must be 1 or more, got 0"),
        ({"treshold": 2}, "crm.toml: churn: unknown key 'treshold'"),
    ],
)
def test_bad_options_are_configuration_errors(
    tmp_path: Path, churn: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        project(tmp_path, **churn).plan()
    assert message in str(raised.value)


def test_the_report_bins_customers_by_lateness(tmp_path: Path) -> None:
    # A is 3.0x late (2-4x), B 0.25x (on time); C and D are not scored. min_group_size 1 shows
    # every group; with the default of 5 both would be hidden.
    data = {
        "database": {"url": f"sqlite:///{tmp_path / 'crm.db'}"},
        "reports": {"min_group_size": 1},
    }
    built = Project(parse_config(data), extra_plugins=(("churn", crm_churn_risk),))
    (tmp_path / "purchases.csv").write_text(PURCHASES, encoding="utf-8")
    built.import_interactions(tmp_path / "purchases.csv", ImportOptions())
    try:
        (section,) = built.report(["churn"], as_of=AS_OF).sections
    finally:
        built.close()
    assert section.tables[0].rows == (
        ("on time", 1),
        ("1-2x late", 0),
        ("2-4x late", 1),
        ("4x or more", 0),
    )
    assert section.figures[0].series[0].values == (1.0, 0.0, 1.0, 0.0)
