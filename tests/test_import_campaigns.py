"""Importing campaigns, and keeping extra columns in attributes, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from crm.core.errors import ImportDataError
from crm.core.importing import (
    ImportOptions,
    import_campaigns,
    import_customers,
    import_interactions,
)
from crm.core.schema import Tables

T = Tables.default()


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def campaigns(engine: Engine) -> dict[str, dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(select(T.campaign).order_by(T.campaign.c.id))
        return {row.id: dict(row._mapping) for row in rows}


CAMPAIGNS = (
    "id,title,channel,start,end,cost,budget,segment\n"
    "SPRING,Spring sale,email,2024-03-01,2024-03-14,1200.50,1500,rfm=At Risk\n"
    "WEB,,web,2024-04-01,,,,\n"
)
MAPPING = {
    "campaign_id": "id",
    "name": "title",
    "target_segment": "segment",
}


def test_campaigns_are_inserted_with_money_in_cents_and_the_id_as_default_name(
    engine: Engine, tmp_path: Path
) -> None:
    path = write(tmp_path, "campaigns.csv", CAMPAIGNS)
    report = import_campaigns(engine, path, ImportOptions(mapping=MAPPING))
    assert (report.rows_read, report.rows_added, report.rows_updated) == (2, 2, 0)
    assert campaigns(engine) == {
        "SPRING": {
            "id": "SPRING", "name": "Spring sale", "channel": "email",
            "starts_on": date(2024, 3, 1), "ends_on": date(2024, 3, 14),
            "cost_minor": 120050, "budget_minor": 150000, "target_segment": "rfm=At Risk",
        },
        "WEB": {
            "id": "WEB", "name": "WEB", "channel": "web", "starts_on": date(2024, 4, 1),
            "ends_on": None, "cost_minor": None, "budget_minor": None, "target_segment": None,
        },
    }  # fmt: skip


def test_reimport_adds_nothing_and_a_changed_cost_updates_one_campaign(
    engine: Engine, tmp_path: Path
) -> None:
    path = write(tmp_path, "campaigns.csv", CAMPAIGNS)
    import_campaigns(engine, path, ImportOptions(mapping=MAPPING))
    again = import_campaigns(engine, path, ImportOptions(mapping=MAPPING))
    assert (again.rows_added, again.rows_updated, again.rows_already_present) == (0, 0, 2)
    changed = write(
        tmp_path, "cost.jsonl", '{"campaign_id": "WEB", "start": "2024-04-01", "cost": 99.9}\n'
    )
    report = import_campaigns(engine, changed, ImportOptions())
    assert (report.rows_added, report.rows_updated) == (0, 1)
    assert campaigns(engine)["WEB"]["cost_minor"] == 9990
    assert campaigns(engine)["WEB"]["channel"] == "web"  # an absent key keeps the stored value


def test_bad_campaign_rows_name_line_and_field_and_nothing_is_written(
    engine: Engine, tmp_path: Path
) -> None:
    path = write(
        tmp_path,
        "campaigns.csv",
        "campaign_id,start,end,cost\n"
        "A,2024-03-01,2024-02-01,10\n"
        "B,,,\n"
        "C,2024-03-01,,-5\n"
        "D,2024-03-01,,\n"
        "D,2024-03-02,,\n",
    )
    with pytest.raises(ImportDataError) as caught:
        import_campaigns(engine, path, ImportOptions())
    assert caught.value.problems == (
        f"{path}:2: end (column 'end'): 2024-02-01 is before the start 2024-03-01",
        f"{path}:3: start (column 'start'): is empty; a value is required",
        f"{path}:4: cost (column 'cost'): '-5' is negative; a cost or budget is 0 or more",
        f"{path}:6: campaign_id (column 'campaign_id'): 'D' is already on line 5",
    )
    assert campaigns(engine) == {}


def _attributes(engine: Engine, table: str) -> list[Any]:
    t, order = (
        (T.customer, T.customer.c.external_id)
        if table == "customer"
        else (T.interaction, T.interaction.c.occurred_at)
    )
    with engine.connect() as conn:
        return list(conn.scalars(select(t.c.attributes).order_by(order)))


def test_keep_extra_stores_unmapped_interaction_columns_as_text_and_skips_empty_cells(
    engine: Engine, tmp_path: Path
) -> None:
    path = write(
        tmp_path,
        "orders.csv",
        "Customer,occurred_at,amount,Category,discount\n"
        "C1,2024-01-01,10.00,shoes,0.10\n"
        "C1,2024-01-02,5.00,,\n"
        "C2,2024-01-03,7.00,bags,\n",
    )
    options = ImportOptions(mapping={"customer_id": "Customer"}, keep_extra=True)
    import_interactions(engine, path, options)
    assert _attributes(engine, "interaction") == [
        {"Category": "shoes", "discount": "0.10"},
        None,
        {"Category": "bags"},
    ]
    # attributes are not part of an interaction's identity: the same file adds nothing
    assert import_interactions(engine, path, options).rows_added == 0


def test_without_keep_extra_extra_columns_are_ignored(engine: Engine, tmp_path: Path) -> None:
    path = write(tmp_path, "orders.csv", "customer_id,occurred_at,category\nC1,2024-01-01,shoes\n")
    import_interactions(engine, path, ImportOptions())
    assert _attributes(engine, "interaction") == [None]


def test_keep_extra_on_customers_replaces_attributes_only_when_the_row_has_some(
    engine: Engine, tmp_path: Path
) -> None:
    first = write(tmp_path, "c1.jsonl", '{"customer_id": "C1", "tier": "gold", "points": 12}\n'
                  '{"customer_id": "C2", "tier": "silver"}\n')  # fmt: skip
    options = ImportOptions(keep_extra=True)
    assert import_customers(engine, first, options).rows_added == 2
    assert _attributes(engine, "customer") == [{"points": "12", "tier": "gold"}, {"tier": "silver"}]
    assert import_customers(engine, first, options).rows_updated == 0
    second = write(tmp_path, "c2.jsonl", '{"customer_id": "C1", "tier": "platinum"}\n'
                   '{"customer_id": "C2", "tier": null}\n')  # fmt: skip
    report = import_customers(engine, second, options)
    assert report.rows_updated == 1
    assert _attributes(engine, "customer") == [{"tier": "platinum"}, {"tier": "silver"}]
    assert json.dumps(_attributes(engine, "customer")[0]) == '{"tier": "platinum"}'


def test_a_rule_segmentation_reads_customer_attributes_by_name(
    engine: Engine, tmp_path: Path
) -> None:
    from crm.core.config import parse_config
    from crm.core.project import Project

    path = write(tmp_path, "c.csv", "customer_id,tier\nC1,gold\nC2,silver\nC3,\n")
    import_customers(engine, path, ImportOptions(keep_extra=True))
    rules = {
        "rules": [{"segment": "Gold", "when": "attributes.tier == 'gold'"}],
        "default": "Other",
    }
    config = parse_config({"plugins": {"enabled": []}, "segmentations": {"tier": rules}})
    result = Project(config, engine=engine).segment(as_of=date(2025, 1, 1), store=False)
    outcome = next(o for o in result.outcomes if o.name == "tier")
    assert list(outcome.segment_names()) == ["Gold", "Other", "Other"]
