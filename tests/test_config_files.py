"""Broken crm.toml files (issue 5, item 7): every one is a ConfigError naming the file and where.

Reproducers: a non-UTF-8 byte, UTF-16, nesting 5,000 deep, `import_.` in key paths, a list where
a table belongs, `[import]` values `crm import` rejects, and problems of several stages at once.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from crm.cli import cli
from crm.cli.app import App
from crm.core.checks import check_config
from crm.core.config import load_config, loads_config
from crm.core.errors import ConfigError, ProblemsError
from crm.core.importing import ImportOptions

DEEP = 5_000

BROKEN_FILES: dict[str, bytes] = {
    "latin-1": '[plugins]\nenabled = ["r\xe9m"]\n'.encode("latin-1"),
    "utf-16": '[plugins]\nenabled = ["rfm"]\n'.encode("utf-16"),
    "utf-16 without mark": '[plugins]\nenabled = ["rfm"]\n'.encode("utf-16-le"),
    "deep arrays": ("a = " + "[" * DEEP + "]" * DEEP + "\n").encode(),
    "deep inline tables": ("a = " + "{b = " * DEEP + "1" + "}" * DEEP + "\n").encode(),
    "deep tables": ("[" + ".".join(["a"] * DEEP) + "]\n").encode(),
    "not toml": b"[plugins\nenabled = \n",
}

EXPECTED_LINES = {
    "latin-1": "crm.toml: line 2, column 14: byte 0xe9 is not UTF-8; save the file as UTF-8",
    "utf-16": "crm.toml: the file is UTF-16 (or another wide encoding); save it as UTF-8",
    "utf-16 without mark": "crm.toml: the file is UTF-16 (or another wide encoding); save it as "
    "UTF-8",
    "deep arrays": "crm.toml: cannot be read: arrays or inline tables are nested too deep for "
    "the TOML reader (crm configuration goes at most 32 levels deep)",
    "deep inline tables": "crm.toml: cannot be read: arrays or inline tables are nested too "
    "deep for the TOML reader (crm configuration goes at most 32 levels deep)",
    "deep tables": "crm.toml: a.a.a.a.a.a.a.a ...: tables or arrays nested more than 32 levels "
    "deep; crm configuration is never that deep (a key path repeated by mistake?)",
    "not toml": "crm.toml: not valid TOML: Expected ']' at the end of a table declaration (at "
    "line 1, column 9)",
}


def run(config: Path, *args: str) -> Any:
    return CliRunner().invoke(cli, list(args), obj=App(config_path=config))


@pytest.mark.parametrize("case", sorted(BROKEN_FILES))
def test_an_unreadable_file_is_one_line_naming_it(case: str, tmp_path: Path) -> None:
    config = tmp_path / "crm.toml"
    config.write_bytes(BROKEN_FILES[case])
    with pytest.raises(ConfigError) as caught:
        load_config(config)
    assert caught.value.lines == (EXPECTED_LINES[case],)
    result = run(config, "config", "check")
    assert result.exit_code == 2
    assert result.stderr == f"Error: {EXPECTED_LINES[case]}\n"


@pytest.mark.parametrize("case", sorted(BROKEN_FILES))
def test_help_works_whatever_the_config_holds(case: str, tmp_path: Path) -> None:
    config = tmp_path / "crm.toml"
    config.write_bytes(BROKEN_FILES[case])
    result = run(config, "--help")
    assert result.exit_code == 0
    assert "Traceback" not in result.output
    assert "segment" in result.stdout  # the core commands are listed
    assert result.stderr == f"crm: plugin commands are not listed: {EXPECTED_LINES[case]}\n"


def test_help_outside_a_project_is_quiet(tmp_path: Path) -> None:
    result = run(tmp_path / "crm.toml", "--help")
    assert result.exit_code == 0
    assert result.stderr == ""


def test_key_paths_name_the_import_table_as_written() -> None:
    with pytest.raises(ConfigError) as caught:
        loads_config("[import]\ndelimiter = 5\n[import.interactions]\namount = 1\n")
    assert caught.value.lines == (
        "crm.toml: import.interactions.amount: expected a string, got 1",
        "crm.toml: import.delimiter: expected a string, got 5",
    )


def test_a_list_where_a_table_belongs_names_the_key() -> None:
    with pytest.raises(ConfigError) as caught:
        loads_config('[import]\ncustomers = ["a"]\n')
    assert caught.value.lines == (
        "crm.toml: import.customers: expected a table (key = value lines), got ['a']",
    )


def test_keys_that_need_quotes_are_quoted_in_the_path() -> None:
    with pytest.raises(ConfigError) as caught:
        loads_config('[segmentations."a.b"]\ndefault = 1\nrules = [{segment = "x", when = []}]\n')
    assert caught.value.lines == (
        'crm.toml: segmentations."a.b".default: expected a string, got 1',
    )


# `[import]` values: config check rejects what `crm import` would reject, with the same rule.
IMPORT_VALUES = [
    ("date_format", "YYYY", "ImportOptions(date_format=...)"),
    ("date_format", "%Q", "ImportOptions(date_format=...)"),
    ("delimiter", ";;", "ImportOptions(delimiter=...)"),
    ("delimiter", "\n", "ImportOptions(delimiter=...)"),
    ("delimiter", "", "ImportOptions(delimiter=...)"),
]


@pytest.mark.parametrize(("key", "value", "_"), IMPORT_VALUES)
def test_config_check_rejects_import_values_that_crm_import_rejects(
    key: str, value: str, _: str, tmp_path: Path
) -> None:
    import tomli_w

    config = tmp_path / "crm.toml"
    config.write_text(tomli_w.dumps({"import": {key: value}}))
    result = run(config, "config", "check")
    assert result.exit_code == 2
    assert result.stderr.startswith(f"Error: crm.toml: import.{key}: expected ")
    assert result.stderr.rstrip().endswith(f"got {value!r}") or "strptime cannot" in result.stderr
    with pytest.raises(ConfigError):  # and the importer agrees
        ImportOptions(**{key: value})


def test_config_check_rejects_fields_the_importer_does_not_have(tmp_path: Path) -> None:
    config = tmp_path / "crm.toml"
    config.write_text('[import.customers]\nnmae = "Name"\n[import.interactions]\nname = "N"\n')
    result = run(config, "config", "check")
    assert result.exit_code == 2
    lines = result.stderr.removeprefix("Error: ").splitlines()
    assert lines[0].startswith("crm.toml: import.customers.nmae: not a field of customers; ")
    assert lines[1].startswith("crm.toml: import.interactions.name: not a field of interactions")
    assert len(lines) == 2


def test_every_stage_reports_its_problems_in_one_run(tmp_path: Path) -> None:
    """The README's example, plus a problem of each later stage."""
    config = tmp_path / "crm.toml"
    config.write_text(
        '[plugins]\nenabled = "rfm"\n'  # phase 1, core tables
        "[rfm]\nbins = 50\n"  # phase 2, plugin options
        "[rmf]\nbins = 5\n"  # a table no plugin owns
        '[import]\ndate_format = "YYYY"\n'
        '[import.customers]\nnmae = "Name"\n'  # importer fields
        '[segmentations.big]\nrules = [{segment = "Big", when = "rfm.monetry >= 1000"}]\n'
    )
    with pytest.raises(ProblemsError) as caught:
        check_config(config)
    lines = caught.value.lines
    assert caught.value.exit_code == 2
    assert [line.split(":")[1].strip() for line in lines] == [
        "plugins.enabled",
        "import.date_format",
        "import.customers.nmae",
        "rmf",
        "rfm.bins",
        "segmentations.big.rules[0].when",
    ]
    assert lines[0] == "crm.toml: plugins.enabled: expected a list of strings, got the string 'rfm'"
    assert lines[4] == (
        "crm.toml: rfm.bins: expected an integer from 2 to 10 (score levels 1..bins), got 50"
    )
    assert "did you mean 'rfm.monetary'?" in lines[5]
    result = run(config, "config", "check")
    assert result.exit_code == 2
    assert result.stderr.removeprefix("Error: ").splitlines() == list(lines)


