"""Text that reaches stderr from data (file names, bad cells) is neither markup nor terminal
control (issue 5, item 6, the leftovers): the import progress bar, bad-row messages, and one
`printable` for every renderer."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from click.testing import CliRunner

from crm.cli import cli, output, terminal
from crm.cli.app import App
from crm.cli.import_command import _progress, summary_line
from crm.core.components import Table
from crm.core.importing import ImportReport

ESCAPES = "x\x1b[2J\x9b31m\u202ey"


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_file_named_like_markup_shows_in_the_progress_bar(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stderr = _Terminal()
    monkeypatch.setattr("sys.stderr", stderr)
    with _progress(tmp_path / "[bold]x.csv") as update:  # rich read it as markup
        update(10, 100)
    # transient: the bar is gone at the end, but it was drawn with the name as written
    assert "importing [bold]x.csv" in stderr.getvalue()


def test_bad_row_messages_show_control_bytes_as_escapes(tmp_path: Path) -> None:
    (tmp_path / "crm.toml").write_text("[plugins]\nenabled = []\n")
    # the message names the file, and a file's name is data too
    bad = tmp_path / f"bad{ESCAPES}.csv"
    bad.write_text("customer_id,occurred_at,amount\nc1,2024-01-01T00:00:00,1x\n")
    result = CliRunner().invoke(
        cli, ["import", "interactions", str(bad)], obj=App(config_path=tmp_path / "crm.toml")
    )
    assert result.exit_code == 4, result.output
    assert f"bad{output.printable(ESCAPES)}.csv:2: amount" in result.stderr
    assert not any(c in result.stderr for c in "\x1b\x9b\u202e")


def test_the_import_summary_shows_a_file_name_with_escapes() -> None:
    report = ImportReport(
        target="interactions",
        source=Path(f"/data/{ESCAPES}.csv"),
        rows_read=1,
        rows_added=1,
        rows_updated=0,
        rows_already_present=0,
        rows_rejected=0,
        customers_created=0,
        reject_path=None,
    )
    line = summary_line(report)
    assert line.startswith("/data/x\\x1b[2J\\x9b31m\\u202ey.csv: 1 rows read, 1 added")


def test_terminal_tables_use_the_one_printable_of_crm_cli_output() -> None:
    assert terminal.printable is output.printable  # one set of rules, not two
    stream = io.StringIO()
    table = Table(columns=("name\nfirst", "n"), rows=((f"a{ESCAPES}\nb", 1),))
    terminal.console(stream, 80).print(terminal.rich_table(table))
    shown = stream.getvalue()
    # the cell's newline is data (escaped); the header's is layout (two header lines)
    assert "a" + output.printable(ESCAPES) + "\\nb" in shown
    assert "name\\nfirst" not in shown
    assert [line.split()[0] for line in shown.splitlines()[:2]] == ["name", "first"]
