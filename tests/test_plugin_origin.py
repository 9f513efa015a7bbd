"""Plugin commands that clash, and where the "built-in" label comes from (issue 5, item 10)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner

from crm import hookimpl
from crm.cli import cli
from crm.cli.app import App
from crm.cli.init_command import write_default_config
from crm.core.config import load_config
from crm.core.plugins import BUNDLED_ENTRY_POINT_GROUP, installed_plugins


class ExportPlugin:
    """Adds `crm export`; two instances under different names clash."""

    def __init__(self, text: str, name: str = "export") -> None:
        self.text, self.name = text, name

    @hookimpl
    def register_commands(self, cli: click.Group) -> None:
        @cli.command(name=self.name)
        def export() -> None:
            """Export something."""
            click.echo(self.text)


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "crm.toml"
    path.write_text(f'[database]\nurl = "sqlite:///{tmp_path / "crm.db"}"\n')
    return path


def invoke(config: Path, plugins: tuple[tuple[str, object], ...], *args: str) -> Any:
    return CliRunner().invoke(cli, list(args), obj=App(config_path=config, extra_plugins=plugins))


TWO_EXPORTS = (("acme", ExportPlugin("acme")), ("globex", ExportPlugin("globex")))
SHADOWS_CORE = (("sneaky", ExportPlugin("sneaky", name="segment")),)


def test_two_plugins_adding_the_same_command_is_an_error_naming_both(config: Path) -> None:
    result = invoke(config, TWO_EXPORTS, "export")
    assert result.exit_code == 3
    assert result.stderr == (
        "Error: command 'export' is registered by both plugin 'acme' and plugin 'globex'; "
        "disable one of them in [plugins] enabled\n"
    )
    check = invoke(config, TWO_EXPORTS, "config", "check")
    assert check.exit_code == 3
    assert "command 'export' is registered by both plugin 'acme' and plugin 'globex'" in (
        check.stderr
    )


def test_a_plugin_command_named_like_a_core_command_is_an_error(config: Path) -> None:
    check = invoke(config, SHADOWS_CORE, "config", "check")
    assert check.exit_code == 3
    assert check.stderr == (
        "Error: plugin 'sneaky': adds a command 'segment', but `crm segment` is a core command; "
        "the plugin must give its command another name\n"
    )
    listed = invoke(config, SHADOWS_CORE, "--help")
    assert listed.exit_code == 0
    assert "crm: plugin commands are not listed: plugin 'sneaky': adds a command 'segment'" in (
        listed.stderr
    )


def test_one_plugin_command_still_works(config: Path) -> None:
    result = invoke(config, TWO_EXPORTS[:1], "export")
    assert result.exit_code == 0, result.output
    assert result.stdout == "acme\n"


# The built-in label: a marker the distribution declares, never a list of names in core.


def fake_distribution(site: Path, name: str, entry_points: dict[str, dict[str, str]]) -> None:
    """An installed distribution as importlib.metadata sees one: a dist-info folder."""
    info = site / f"{name.replace('-', '_')}-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    lines = []
    for group, points in entry_points.items():
        lines.append(f"[{group}]")
        lines.extend(f"{ep} = {value}" for ep, value in points.items())
    (info / "entry_points.txt").write_text("\n".join(lines) + "\n")


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "site"
    folder.mkdir()
    fake_distribution(folder, "crm-clv", {"crm": {"clv": "crm_clv"}})  # a bundled name, unmarked
    fake_distribution(
        folder,
        "acme-crm-extras",
        {"crm": {"acme": "acme_crm"}, BUNDLED_ENTRY_POINT_GROUP: {"acme": "acme_crm"}},
    )
    # Marks a plugin of another distribution: the mark does not count.
    fake_distribution(folder, "marker-only", {BUNDLED_ENTRY_POINT_GROUP: {"clv": "crm_clv"}})
    monkeypatch.syspath_prepend(str(folder))
    return folder


def test_the_rfm_distribution_declares_itself_built_in() -> None:
    rfm = installed_plugins()["rfm"]
    assert rfm.distribution == "crm-rfm"
    assert rfm.bundled is True


def test_built_in_is_what_a_distribution_declares_for_its_own_plugin(site: Path) -> None:
    found = installed_plugins()
    assert found["clv"].distribution == "crm-clv"
    assert found["clv"].bundled is False  # the name alone proves nothing
    assert found["acme"].bundled is True


def test_init_enables_exactly_the_plugins_marked_built_in(site: Path, tmp_path: Path) -> None:
    path = write_default_config(tmp_path / "project")
    enabled = load_config(path).plugins.enabled
    assert "acme" in enabled and "rfm" in enabled
    assert "clv" not in enabled  # a bundled name without the mark
    # the rest are this repository's other plugins installed beside rfm (idic, ...), all marked
    marked = {name for name, plugin in installed_plugins().items() if plugin.bundled}
    assert set(enabled) <= marked and list(enabled) == sorted(enabled)


def test_crm_plugins_shows_the_origin_from_the_marker(site: Path, config: Path) -> None:
    result = invoke(config, (), "plugins", "--format", "csv")
    assert result.exit_code == 0, result.output
    origins = {line.split(",")[0]: line.split(",")[2] for line in result.stdout.splitlines()[1:]}
    assert origins["clv"] == "third-party"
    assert origins["acme"] == "built-in"
    assert origins["rfm"] == "built-in"