def test_a_valid_config_passes_the_check(tmp_path: Path) -> None:
    config = tmp_path / "crm.toml"
    config.write_text(
        '[plugins]\nenabled = ["rfm"]\n[import]\ndate_format = "%d/%m/%Y"\ndelimiter = ";"\n'
        '[import.customers]\nname = "Name"\n'
        '[segmentations.big]\nrules = [{segment = "Big", when = "rfm.monetary >= 1000"}]\n'
    )
    checked = check_config(config)
    assert checked.plugins == ("rfm",)
    assert checked.segmentations == ("rfm", "big")


@pytest.mark.parametrize("table", ["database", "plugins", "import", "privacy", "reports"])
def test_every_core_table_is_structured_and_reported_with_the_others(table: str) -> None:
    """A core table added later is checked too, alongside a problem in another table."""
    from crm.core.config import CORE_TABLES

    assert table in CORE_TABLES
    other = "database" if table != "database" else "plugins"
    with pytest.raises(ConfigError) as caught:
        loads_config(f"[{table}]\nno_such_key = 1\n[{other}]\nalso_not_a_key = 1\n")
    tables = sorted(line.split(": ")[1] for line in caught.value.lines)
    assert tables == sorted([table, other])
    assert all("unknown key" in line for line in caught.value.lines)


def test_core_tables_in_the_test_above_are_all_of_them() -> None:
    from crm.core.config import CORE_TABLES

    assert set(CORE_TABLES) == {
        "database",
        "plugins",
        "import",
        "privacy",
        "reports",
        "segmentations",
    }
