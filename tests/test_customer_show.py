"""`crm customers show`: purchase totals, what each segment means, and when to re-run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.test_cli import invoke, project_dir  # noqa: F401  (the fixture)


def test_show_has_purchase_totals_and_segment_meanings(project_dir: Path) -> None:  # noqa: F811
    assert invoke(project_dir, "segment", "-f", "csv").exit_code == 0
    shown = invoke(project_dir, "customers", "show", "b", "-f", "json")
    assert shown.exit_code == 0, shown.output
    profile: dict[str, Any] = json.loads(shown.stdout)
    # b bought 20.00 on 2024-03-02 and 30.50 on 2024-03-03
    assert profile["purchases"] == {
        "count": 2,
        "revenue": 50.5,
        "first": "2024-03-02T10:00:00",
        "last": "2024-03-03T10:00:00",
    }
    assert profile["segment_details"] == [
        {"segmentation": "size", "segment": "Small", "description": "", "action": ""}
    ]
    assert profile["run"]["id"] == 1
    assert profile["stale"] is None
    assert "crm segment" not in shown.stderr
    big = json.loads(invoke(project_dir, "customers", "show", "a", "-f", "json").stdout)
    assert big["segment_details"][0]["description"] == "spent 100 or more"


def test_show_hints_at_crm_segment_before_any_run(project_dir: Path) -> None:  # noqa: F811
    shown = invoke(project_dir, "customers", "show", "a")
    assert shown.exit_code == 0, shown.output
    assert "no segmentation run is stored yet" in shown.stderr
    assert "run `crm segment`" in shown.stderr
    assert "150.00" in shown.stdout  # a's revenue in the table
