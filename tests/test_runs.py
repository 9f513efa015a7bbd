"""Stored runs: what is written, that it reads back identically, which run is current, and
that deleting, pruning and erasing leave no rows behind."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import numpy as np
import pytest
from sqlalchemy import Engine, func, select, update

from crm.core import run_reading, runs
from crm.core.config import parse_config
from crm.core.project import Project
from crm.core.run_reading import customer_in_run, load_run
from crm.core.runs import RUN_TABLES, current_run, erase_customer_from_runs
from crm.core.schema import RunRow
from tests.conftest import BigSpendersPlugin, SpendPlugin
from tests.run_factory import hand_made_result, store

PURCHASES = [
    ("a", "2024-03-01T10:00:00", "150.00"),
    ("b", "2024-03-02T10:00:00", "20.00"),
]


def project_on(engine: Engine) -> Project:
    plugins = (("spend", SpendPlugin()), ("size", BigSpendersPlugin()))
    return Project(parse_config({}), extra_plugins=plugins, engine=engine)


def rows_of_run(engine: Engine, run_id: int) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            table.__tablename__: conn.scalar(
                select(func.count())
                .select_from(table)
                .where(table.__table__.c["id" if table is RunRow else "run_id"] == run_id)
            )
            for table in RUN_TABLES
        }


def test_a_stored_run_records_as_of_config_hash_plugins_segments_and_scores(
    engine: Engine, seed: Any
) -> None:
    project = project_on(engine)
    seed(engine, PURCHASES)
    result = project.segment()
    with engine.connect() as conn:
        run = conn.execute(select(RunRow.__table__)).one()
    assert run.id == result.run_id
    assert str(run.as_of) == "2024-03-03"
    assert run.config_hash == project.config.hash()
    assert run.plugins["spend"] == "unpackaged"
    assert "crm" in run.plugins
    assert run.customers == 2
    loaded = project.load_run(run.id)
    assert loaded.facts.external_id.tolist() == ["a", "b"]
    assert [o.name for o in loaded.outcomes] == ["size"]
    assert loaded.outcomes[0].segment_names().tolist() == ["Big", "Small"]
    assert loaded.outcomes[0].segments[0].description == "spent 100 or more"
    assert loaded.scores["spend.total"].tolist() == [15000.0, 2000.0]
    assert loaded.metrics["spend.total"].kind == "money"
    assert loaded.facts.revenue_minor.tolist() == [15000, 2000]
    assert loaded.facts.purchases.tolist() == [1, 1]


def test_a_stored_run_reloads_to_identical_assignments_and_scores(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runs, "CHUNK_SIZE", 1_000)  # 4 chunks, the last one partial
    rng = np.random.default_rng(7)
    n = 3_500
    keys = np.cumsum(rng.integers(1, 40, n))  # gaps, as after deleted customers
    whole = rng.integers(1, 6, n).astype(float)
    whole[rng.random(n) < 0.1] = np.nan
    scores = {
        "s.whole": whole,  # stored as int8
        "s.cents": rng.integers(-(2**40), 2**40, n).astype(float),  # int64
        "s.single": rng.random(n).astype(np.float32).astype(float),  # float32 is exact
        "s.double": rng.normal(0, 1e6, n),  # float64, bit for bit
        "s.odd": np.tile([np.inf, -np.inf, -0.0, 5e-324, np.nan], n // 5),
    }
    codes = rng.integers(-1, 3, n)
    many = rng.integers(0, 300, n)  # more segments than int8 holds
    revenue = rng.integers(0, 10**9, n)
    result = hand_made_result(
        date(2025, 1, 1),
        keys.tolist(),
        {"abc": (["A", "B", "C"], codes.tolist()), "wide": ([f"s{i}" for i in range(300)], many)},
        scores,
        revenue.tolist(),
        rng.integers(0, 50, n).tolist(),
        artifacts={"s.card": {"alpha": 0.5, "levels": [1, 2]}},
    )
    run_id = store(engine, result)
    with engine.connect() as conn:
        loaded = load_run(conn, run_id)
    assert np.array_equal(loaded.facts.customer_id, keys)
    assert np.array_equal(loaded.outcomes[0].codes, codes)
    assert np.array_equal(loaded.outcomes[1].codes, many)
    for name, values in scores.items():
        assert loaded.scores[name].view(np.int64).tolist() == values.view(np.int64).tolist() or (
            np.array_equal(loaded.scores[name], values, equal_nan=True)
            and np.array_equal(np.signbit(loaded.scores[name]), np.signbit(values))
        ), name
    assert np.array_equal(loaded.facts.revenue_minor, revenue)
    assert loaded.artifacts == {"s.card": {"alpha": 0.5, "levels": [1, 2]}}
    assert rows_of_run(engine, run_id)["run_chunk"] == 4


def simulated_rfm_run(n: int, rng: np.random.Generator) -> Any:
    """Customers as RFM sees them: 10% never purchased; recency up to two years; Pareto-like
    orders; lognormal spend in cents; quintile scores; eleven segments."""
    buyer = rng.random(n) >= 0.1
    recency = rng.integers(0, 730, n).astype(float)
    frequency = (1 + rng.geometric(0.35, n)).astype(float)
    monetary = np.round(rng.lognormal(9, 1.2, n))
    r, f, m = (rng.integers(1, 6, n).astype(float) for _ in range(3))
    fm = np.floor((f + m) / 2)
    scores = {}
    for name, values in (
        ("recency", recency),
        ("frequency", frequency),
        ("monetary", monetary),
        ("r", r),
        ("f", f),
        ("m", m),
        ("fm", fm),
    ):
        scores[f"rfm.{name}"] = np.where(buyer, values, np.nan)
    codes = np.where(buyer, rng.integers(0, 11, n), -1)
    return hand_made_result(
        date(2025, 1, 1),
        list(range(1, n + 1)),
        {"rfm": ([f"segment {i}" for i in range(11)], codes.tolist())},
        scores,
        np.where(buyer, monetary, 0).astype(np.int64).tolist(),
        np.where(buyer, frequency, 0).astype(np.int64).tolist(),
    )


def test_a_run_of_100k_customers_stores_in_under_20_bytes_per_customer(tmp_path: Any) -> None:
    from crm.core.database import ensure_schema, make_engine

    engine = make_engine(f"sqlite:///{tmp_path / 'size.db'}")
    ensure_schema(engine)
    n = 100_000
    store(engine, simulated_rfm_run(n, np.random.default_rng(3)))
    names = [t.__tablename__ for t in RUN_TABLES]
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(FULL)")
        # dbstat: the pages each table and index occupies, overhead included.
        used = conn.exec_driver_sql(
            "SELECT sum(pgsize) FROM dbstat WHERE name IN (SELECT name FROM sqlite_master "
            f"WHERE tbl_name IN ({', '.join('?' * len(names))}))",
            tuple(names),
        ).scalar_one()
    engine.dispose()
    # The bound: 2 MB per 100,000 customers for segments and scores together (the
    # two facts kept per customer are inside it too).
    assert used / n <= 20, f"{used / n:.1f} bytes per customer"


def test_one_customer_is_read_from_one_chunk(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runs, "CHUNK_SIZE", 100)
    n = 1_000
    result = hand_made_result(
        date(2025, 1, 1),
        [2 * i for i in range(n)],
        {"parity": (["even tens", "odd tens"], [(i // 10) % 2 for i in range(n)])},
        {"s.x": [float(i) for i in range(n)]},
        revenue_minor=[i * 100 for i in range(n)],
    )
    run_id = store(engine, result)
    decoded: list[str] = []
    original = run_reading.decode_column

    def counting(name: str, *args: Any) -> Any:
        decoded.append(name)
        return original(name, *args)

    monkeypatch.setattr(run_reading, "decode_column", counting)
    with engine.connect() as conn:
        found = customer_in_run(conn, 2 * 437, run_id)
        missing = customer_in_run(conn, 2 * 437 + 1, run_id)
    assert found is not None and found.covered
    assert found.scores == {"s.x": 437.0}
    assert found.segments["parity"] is not None and found.segments["parity"].name == "odd tens"
    assert found.revenue_minor == 43_700
    # Columns of one chunk: the segment codes, one score and the two facts, decoded once each.
    assert sorted(decoded) == [
        "fact:purchases",
        "fact:revenue_minor",
        "score:s.x",
        "segment:parity",
    ]
    assert missing is not None and not missing.covered


def test_the_current_run_is_the_latest_of_the_latest_analysis_date(engine: Engine) -> None:
    one = hand_made_result(date(2025, 6, 1), [1], {"g": (["A"], [0])})
    first = store(engine, one)
    back_dated = store(engine, hand_made_result(date(2024, 6, 1), [1], {"g": (["A"], [0])}))
    with engine.connect() as conn:
        current = current_run(conn)
    assert current is not None and current.id == first != back_dated
    again = store(engine, one)
    with engine.connect() as conn:
        current = current_run(conn)
    assert current is not None and current.id == again


def three_runs(engine: Engine) -> list[int]:
    ids = [
        store(
            engine,
            hand_made_result(
                date(2025, month, 1),
                [1, 2, 3],
                {"g": (["A", "B"], [0, 1, -1])},
                {"s.x": [1.0, 2.0, 3.0]},
                artifacts={"s.card": {"month": month}},
            ),
        )
        for month in (1, 2, 3)
    ]
    with engine.begin() as conn:  # created on three days, oldest first
        for day, run_id in enumerate(ids, start=1):
            conn.execute(
                update(RunRow).where(RunRow.id == run_id).values(created_at=datetime(2025, 5, day))
            )
    return ids


def test_deleting_a_run_leaves_no_row_of_it_and_keeps_the_others(engine: Engine) -> None:
    project = Project(parse_config({}), engine=engine)
    first, second, third = three_runs(engine)
    assert rows_of_run(engine, second) == {
        "run_artifact": 1,
        "run_column": 4,  # segment codes, one score, two facts
        "run_chunk": 1,
        "run_metric": 1,
        "run_segmentation": 1,
        "segmentation_run": 1,
    }
    assert project.delete_runs([second]) == 1
    assert set(rows_of_run(engine, second).values()) == {0}
    assert rows_of_run(engine, first)["run_column"] == 4
    assert [run.id for run in project.runs()] == [third, first]


def test_pruning_keeps_the_newest_and_the_current_run(engine: Engine) -> None:
    project = Project(parse_config({}), engine=engine)
    first, second, third = three_runs(engine)
    # Back-date the newest so that the oldest is current: it must survive --keep 1.
    with engine.begin() as conn:
        conn.execute(update(RunRow).where(RunRow.id == third).values(as_of=date(2024, 1, 1)))
        conn.execute(update(RunRow).where(RunRow.id == first).values(as_of=date(2026, 1, 1)))
    assert [r.id for r in project.prune_runs(keep=1)] == [second]
    assert set(rows_of_run(engine, second).values()) == {0}
    assert [run.id for run in project.runs()] == [third, first]


def test_pruning_before_a_day_deletes_runs_created_earlier(engine: Engine) -> None:
    project = Project(parse_config({}), engine=engine)
    first, second, third = three_runs(engine)
    assert [r.id for r in project.prune_runs(before=date(2025, 5, 3))] == [second, first]
    assert [run.id for run in project.runs()] == [third]
    for run_id in (first, second):
        assert set(rows_of_run(engine, run_id).values()) == {0}


def test_erasing_a_customer_removes_them_from_every_run(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runs, "CHUNK_SIZE", 2)
    _, second, _ = three_runs(engine)  # customers 1, 2 | 3 in two chunks
    with engine.begin() as conn:
        assert erase_customer_from_runs(conn, 3) == 3  # the last of a chunk: the chunk goes
        assert erase_customer_from_runs(conn, 1) == 3
        assert erase_customer_from_runs(conn, 1) == 0
    with engine.connect() as conn:
        loaded = load_run(conn, second)
        run = conn.execute(select(RunRow.customers).where(RunRow.id == second)).scalar_one()
    assert loaded.facts.customer_id.tolist() == [2]
    assert loaded.outcomes[0].segment_names().tolist() == ["B"]
    assert loaded.scores["s.x"].tolist() == [2.0]
    assert run == 3  # the run's total still counts them as they were (docs/privacy.md)
    assert rows_of_run(engine, second)["run_chunk"] == 1


def test_reports_give_the_same_tables_on_a_fresh_and_a_loaded_run(
    engine: Engine, seed: Any
) -> None:
    from crm.core.reports import customer_rows, segment_summary

    project = project_on(engine)
    seed(engine, [*PURCHASES, ("c", "2024-03-02T11:00:00", "100.00")], {"d": {}})
    fresh = project.segment()
    loaded = project.load_run()
    assert loaded.run_id == fresh.run_id
    assert segment_summary(loaded) == segment_summary(fresh)
    assert customer_rows(loaded) == customer_rows(fresh)
    big = customer_rows(loaded, {"size": ["Big"]})
    assert [row[0] for row in big.rows] == ["a", "c"]
