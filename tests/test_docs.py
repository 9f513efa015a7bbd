"""Meta-tests that keep the documentation honest.

- every hook in crm.core.hooks has a heading in docs/plugins.md that is its exact call signature,
  and the example under it is a valid plugin for that hook;
- every hook has its own test, `test_hook_<name>`, in tests/test_hooks*.py;
- every command of the `crm` command line has help text, and `--help` works.
"""

from __future__ import annotations

import inspect
import re
import types
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import click
import pluggy
import pytest
from click.testing import CliRunner

from crm.cli import cli
from crm.core import hooks

ROOT = Path(__file__).resolve().parent.parent
PLUGIN_DOCS = ROOT / "docs" / "plugins.md"
HOOK_TESTS = sorted((ROOT / "tests").glob("test_hooks*.py"))


def hook_specs() -> dict[str, Callable[..., Any]]:
    """Every function in crm.core.hooks that pluggy treats as a hook specification."""
    marker = f"{hooks.PROJECT_NAME}_spec"
    return {
        name: fn
        for name, fn in vars(hooks).items()
        if inspect.isfunction(fn) and getattr(fn, marker, None) is not None
    }


def signature_heading(name: str, fn: Callable[..., Any]) -> str:
    return f"{name}({', '.join(inspect.signature(fn).parameters)})"


def doc_sections() -> dict[str, str]:
    """Heading text -> the Markdown under it, up to the next heading of the same or higher level."""
    sections: dict[str, str] = {}
    text = PLUGIN_DOCS.read_text(encoding="utf-8")
    headings = list(re.finditer(r"^(#+) (.+)$", text, flags=re.MULTILINE))
    for index, heading in enumerate(headings):
        level = len(heading.group(1))
        end = next(
            (h.start() for h in headings[index + 1 :] if len(h.group(1)) <= level), len(text)
        )
        sections[heading.group(2).strip()] = text[heading.end() : end]
    return sections


def python_blocks(markdown: str) -> list[str]:
    return re.findall(r"^```python\n(.*?)^```", markdown, flags=re.MULTILINE | re.DOTALL)


HOOKS = sorted(hook_specs())


def test_there_are_hooks_to_check() -> None:
    assert {"register_scorers", "configure", "segmentation_finished"} <= set(HOOKS)


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hook_has_a_heading_with_its_signature(hook: str) -> None:
    heading = signature_heading(hook, hook_specs()[hook])
    assert heading in doc_sections(), f"docs/plugins.md has no heading `## {heading}`"


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hook_example_is_a_valid_plugin_for_that_hook(hook: str) -> None:
    """The first Python block under the hook's heading implements that hook, with argument
    names pluggy accepts; registering it runs the same validation crm runs at load time."""
    section = doc_sections()[signature_heading(hook, hook_specs()[hook])]
    blocks = python_blocks(section)
    assert blocks, f"the section of {hook} in docs/plugins.md has no ```python example"
    module = types.ModuleType(f"docs_example_{hook}")
    exec(compile(blocks[0], f"docs/plugins.md ({hook})", "exec"), module.__dict__)
    pm = pluggy.PluginManager(hooks.PROJECT_NAME)
    pm.add_hookspecs(hooks)
    pm.register(module, name=module.__name__)
    pm.check_pending()
    assert hook in {caller.name for caller in pm.get_hookcallers(module) or ()}


def test_every_python_block_in_the_plugin_guide_compiles() -> None:
    for number, block in enumerate(python_blocks(PLUGIN_DOCS.read_text(encoding="utf-8"))):
        compile(block, f"docs/plugins.md (python block {number + 1})", "exec")


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hook_has_its_own_test(hook: str) -> None:
    # `test_hook_configure` or `test_hook_customer_erased_runs_inside_the_erasure`; a letter
    # after the name would make it another hook ("configured").
    text = "\n".join(path.read_text(encoding="utf-8") for path in HOOK_TESTS)
    found = re.search(rf"def test_hook_{hook}(?![A-Za-z])", text)
    assert found, f"no test_hook_{hook} in tests/test_hooks*.py"


def walk(command: click.Command, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """The path of every command under `command`, itself included, groups' subcommands too."""
    yield path
    if isinstance(command, click.Group):
        for name, sub in sorted(command.commands.items()):
            yield from walk(sub, (*path, name))


def command_at(path: tuple[str, ...]) -> click.Command:
    command: click.Command = cli
    for name in path:
        assert isinstance(command, click.Group)
        command = command.commands[name]
    return command


COMMANDS = list(walk(cli))


def test_the_walk_reaches_subcommands() -> None:
    assert ("import", "interactions") in COMMANDS
    assert ("customers", "show") in COMMANDS


@pytest.mark.parametrize("path", COMMANDS, ids=lambda path: " ".join(("crm", *path)))
def test_every_command_has_help_text(path: tuple[str, ...]) -> None:
    command = command_at(path)
    assert (command.help or "").strip(), f"`crm {' '.join(path)}` has no help text"
    for param in command.params:
        if isinstance(param, click.Option) and not param.hidden:
            assert (param.help or "").strip(), f"`crm {' '.join(path)}` {param.opts} has no help"


@pytest.mark.parametrize("path", COMMANDS, ids=lambda path: " ".join(("crm", *path)))
def test_every_command_help_exits_0(
    path: tuple[str, ...], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An empty folder and no CRM_CONFIG: help must not need a project.
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CRM_CONFIG", raising=False)
    result = CliRunner().invoke(cli, [*path, "--help"], prog_name="crm")
    assert result.exit_code == 0, result.output
    assert "Usage: crm" in result.output


def test_every_chart_kind_is_named_in_the_plugin_guide() -> None:
    from crm.core.report_model import CHART_KINDS

    text = PLUGIN_DOCS.read_text(encoding="utf-8")
    assert [kind for kind in CHART_KINDS if f"`{kind}`" not in text] == []


def test_the_sankey_example_of_the_plugin_guide_runs() -> None:
    section = doc_sections()["register_reports(register)"]
    (block,) = [b for b in python_blocks(section) if 'kind="sankey"' in b]
    exec(compile(block, "docs/plugins.md (sankey)", "exec"), {})
