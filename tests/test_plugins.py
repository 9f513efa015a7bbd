"""The plugin manager: discovery, enabling, duplicates, misspelled hooks, failures named."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from crm import Metric, ScorerSpec, hookimpl
from crm.core.config import parse_config
from crm.core.errors import ConfigError, DuplicateComponentError, PluginError
from crm.core.plugins import LOAD_PLUGINS_ENV, InstalledPlugin, make_plugin_manager
from crm.core.project import Project


def project_with(tmp_path: Path, *plugins: tuple[str, object], **tables: Any) -> Project:
    config = parse_config({"database": {"url": f"sqlite:///{tmp_path / 'crm.db'}"}, **tables})
    return Project(config, extra_plugins=tuple(plugins))


def scorer_plugin(name: str = "spend") -> object:
    class Plugin:
        @hookimpl
        def register_scorers(self, register: Any) -> None:
            register(
                ScorerSpec(
                    name=name,
                    factory=lambda _o: None,
                    metrics=(Metric("x"),),
                )
            )

    return Plugin()


def test_duplicate_scorer_names_both_plugins(tmp_path: Path) -> None:
    project = project_with(tmp_path, ("acme", scorer_plugin()), ("globex", scorer_plugin()))
    with pytest.raises(DuplicateComponentError) as info:
        project.registry  # noqa: B018
    message = str(info.value)
    assert "scorer 'spend'" in message
    assert "'acme'" in message
    assert "'globex'" in message


def test_misspelled_hook_name_fails_at_load_naming_the_plugin(tmp_path: Path) -> None:
    class Typo:
        @hookimpl
        def register_scorer(self, register: Any) -> None:  # missing "s"
            pass

    with pytest.raises(PluginError) as info:
        make_plugin_manager((), extra=[("typo", Typo())])
    assert info.value.plugin == "typo"
    assert "register_scorer" in str(info.value)


def test_unknown_hook_argument_is_rejected_at_registration() -> None:
    class Extra:
        @hookimpl
        def register_scorers(self, register: Any, bogus: Any) -> None:
            pass

    with pytest.raises(PluginError, match="bogus"):
        make_plugin_manager((), extra=[("extra", Extra())])


def test_enabling_a_plugin_that_is_not_installed_lists_the_installed_ones() -> None:
    with pytest.raises(ConfigError) as info:
        make_plugin_manager(("nope",), installed={})
    assert "plugins.enabled: plugin 'nope' is not installed" in str(info.value)


def test_a_plugin_that_fails_to_import_is_named(tmp_path: Path) -> None:
    broken = InstalledPlugin(
        name="broken", value="crm_no_such_module", distribution=None, version=None
    )
    with pytest.raises(PluginError) as info:
        broken.load()
    assert info.value.plugin == "broken"


def test_a_crashing_register_hook_is_named(tmp_path: Path) -> None:
    class Crashing:
        @hookimpl
        def register_scorers(self, register: Any) -> None:
            raise RuntimeError("boom")

    project = project_with(tmp_path, ("ok", scorer_plugin()), ("crashy", Crashing()))
    with pytest.raises(PluginError) as info:
        project.registry  # noqa: B018
    assert info.value.plugin == "crashy"
    assert "boom" in str(info.value)


def test_a_crashing_scorer_is_named(tmp_path: Path, seed: Any) -> None:
    class Bad:
        def score(self, context: Any) -> Any:
            raise ZeroDivisionError("oops")

    class Plugin:
        @hookimpl
        def register_scorers(self, register: Any) -> None:
            register(ScorerSpec(name="bad", factory=lambda _o: Bad(), metrics=(Metric("x"),)))

    project = project_with(tmp_path, ("badplugin", Plugin()))
    seed(project.engine, [("a", "2024-01-01T00:00:00", "1.00")])
    with pytest.raises(PluginError) as info:
        project.segment(store=False)
    assert info.value.plugin == "badplugin"
    assert "scorer 'bad' failed: ZeroDivisionError: oops" in str(info.value)


def test_a_scorer_returning_the_wrong_metrics_is_named(tmp_path: Path, seed: Any) -> None:
    class Wrong:
        def score(self, context: Any) -> Any:
            return {"y": np.zeros(len(context.facts))}

    class Plugin:
        @hookimpl
        def register_scorers(self, register: Any) -> None:
            register(ScorerSpec(name="wrong", factory=lambda _o: Wrong(), metrics=(Metric("x"),)))

    project = project_with(tmp_path, ("wrongplugin", Plugin()))
    seed(project.engine, [("a", "2024-01-01T00:00:00", "1.00")])
    with pytest.raises(PluginError, match=r"returned \['y'\], expected the metrics \['x'\]"):
        project.segment(store=False)


def test_a_table_for_an_unknown_plugin_is_an_error(tmp_path: Path) -> None:
    project = project_with(tmp_path, **{"rmf": {"bins": 5}})
    with pytest.raises(ConfigError, match=r"crm.toml: rmf: no installed plugin is called 'rmf'"):
        project.registry  # noqa: B018


def test_load_plugins_environment_variable_limits_the_enabled_plugins(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    loaded: list[str] = []

    class Fake(InstalledPlugin):
        def load(self) -> object:
            loaded.append(self.name)
            return type(self.name, (), {})()

    installed = {n: Fake(name=n, value=n, distribution=None, version=None) for n in ("a", "b")}
    monkeypatch.setenv(LOAD_PLUGINS_ENV, "b")
    pm = make_plugin_manager(("a", "b"), installed=installed)
    assert loaded == ["b"]
    assert [name for name, _ in pm.list_name_plugin()] == ["crm", "b"]
    monkeypatch.setenv(LOAD_PLUGINS_ENV, "")
    loaded.clear()
    make_plugin_manager(("a", "b"), installed=installed)
    assert loaded == []


def test_a_crashing_configure_hook_is_named(tmp_path: Path) -> None:
    class Crashing:
        @hookimpl
        def configure(self, config: Any) -> None:
            raise LookupError("no such thing")

    # Both plugin classes live in this module: the blame must follow the object, not the module.
    project = project_with(tmp_path, ("fragile", Crashing()), ("ok", scorer_plugin()))
    with pytest.raises(PluginError) as info:
        project.registry  # noqa: B018
    assert info.value.plugin == "fragile"
    assert str(info.value) == "plugin 'fragile': hook configure failed: LookupError: no such thing"


def test_a_crashing_factory_is_named(tmp_path: Path) -> None:
    def explode(_options: Any) -> None:
        raise ValueError("bad wiring")

    class Plugin:
        @hookimpl
        def register_scorers(self, register: Any) -> None:
            register(ScorerSpec(name="boom", factory=explode, metrics=(Metric("x"),)))

    project = project_with(tmp_path, ("wired", Plugin()))
    with pytest.raises(PluginError, match="building scorer 'boom' failed: ValueError: bad wiring"):
        project.plan()


def test_a_scorer_cannot_write_through_its_connection(engine: Any, seed: Any) -> None:
    from sqlalchemy import delete, func, select

    from crm.core.schema import InteractionRow

    class Vandal:
        def score(self, context: Any) -> Any:
            context.connection.execute(delete(context.tables.interaction))
            return {"x": np.zeros(len(context.facts))}

    class Plugin:
        @hookimpl
        def register_scorers(self, register: Any) -> None:
            register(ScorerSpec(name="vandal", factory=lambda _o: Vandal(), metrics=(Metric("x"),)))

    seed(engine, [("a", "2024-01-01T00:00:00", "1.00")])
    project = Project(parse_config({}), extra_plugins=(("vandal", Plugin()),), engine=engine)
    with pytest.raises(PluginError, match="scorer 'vandal' failed"):
        project.segment(store=False)
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(InteractionRow)) == 1
    # the pooled connection is writable again for the commands that write
    with engine.begin() as conn:
        conn.execute(delete(InteractionRow))
        assert conn.scalar(select(func.count()).select_from(InteractionRow)) == 0
