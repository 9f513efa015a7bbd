"""`crm segment` reuses the duplicate search while the customers are unchanged (SQLite and
PostgreSQL): the version of the customers, the cache file, and what invalidates it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import crm_idic.identify as identify_module
import numpy as np
import pytest
from crm_idic.customize import idic_tables, missing_steps
from crm_idic.identify.cache import cache_dir
from sqlalchemy import Engine

from crm.core.audit import record
from crm.core.config import parse_config
from crm.core.customer_version import customers_version
from crm.core.database import make_engine, read_only_connection
from crm.core.importing import ImportOptions
from crm.core.project import Project
from crm.core.schema import Tables

# As in test_identify.py: A2 is A1 written differently; H1 shares A1's phone and home.
CUSTOMERS = """customer_id,name,email,phone,country,city,birth_date,created_at
A1,Anna Weber,anna.weber@example.com,+49 30 1234567,Germany,Berlin,1980-05-17,2024-01-01T00:00:00
A2,WEBER Anna,Anna.Weber+shop@example.com,030 1234567,Germany,Berlin,,2025-01-01T00:00:00
H1,Paul Weber,paul.weber@example.org,+49 30 1234567,Germany,Berlin,1978-02-02,2024-06-01T00:00:00
N1,Lukas Brandt,lukas.brandt@example.net,+49 40 7654321,Germany,Hamburg,1990-09-09,2024-02-01T00:00:00
"""
#: Four customers teach EM nothing: fixed m and u (those of test_identify.py).
FIELDS = {
    "email": {"m": {"different": 0.02, "similar": 0.18, "same": 0.8},
              "u": {"different": 0.998, "similar": 0.0019, "same": 0.0001}},
    "phone": {"m": {"different": 0.05, "same_tail": 0.15, "same": 0.8},
              "u": {"different": 0.999, "same_tail": 0.0009, "same": 0.0001}},
    "name": {"m": {"different": 0.01, "initials": 0.09, "similar": 0.2, "same": 0.7},
             "u": {"different": 0.98, "initials": 0.01, "similar": 0.005, "same": 0.005}},
}  # fmt: skip


def _project(engine: Engine, tmp_path: Path, **idic: Any) -> Project:
    identify = {
        "default_region": "DE",
        "random_pairs": 1000,
        "fields": FIELDS,
        "email_domains": {"example.com": {"plus_addressing": True}},
    }
    config = parse_config(
        {
            "database": {"url": f"sqlite:///{tmp_path / 'unused.db'}"},
            "plugins": {"enabled": ["idic"]},
            "idic": {"identify": identify, **idic},
        }
    )
    return Project(config, engine=engine)


def _imported(engine: Engine, tmp_path: Path) -> Project:
    customers = tmp_path / "customers.csv"
    customers.write_text(CUSTOMERS)
    project = _project(engine, tmp_path)
    project.import_customers(customers, ImportOptions())
    return project


def _weights(project: Project) -> dict[str, float]:
    result = project.segment(store=False)
    weights = result.scores["idic.duplicate_weight"]
    return {
        str(k): float(w) for k, w in zip(result.facts.external_id, weights, strict=True) if w == w
    }


@pytest.fixture
def searches(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the duplicate searches (one entry per search)."""
    calls: list[int] = []
    real = identify_module.identify

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(identify_module, "identify", counted)
    return calls


def test_a_second_run_reads_the_cache_and_a_merge_invalidates_it(
    engine: Engine, tmp_path: Path, searches: list[int]
) -> None:
    project = _imported(engine, tmp_path)
    first = _weights(project)
    assert set(first) == {"A1", "A2", "H1"} and first["A2"] >= 8.0  # A1-A2 merge, H1 review
    assert len(searches) == 1
    assert len(list(cache_dir().glob("idic-*.npz"))) >= 1
    assert _weights(project) == first
    assert len(searches) == 1  # the cache answered
    ((survivor, merged, reason),) = _search(project).merges()
    project.merge_many([(survivor, merged, reason)])
    after = _weights(project)
    assert len(searches) == 3  # the merge changed the version: searched again
    assert "A2" not in after and set(after) <= {"A1", "H1"}


def _search(project: Project) -> Any:
    with read_only_connection(project.engine) as connection:
        return identify_module.identify(
            connection, project.tables, project.options["idic"].identify
        )


def test_the_version_changes_with_customers_written_through_crm_only(
    engine: Engine, tmp_path: Path
) -> None:
    project = _imported(engine, tmp_path)
    tables = Tables.default()

    def version() -> Any:
        with read_only_connection(engine) as connection:
            return customers_version(connection, tables)

    before = version()
    with engine.begin() as connection:
        record(connection, "unmasked export", customers=4)  # reads customers, changes none
    assert version() == before
    project.import_customers(_one_more(tmp_path), ImportOptions())
    changed = version()
    assert changed.database == before.database and changed.version != before.version


def _one_more(tmp_path: Path) -> Path:
    path = tmp_path / "more.csv"
    path.write_text("customer_id,name\nZ9,Zoe Zander\n")
    return path


def test_a_database_in_memory_has_no_version_and_two_databases_differ(
    engine: Engine, tmp_path: Path
) -> None:
    from crm.core.database import ensure_schema

    memory = make_engine("sqlite://")
    with memory.connect() as connection:
        assert customers_version(connection, Tables.default()) is None
    memory.dispose()
    other = make_engine(f"sqlite:///{tmp_path / 'other.db'}")
    ensure_schema(other)
    with read_only_connection(engine) as here, read_only_connection(other) as there:
        mine, theirs = (customers_version(c, Tables.default()) for c in (here, there))
    other.dispose()
    assert mine is not None and theirs is not None
    assert mine.database != theirs.database


def test_erasing_a_customer_removes_the_cached_links(
    engine: Engine, tmp_path: Path, searches: list[int]
) -> None:
    project = _imported(engine, tmp_path)
    _weights(project)
    with read_only_connection(engine) as connection:
        database = customers_version(connection, Tables.default()).database
    assert list(cache_dir().glob(f"idic-{database}-*.npz"))
    project.forget("N1")
    assert not list(cache_dir().glob(f"idic-{database}-*.npz"))


def test_the_idic_view_says_identify_was_not_run_when_runs_skip_it(
    engine: Engine, tmp_path: Path
) -> None:
    customers = tmp_path / "customers.csv"
    customers.write_text(CUSTOMERS)
    project = _project(engine, tmp_path, identify_in_runs=False)
    project.import_customers(customers, ImportOptions())
    result = project.segment(store=False)
    assert np.isnan(result.scores["idic.duplicate_weight"]).all()
    with read_only_connection(engine) as connection:
        missing = missing_steps(result, connection, project.tables, project.options["idic"])
    aggregate, per_customer = idic_tables(result, missing)
    assert aggregate.rows[0] == ("identify", "not run", None)
    assert {row[1] for row in per_customer.rows} == {"not run"}
