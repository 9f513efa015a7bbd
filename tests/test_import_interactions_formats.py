"""Importing interactions from real exports (UCI Online Retail, CDNOW master) and JSON Lines,
and mapping columns and kinds, on SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine, func, select

from crm.core.importing import ImportOptions, import_interactions
from tests.interaction_import_helpers import T, interactions, write

CDNOW_MASTER = Path("/work/shared/data/cdnow/CDNOW_master.txt")
CDNOW = ImportOptions(
    delimiter="whitespace",
    mapping={"occurred_at": "date", "amount": "dollar_value"},
    date_format="%Y%m%d",
)


def test_columns_without_a_field_are_ignored_and_kinds_are_read(
    engine: Engine, tmp_path: Path
) -> None:
    path = write(
        tmp_path,
        "tx.csv",
        "customer_id,occurred_at,Kind,stage,campaign,whatever\n"
        "C1,2024-01-01,Visit,,spring,1\n"
        "C1,2024-01-02,,,spring,2\n"
        "C1,2024-01-03,stage_change,lead,,3\n",
    )
    report = import_interactions(engine, path, ImportOptions(kind="email_open"))
    assert report.rows_added == 3
    got = [(r["kind"], r["stage"], r["campaign"]) for r in interactions(engine)]
    assert got == [
        ("visit", None, "spring"),
        ("email_open", None, "spring"),
        ("stage_change", "lead", None),
    ]


def test_uci_online_retail_loads_with_quantity_times_unit_price(
    engine: Engine, tmp_path: Path
) -> None:
    path = write(
        tmp_path,
        "Online Retail.csv",
        "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
        '536365,85123A,"WHITE HANGING HEART T-LIGHT HOLDER",6,12/1/2010 8:26,2.55,17850,'
        "United Kingdom\n"
        "536365,71053,WHITE METAL LANTERN,6,12/1/2010 8:26,3.39,17850,United Kingdom\n"
        "536365,71053,WHITE METAL LANTERN,6,12/1/2010 8:26,3.39,17850,United Kingdom\n"
        "C536379,D,Discount,-1,12/1/2010 9:41,27.5,14527,United Kingdom\n"
        "536381,22139,RETROSPOT TEA SET,3,12/1/2010 9:41,0.125,15311,United Kingdom\n",
    )
    options = ImportOptions(
        mapping={
            "customer_id": "CustomerID",
            "occurred_at": "InvoiceDate",
            "quantity": "Quantity",
            "unit_price": "UnitPrice",
            "order_id": "InvoiceNo",
        },
        date_format="%m/%d/%Y %H:%M",
    )
    report = import_interactions(engine, path, options)
    assert (report.rows_added, report.customers_created) == (5, 3)
    got = sorted(
        (r["external_id"], r["occurred_at"], r["amount_minor"], r["order_id"])
        for r in interactions(engine)
    )
    assert got == [
        ("14527", datetime(2010, 12, 1, 9, 41), -2750, "C536379"),
        # 3 x 0.125 = 0.375: 37.5 cents, half-even to 38
        ("15311", datetime(2010, 12, 1, 9, 41), 38, "536381"),
        ("17850", datetime(2010, 12, 1, 8, 26), 1530, "536365"),
        ("17850", datetime(2010, 12, 1, 8, 26), 2034, "536365"),
        ("17850", datetime(2010, 12, 1, 8, 26), 2034, "536365"),
    ]
    assert import_interactions(engine, path, options).rows_added == 0


def test_cdnow_master_head_loads_as_is(engine: Engine, tmp_path: Path) -> None:
    # The first 10 purchases of CDNOW_master.txt, bytes as published (CRLF, leading spaces).
    head = CDNOW_MASTER.read_bytes().split(b"\n")[:11]
    path = tmp_path / "cdnow_head.txt"
    path.write_bytes(b"\n".join(head) + b"\n")
    report = import_interactions(engine, path, CDNOW)
    assert (report.rows_read, report.rows_added, report.customers_created) == (10, 10, 4)
    rows = interactions(engine)
    # 11.77 + 12.00 + 77.00 + 20.76 + 20.76 + 19.54 + 57.45 + 20.96 + 16.99 + 29.33 = 286.56
    assert sum(r["amount_minor"] for r in rows) == 28656
    # customer 00003: 20.76 + 20.76 + 19.54 + 57.45 + 20.96 + 16.99 = 156.46, first 1997-01-02
    mine = [r for r in rows if r["external_id"] == "00003"]
    assert sum(r["amount_minor"] for r in mine) == 15646
    assert min(r["occurred_at"] for r in mine) == datetime(1997, 1, 2)


def test_cdnow_master_loads_whole_and_reimports_as_nothing(engine: Engine) -> None:
    report = import_interactions(engine, CDNOW_MASTER, CDNOW)
    # README: 23,570 customers, 69,659 purchase records. Some records are identical in every
    # field but the (unmapped) number of CDs, and stay separate purchases.
    assert (report.rows_read, report.rows_added, report.customers_created) == (
        69_659,
        69_659,
        23_570,
    )
    with engine.connect() as conn:
        total = conn.scalar(select(func.sum(T.interaction.c.amount_minor)))
    # awk '{s += $4} END {printf "%.2f", s}' over the data lines: 2500315.63
    assert total == 250_031_563
    again = import_interactions(engine, CDNOW_MASTER, CDNOW)
    assert (again.rows_added, again.rows_already_present) == (0, 69_659)


def test_json_lines_with_sparse_records(engine: Engine, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "events.jsonl",
        '{"customer_id": "C1", "occurred_at": "2024-01-01T10:00:00", "amount": 19.99}\n'
        "\n"
        '{"customer_id": 42, "occurred_at": "2024-01-02", "kind": "visit", "channel": "web"}\n'
        '{"customer_id": "C3", "occurred_at": "2024-01-03", "amount": 0.1, "extra": [1, 2]}\n',
    )
    report = import_interactions(engine, path, ImportOptions())
    assert (report.rows_read, report.rows_added) == (3, 3)
    got = [
        (r["external_id"], r["kind"], r["amount_minor"], r["channel"]) for r in interactions(engine)
    ]
    assert got == [
        ("C1", "purchase", 1999, None),
        ("42", "visit", None, "web"),
        ("C3", "purchase", 10, None),
    ]
