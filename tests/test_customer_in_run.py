"""`crm customers show --run N` (Project API): purchase totals, segments and their descriptions
as run N saw them, not today's; on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, update

from crm.core.config import parse_config
from crm.core.project import Project
from crm.core.schema import RunSegmentationRow
from tests.conftest import BigSpendersPlugin, SpendPlugin

# b: 20.00 on 2024-03-02, 130.00 on 2024-03-03. As of 2024-03-03 b is Small (20.00, one
# purchase); as of 2024-03-04, Big (150.00, two purchases).
PURCHASES = [
    ("a", "2024-03-01T10:00:00", "150.00"),
    ("b", "2024-03-02T10:00:00", "20.00"),
    ("b", "2024-03-03T10:00:00", "130.00"),
]


def _project(engine: Engine) -> Project:
    return Project(
        parse_config({"plugins": {"enabled": []}}),
        (("spend", SpendPlugin()), ("size", BigSpendersPlugin())),
        engine=engine,
    )


def _show(project: Project, run_id: int | None) -> dict[str, Any]:
    profile = project.customer_profile("b", run_id=run_id)
    return {**profile.to_dict(), **project.customer_summary(profile)}


def test_a_named_run_shows_its_own_totals_segments_and_descriptions(
    engine: Engine, seed: Any
) -> None:
    seed(engine, PURCHASES)
    project = _project(engine)
    today = project.segment(as_of=date(2024, 3, 4)).run_id
    back = project.segment(as_of=date(2024, 3, 3)).run_id
    # the back-dated run described Small its own way (a configuration changed since)
    with engine.begin() as conn:
        conn.execute(
            update(RunSegmentationRow)
            .where(RunSegmentationRow.run_id == back, RunSegmentationRow.name == "size")
            .values(
                segments=[
                    {"name": "Big", "description": "spent 100 or more"},
                    {"name": "Small", "description": "then: under 100", "action": "nudge"},
                ]
            )
        )
    older = _show(project, back)
    assert older["run"] == {"id": back, "as_of": date(2024, 3, 3)}
    assert older["segments"] == {"size": "Small"}
    assert older["purchases"] == {
        "count": 1,
        "revenue": Decimal("20.00"),
        "first": datetime(2024, 3, 2, 10),
        "last": datetime(2024, 3, 2, 10),
    }
    assert older["segment_details"] == [
        {"segmentation": "size", "segment": "Small", "description": "then: under 100",
         "action": "nudge"}
    ]  # fmt: skip
    assert older["stale"] is None
    current = _show(project, None)
    assert current["run"]["id"] == today
    assert current["segments"] == {"size": "Big"}
    assert (current["purchases"]["count"], current["purchases"]["revenue"]) == (2, Decimal("150"))
    assert current["segment_details"][0]["description"] == "spent 100 or more"
