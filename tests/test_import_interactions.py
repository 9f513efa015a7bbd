"""Importing interactions on SQLite and PostgreSQL: stored values, identity and idempotency, the
bulk path (indexes dropped and rebuilt), progress and connection settings.

Bad rows are in `test_import_interactions_bad_rows.py`; real exports and JSON Lines in
`test_import_interactions_formats.py`.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, inspect, select

from crm.core.errors import ImportDataError
from crm.core.importing import ImportOptions, import_interactions
from crm.core.importing import bulk as bulk_module
from crm.core.importing import interactions as interactions_module
from tests.interaction_import_helpers import T, counts, interactions, write


def test_import_stores_exact_values_in_utc_and_cents(engine: Engine, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "tx.csv",
        "customer_id,occurred_at,amount,channel\n"
        "C1,2024-03-31 14:05:00,12.30,web\n"
        "C2,2024-03-31T14:05:00+02:00,0.1,\n"
        " C1 ,2024-04-01,,store\n"
        "C3,2024-04-02T08:00:00Z,1234567.899,web\n",
    )
    report = import_interactions(engine, path, ImportOptions())
    assert (report.rows_read, report.rows_added, report.rows_already_present) == (4, 4, 0)
    assert (report.customers_created, report.rows_rejected, report.reject_path) == (3, 0, None)
    got = [
        (r["external_id"], r["kind"], r["occurred_at"], r["amount_minor"], r["channel"])
        for r in interactions(engine)
    ]
    assert got == [
        ("C2", "purchase", datetime(2024, 3, 31, 12, 5), 10, None),
        ("C1", "purchase", datetime(2024, 3, 31, 14, 5), 1230, "web"),
        ("C1", "purchase", datetime(2024, 4, 1), None, "store"),
        # 123456789.9 cents rounds half-even to ...790
        ("C3", "purchase", datetime(2024, 4, 2, 8), 123456790, "web"),
    ]


def test_unknown_customers_are_created_at_their_first_interaction(
    engine: Engine, tmp_path: Path
) -> None:
    path = write(
        tmp_path,
        "tx.csv",
        "customer_id,occurred_at\nC9,2024-05-02 10:00\nC9,2024-05-01 09:00\nC8,2024-01-01\n",
    )
    report = import_interactions(engine, path, ImportOptions())
    assert report.customers_created == 2
    with engine.connect() as conn:
        rows = conn.execute(
            select(T.customer.c.external_id, T.customer.c.created_at, T.customer.c.name).order_by(
                T.customer.c.external_id
            )
        ).all()
    assert [tuple(row) for row in rows] == [
        ("C8", datetime(2024, 1, 1), None),
        ("C9", datetime(2024, 5, 1, 9), None),
    ]


def test_reimport_adds_nothing(engine: Engine, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "tx.csv",
        "customer_id,occurred_at,amount\nC1,2024-01-01,5\nC2,2024-01-02,6\n",
    )
    import_interactions(engine, path, ImportOptions())
    before = interactions(engine)
    report = import_interactions(engine, path, ImportOptions())
    assert (report.rows_read, report.rows_added, report.rows_already_present) == (2, 0, 2)
    assert report.customers_created == 0
    assert interactions(engine) == before
    assert counts(engine) == (2, 2, 2)  # one import_log row per import


def test_identical_rows_are_separate_events_and_reimport_matches_both(
    engine: Engine, tmp_path: Path
) -> None:
    two = "customer_id,occurred_at,amount\nC1,2024-01-01,5\nC1,2024-01-01,5\n"
    path = write(tmp_path, "tx.csv", two)
    assert import_interactions(engine, path, ImportOptions()).rows_added == 2
    assert import_interactions(engine, path, ImportOptions()).rows_added == 0
    # A later export of the same history with a third identical purchase adds exactly one.
    longer = write(tmp_path, "later.csv", two + "C1,2024-01-01,5.00\nC2,2024-01-01,5\n")
    report = import_interactions(engine, longer, ImportOptions())
    assert (report.rows_added, report.rows_already_present) == (2, 2)
    keys = [r["source_key"] for r in interactions(engine)]
    assert len(set(keys)) == 4
    assert [key.rsplit(":", 1)[1] for key in keys[:3]] == ["1", "2", "3"]
    assert len({key.rsplit(":", 1)[0] for key in keys[:3]}) == 1


def test_fingerprint_is_the_documented_hash_of_the_normalised_fields(
    engine: Engine, tmp_path: Path
) -> None:
    # The same event written two ways gets one key; the key is computed here by hand from the
    # rule in crm.core.importing.fingerprint.
    import hashlib

    path = write(
        tmp_path, "a.csv", "customer_id,occurred_at,amount\nC1,2024-01-01T12:00+02:00,12.3\n"
    )
    import_interactions(engine, path, ImportOptions())
    text = "\x1f".join(["C1", "purchase", "2024-01-01 10:00:00.000000", "1230", "", "", "", ""])
    digest = hashlib.blake2s(text.encode(), digest_size=16).hexdigest()
    assert [r["source_key"] for r in interactions(engine)] == [f"f:{digest}:1"]
    other = write(tmp_path, "b.csv", "customer_id,amount,occurred_at\nC1,12.30,2024-01-01 10:00\n")
    assert import_interactions(engine, other, ImportOptions()).rows_already_present == 1


def test_interaction_id_is_the_identity(engine: Engine, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "tx.csv",
        "id,customer_id,occurred_at,kind\nA1,C1,2024-01-01,visit\nA2,C1,2024-01-01,visit\n,C1,2024-01-01,visit\n",
    )
    options = ImportOptions(mapping={"interaction_id": "id"})
    assert import_interactions(engine, path, options).rows_added == 3
    fingerprinted, *known = [r["source_key"] for r in interactions(engine)]
    assert known == ["x:A1", "x:A2"]
    assert fingerprinted.startswith("f:") and fingerprinted.endswith(":1")
    changed = write(
        tmp_path, "changed.csv", "id,customer_id,occurred_at,kind\nA1,C1,2024-02-02,ticket\n"
    )
    report = import_interactions(engine, changed, options)
    assert (report.rows_added, report.rows_already_present) == (0, 1)


def test_progress_reports_bytes_up_to_the_file_size(engine: Engine, tmp_path: Path) -> None:
    body = "".join(f"C{n % 7},2024-01-01 00:00:{n % 60:02d},{n}.25\n" for n in range(2500))
    path = write(tmp_path, "tx.csv", "customer_id,occurred_at,amount\n" + body)
    seen: list[tuple[int, int]] = []
    report = import_interactions(
        engine, path, ImportOptions(batch_size=1000), lambda done, total: seen.append((done, total))
    )
    assert report.rows_added == 2500
    size = path.stat().st_size
    assert len(seen) == 3
    assert all(total == size for _done, total in seen)
    assert [done for done, _total in seen] == sorted(done for done, _total in seen)
    assert seen[-1][0] == size


def test_a_big_import_rebuilds_the_indexes_it_dropped(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bulk_module, "BULK_MIN_ROWS", 2)
    first = write(
        tmp_path, "a.csv", "customer_id,occurred_at,amount\nC1,2024-01-01,1\nC2,2024-01-02,2\n"
    )
    more = write(
        tmp_path,
        "b.csv",
        "customer_id,occurred_at,amount\nC1,2024-01-01,1\nC3,2024-01-03,3\nC3,2024-01-04,4\n",
    )
    assert import_interactions(engine, first, ImportOptions()).rows_added == 2
    report = import_interactions(engine, more, ImportOptions())
    assert (report.rows_added, report.rows_already_present) == (2, 1)
    names = {index["name"] for index in inspect(engine).get_indexes("interaction")}
    assert {"ix_interaction_facts", "ix_interaction_customer_time"} <= names
    if engine.dialect.name == "postgresql":
        keys = inspect(engine).get_foreign_keys("interaction")
        assert [key["referred_table"] for key in keys] == ["customer"]
    assert len(interactions(engine)) == 4


def test_a_failed_big_import_leaves_indexes_and_rows_as_they_were(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    good = write(tmp_path, "a.csv", "customer_id,occurred_at\nC1,2024-01-01\n")
    import_interactions(engine, good, ImportOptions())
    monkeypatch.setattr(bulk_module, "BULK_MIN_ROWS", 1)
    real = interactions_module.rows_changed

    def fail_on_interactions(conn: Connection, statement: Any) -> int:
        # The interaction INSERT runs after the indexes were dropped: fail it right there.
        if "INSERT INTO interaction" in str(statement):
            raise RuntimeError("disk full")
        return real(conn, statement)

    monkeypatch.setattr(interactions_module, "rows_changed", fail_on_interactions)
    bad = write(tmp_path, "b.csv", "customer_id,occurred_at\nC2,2024-01-01\nC3,2024-01-01\n")
    with pytest.raises(RuntimeError, match="disk full"):
        import_interactions(engine, bad, ImportOptions())
    names = {index["name"] for index in inspect(engine).get_indexes("interaction")}
    assert {"ix_interaction_facts", "ix_interaction_customer_time"} <= names
    assert counts(engine) == (1, 1, 1)


def test_a_header_without_rows_imports_nothing(engine: Engine, tmp_path: Path) -> None:
    path = write(tmp_path, "tx.csv", "customer_id,occurred_at\n")
    report = import_interactions(engine, path, ImportOptions())
    assert (report.rows_read, report.rows_added, report.customers_created) == (0, 0, 0)
    assert counts(engine) == (0, 0, 1)


def test_sqlite_connection_settings_are_restored_after_an_import(tmp_path: Path) -> None:
    # SQLite only: the import switches per-row foreign-key checks off and must switch them back.
    from crm.core.database import ensure_schema, make_engine

    engine = make_engine(f"sqlite:///{tmp_path / 'crm.db'}")
    ensure_schema(engine)
    good = write(tmp_path, "good.csv", "customer_id,occurred_at\nC1,2024-01-01\n")
    bad = write(tmp_path, "bad.csv", "customer_id,occurred_at\nC1,never\n")
    import_interactions(engine, good, ImportOptions())
    with pytest.raises(ImportDataError):
        import_interactions(engine, bad, ImportOptions())
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA threads").scalar() == 0
        assert not conn.connection.driver_connection.in_transaction  # type: ignore[union-attr]
