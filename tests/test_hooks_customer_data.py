"""The hooks through which plugins keep the customer data they store in step with core:
`customer_erased` (erasure and restores) and `customers_merged` (merges and their undo)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from crm import hookimpl
from crm.core.project import Project
from tests.test_hooks import PURCHASES, project_with


class AliasPlugin:
    """Stores customer aliases in a table of its own, and erases them when asked."""

    def __init__(self, fail: bool = False) -> None:
        self.keys: list[int] = []
        self.fail = fail

    @hookimpl
    def customer_erased(self, connection: Any, customer_key: int) -> None:
        from sqlalchemy import text

        self.keys.append(customer_key)
        connection.execute(text("DELETE FROM alias WHERE customer_key = :k"), {"k": customer_key})
        if self.fail:
            raise RuntimeError("alias store unavailable")


def _alias_project(tmp_path: Path, seed: Any, plugin: AliasPlugin) -> tuple[Project, int]:
    from sqlalchemy import text

    project = project_with(tmp_path, ("alias", plugin))
    seed(project.engine, PURCHASES, {"a": {"name": "Ann"}})
    with project.engine.begin() as conn:
        key = conn.execute(text("SELECT id FROM customer WHERE external_id = 'a'")).scalar_one()
        conn.execute(text("CREATE TABLE alias (customer_key INTEGER, alias TEXT)"))
        conn.execute(text("INSERT INTO alias VALUES (:k, 'ann@old'), (99, 'other')"), {"k": key})
    return project, key


def test_hook_customer_erased_runs_inside_the_erasure(tmp_path: Path, seed: Any) -> None:
    from sqlalchemy import text

    plugin = AliasPlugin()
    project, key = _alias_project(tmp_path, seed, plugin)
    project.forget("a")
    assert plugin.keys == [key]
    with project.engine.connect() as conn:
        assert conn.execute(text("SELECT alias FROM alias")).scalars().all() == ["other"]


def test_customer_erased_runs_again_when_a_restore_reapplies_an_erasure(
    tmp_path: Path, seed: Any
) -> None:
    from sqlalchemy import text

    plugin = AliasPlugin()
    project, key = _alias_project(tmp_path, seed, plugin)
    project.backup(tmp_path / "before.db")
    project.forget("a")
    project.restore(tmp_path / "before.db")  # brings back the plugin's row, then erases it
    assert plugin.keys == [key, key]
    with project.engine.connect() as conn:
        assert conn.execute(text("SELECT alias FROM alias")).scalars().all() == ["other"]


def test_a_failing_customer_erased_undoes_the_whole_erasure(tmp_path: Path, seed: Any) -> None:
    from sqlalchemy import text

    from crm.core.errors import PluginError

    project, key = _alias_project(tmp_path, seed, AliasPlugin(fail=True))
    with pytest.raises(PluginError, match="plugin 'alias': hook customer_erased failed"):
        project.forget("a")
    with project.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM alias")).scalar_one() == 2
        name = conn.execute(text("SELECT name FROM customer WHERE id = :k"), {"k": key}).scalar()
        assert name == "Ann"


class MergeWatcher:
    """Owns one row per customer in a table of its own and moves it with every merge."""

    def __init__(self) -> None:
        self.calls: list[tuple[int, bool, tuple[int, ...]]] = []

    @hookimpl
    def customers_merged(self, merge: Any, connection: Any) -> None:
        from sqlalchemy import text

        self.calls.append((merge.survivor_id, merge.undone, merge.merged_ids))
        # Inside the merge's transaction: the interactions have moved already.
        owners = connection.execute(text("SELECT DISTINCT customer_id FROM interaction")).all()
        connection.execute(text("CREATE TABLE IF NOT EXISTS seen (owners INTEGER)"))
        connection.execute(text("INSERT INTO seen VALUES (:n)"), {"n": len(owners)})


def test_hook_customers_merged(tmp_path: Path, seed: Any) -> None:
    from sqlalchemy import text

    plugin = MergeWatcher()
    project = project_with(tmp_path, ("watch", plugin))
    seed(project.engine, PURCHASES)  # customer a is id 1, b is id 2
    merge = project.merge_customers("a", ["b"])
    project.unmerge(merge.id)
    assert plugin.calls == [(1, False, (2,)), (1, True, (2,))]
    with project.engine.connect() as conn:
        # merged: every interaction on a (1 owner); undone: back on a and b (2 owners)
        assert conn.execute(text("SELECT owners FROM seen")).scalars().all() == [1, 2]


class FailingMergeWatcher:
    @hookimpl
    def customers_merged(self) -> None:
        raise RuntimeError("cannot move loyalty points")


def test_a_failing_customers_merged_rolls_the_merge_back(tmp_path: Path, seed: Any) -> None:
    from crm.core.errors import PluginError

    project = project_with(tmp_path, ("points", FailingMergeWatcher()))
    seed(project.engine, PURCHASES)
    with pytest.raises(PluginError, match=r"'points'.*cannot move loyalty points"):
        project.merge_customers("a", ["b"])
    assert project.merges(include_undone=True) == []
    assert project.merged_into("b") is None
