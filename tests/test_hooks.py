"""One test per hook: each proves the hook is called with what its spec promises.

tests/test_docs.py checks that every hook in crm.core.hooks is named in this file.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import click
import numpy as np
import pytest
from attrs import frozen
from click.testing import CliRunner
from sqlalchemy import func, select

from crm import (
    ConfigError,
    PluginError,
    ReportContext,
    ReportSpec,
    StageModelSpec,
    Table,
    hookimpl,
)
from crm.cli import cli
from crm.cli.app import App
from crm.core.config import parse_config
from crm.core.project import Project
from crm.core.report_model import Section
from tests.conftest import BigSpendersPlugin, SpendPlugin


def project_with(tmp_path: Path, *plugins: tuple[str, object], **tables: Any) -> Project:
    config = parse_config({"database": {"url": f"sqlite:///{tmp_path / 'crm.db'}"}, **tables})
    return Project(config, extra_plugins=tuple(plugins))


PURCHASES = [
    ("a", "2024-03-01T10:00:00", "150.00"),
    ("b", "2024-03-02T10:00:00", "20.00"),
    ("b", "2024-03-03T10:00:00", "30.50"),
]


def test_hook_register_scorers(tmp_path: Path, seed: Any) -> None:
    project = project_with(tmp_path, ("spend", SpendPlugin()))
    seed(project.engine, PURCHASES)
    result = project.segment(store=False)
    assert list(result.facts.external_id) == ["a", "b"]
    assert result.scores["spend.total"].tolist() == [15000.0, 5050.0]
    assert project.registry.scorers["spend"].plugin == "spend"


def test_hook_register_segmentations(tmp_path: Path, seed: Any) -> None:
    project = project_with(tmp_path, ("spend", SpendPlugin()), ("size", BigSpendersPlugin()))
    seed(project.engine, PURCHASES)
    result = project.segment(store=False)
    (outcome,) = result.outcomes
    assert outcome.name == "size"
    assert outcome.segment_names().tolist() == ["Big", "Small"]


@frozen
class TwoStages:
    stages = ("seen", "bought")

    def assign(self, context: Any) -> np.ndarray:
        return np.where(context.facts.purchases > 0, 1, 0)


class StagePlugin:
    @hookimpl
    def register_stage_models(self, register: Callable[[StageModelSpec], None]) -> None:
        register(StageModelSpec(name="journey", factory=lambda _o: TwoStages()))


def test_hook_register_stage_models(tmp_path: Path, seed: Any) -> None:
    rules = {"rules": [{"segment": "Buyer", "when": "journey == 'bought'"}], "default": "Looker"}
    project = project_with(tmp_path, ("stages", StagePlugin()), segmentations={"kind": rules})
    seed(project.engine, PURCHASES, {"z": {}})
    assert project.registry.stage_models["journey"].plugin == "stages"
    result = project.segment(store=False)
    outcomes = {o.name: o.segment_names().tolist() for o in result.outcomes}
    # z (inserted first) never purchased, a and b did: each gets a stage, and rules can read it
    assert list(result.facts.external_id) == ["z", "a", "b"]
    assert outcomes == {
        "journey": ["seen", "bought", "bought"],
        "kind": ["Looker", "Buyer", "Buyer"],
    }


@frozen
class Limit:
    minimum: int = 0


@frozen
class CountReport:
    options: Limit

    def build(self, context: ReportContext) -> Section:
        # the context's read-only connection and tables: an aggregate of the report's own
        purchases = context.connection.scalar(
            select(func.count()).select_from(context.tables.interaction)
        )
        return Section(
            title="Counts",
            blocks=(
                Table(
                    columns=("customers", "purchases", "as_of", "minimum"),
                    rows=(
                        (len(context.run.facts), purchases, context.as_of, self.options.minimum),
                    ),
                ),
            ),
        )


class ReportPlugin:
    @hookimpl
    def register_reports(self, register: Callable[[ReportSpec], None]) -> None:
        register(ReportSpec(name="count", factory=CountReport, options=Limit))


def test_hook_register_reports(tmp_path: Path, seed: Any) -> None:
    project = project_with(tmp_path, ("counts", ReportPlugin()), counts={"minimum": 3})
    seed(project.engine, PURCHASES)
    document = project.report(["count"], as_of=date(2024, 3, 3))
    (section,) = document.sections
    assert (section.report, section.plugin) == ("count", "counts")
    # as of 2024-03-03, b's purchase of that day is ignored by the run, not by the report's SQL
    assert section.tables[0].rows == ((2, 3, date(2024, 3, 3), 3),)
    assert document.header.as_of == "2024-03-03"
    assert document.header.run_id is None


@frozen
class Journeys:
    extra: tuple[str, ...] = ()


class ConfiguredStagesPlugin:
    """One static stage model (it declares the options class) and one per `extra` name."""

    def __init__(self) -> None:
        self.seen: list[Any] = []

    @hookimpl
    def register_stage_models(self, register: Callable[[StageModelSpec], None]) -> None:
        register(StageModelSpec(name="journey", factory=lambda _o: TwoStages(), options=Journeys))

    @hookimpl
    def register_configured(self, options: Journeys, register: Callable[[Any], None]) -> None:
        self.seen.append(options)
        for name in options.extra:
            if name == "bad":
                raise ConfigError(f"journeys.extra: {name!r} is not a journey")
            register(
                StageModelSpec(
                    name=f"journey_{name}", factory=lambda o: TwoStages(), options=Journeys
                )
            )


def test_hook_register_configured(tmp_path: Path, seed: Any) -> None:
    plugin = ConfiguredStagesPlugin()
    rules = {"rules": [{"segment": "Buyer", "when": "journey_web == 'bought'"}], "default": "No"}
    project = project_with(
        tmp_path,
        ("journeys", plugin),
        journeys={"extra": ["web", "store"]},
        segmentations={"kind": rules},
    )
    seed(project.engine, PURCHASES, {"z": {}})
    assert project.registry.stage_models["journey_web"].plugin == "journeys"
    assert plugin.seen == [Journeys(extra=("web", "store"))]  # structured, not raw
    result = project.segment(store=False)
    outcomes = {o.name: o.segment_names().tolist() for o in result.outcomes}
    # a rule segmentation reads a column that exists only because of the configuration
    assert outcomes["journey_store"] == ["seen", "bought", "bought"]
    assert outcomes["kind"] == ["No", "Buyer", "Buyer"]


def test_register_configured_runs_after_the_table_is_checked_with_key_paths(
    tmp_path: Path,
) -> None:
    plugin = ConfiguredStagesPlugin()
    project = project_with(tmp_path, ("journeys", plugin), journeys={"extra": "web"})
    with pytest.raises(ConfigError) as caught:
        project.registry  # noqa: B018
    assert "journeys.extra" in str(caught.value)
    assert plugin.seen == []  # never handed a table that did not structure
    bad = project_with(tmp_path, ("journeys", plugin), journeys={"extra": ["bad"]})
    with pytest.raises(ConfigError, match=r"journeys\.extra: 'bad' is not a journey"):
        bad.registry  # noqa: B018


class OtherOptionsPlugin(ConfiguredStagesPlugin):
    @hookimpl
    def register_configured(self, options: Journeys, register: Callable[[Any], None]) -> None:
        register(StageModelSpec(name="journey_x", factory=lambda o: TwoStages(), options=Limit))


def test_a_configured_component_must_declare_the_plugins_options_class(tmp_path: Path) -> None:
    project = project_with(tmp_path, ("journeys", OtherOptionsPlugin()))
    with pytest.raises(PluginError, match=r"declares options Limit, but .* into Journeys"):
        project.registry  # noqa: B018


class CommandPlugin:
    @hookimpl
    def register_commands(self, cli: click.Group) -> None:
        @cli.command()
        def hello() -> None:
            """Say hello."""
            click.echo("hello from a plugin")


def test_hook_register_commands(tmp_path: Path) -> None:
    config = tmp_path / "crm.toml"
    config.write_text(f'[database]\nurl = "sqlite:///{tmp_path / "crm.db"}"\n')
    app = App(config_path=config, extra_plugins=(("cmd", CommandPlugin()),))
    runner = CliRunner()
    assert "hello" in runner.invoke(cli, ["--help"], obj=app).output
    result = runner.invoke(
        cli, ["hello"], obj=App(config_path=config, extra_plugins=(("cmd", CommandPlugin()),))
    )
    assert result.exit_code == 0, result.output
    assert result.output == "hello from a plugin\n"
    without = runner.invoke(cli, ["hello"], obj=App(config_path=config))
    assert without.exit_code == 2
    assert "No such command 'hello'" in without.output


class ConfigurePlugin:
    def __init__(self) -> None:
        self.seen: list[tuple[Any, Any]] = []

    @hookimpl
    def configure(self, config: Any, registry: Any) -> None:
        self.seen.append((config, registry))


def test_hook_configure(tmp_path: Path) -> None:
    plugin = ConfigurePlugin()
    project = project_with(tmp_path, ("spend", SpendPlugin()), ("watch", plugin))
    registry = project.registry
    assert plugin.seen == [(project.config, registry)]
    assert "spend" in plugin.seen[0][1].scorers


def test_hook_configure_reaches_a_plugin_registered_later(tmp_path: Path) -> None:
    project = project_with(tmp_path, ("spend", SpendPlugin()))
    project.registry  # noqa: B018 - configure has been called now
    late = ConfigurePlugin()
    project.hooks.pm.register(late, "late")
    assert len(late.seen) == 1


class FinishedPlugin:
    def __init__(self) -> None:
        self.results: list[Any] = []

    @hookimpl
    def segmentation_finished(self, result: Any) -> None:
        self.results.append(result)


def test_hook_segmentation_finished(tmp_path: Path, seed: Any) -> None:
    plugin = FinishedPlugin()
    project = project_with(tmp_path, ("spend", SpendPlugin()), ("done", plugin))
    seed(project.engine, PURCHASES)
    stored = project.segment()
    unstored = project.segment(store=False)
    assert [r.run_id for r in plugin.results] == [stored.run_id, None]
    assert stored.run_id == 1
    assert unstored.scores["spend.total"].tolist() == [15000.0, 5050.0]


def test_a_plugin_may_accept_fewer_arguments_than_the_spec(tmp_path: Path) -> None:
    class NoArgs:
        called = False

        @hookimpl
        def configure(self) -> None:
            NoArgs.called = True

    project_with(tmp_path, ("noargs", NoArgs())).registry  # noqa: B018
    assert NoArgs.called


HOOK_NAMES = sorted(
    name
    for name, value in vars(__import__("crm.core.hooks").core.hooks).items()
    if callable(value) and hasattr(value, "crm_spec")
)


def test_the_hook_list_is_what_the_docs_and_this_module_cover() -> None:
    assert HOOK_NAMES == [
        "configure",
        "customer_erased",
        "customers_merged",
        "register_commands",
        "register_configured",
        "register_reports",
        "register_scorers",
        "register_segmentations",
        "register_stage_models",
        "segmentation_finished",
    ]


@pytest.mark.parametrize("hook", HOOK_NAMES)
def test_every_hook_spec_states_its_contract(hook: str) -> None:
    from crm.core import hooks

    assert len(getattr(hooks, hook).__doc__.strip()) > 40
