"""The exceptions crm raises on purpose; each one says what was wrong, where, and what would be right."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager


class CrmError(Exception):
    """Base class: an error the user can act on (the CLI prints it without a traceback)."""

    exit_code = 1


class ConfigError(CrmError, ValueError):
    """The configuration is invalid; carries one line per problem, each naming its key path."""

    exit_code = 2

    def __init__(self, lines: str | Sequence[str]) -> None:
        self.lines: tuple[str, ...] = (lines,) if isinstance(lines, str) else tuple(lines)
        super().__init__("\n".join(self.lines))


class ConfigFileMissing(ConfigError):
    """There is no configuration file where one was looked for (`crm --help` stays quiet then)."""


class ProblemsError(CrmError):
    """Every problem `crm config check` found, across all stages, one line each.

    The exit code is 3 when a plugin failed to load or crashed, else 2 (configuration).
    """

    def __init__(self, lines: Sequence[str], *, plugin_failed: bool) -> None:
        self.lines = tuple(lines)
        self.exit_code = 3 if plugin_failed else 2
        super().__init__("\n".join(self.lines))


class PluginError(CrmError):
    """A plugin failed to load or misbehaved; the message names the plugin."""

    exit_code = 3

    def __init__(self, plugin: str, message: str) -> None:
        self.plugin = plugin
        super().__init__(f"plugin {plugin!r}: {message}")


class DuplicateComponentError(PluginError):
    """Two plugins registered a component under the same name."""

    def __init__(self, kind: str, name: str, first: str, second: str) -> None:
        self.kind, self.name, self.first, self.second = kind, name, first, second
        CrmError.__init__(
            self,
            f"{kind} {name!r} is registered by both plugin {first!r} and plugin {second!r}; "
            "disable one of them in [plugins] enabled",
        )
        self.plugin = second


class ImportDataError(CrmError):
    """An import found bad rows; nothing was written (unless bad rows were set aside)."""

    exit_code = 4

    def __init__(self, problems: Sequence[str], total: int | None = None) -> None:
        self.problems = tuple(problems)
        self.total = len(self.problems) if total is None else total
        shown = "\n".join(self.problems)
        more = self.total - len(self.problems)
        tail = f"\n... and {more} more" if more > 0 else ""
        super().__init__(
            f"{self.total} bad row(s); nothing was imported:\n{shown}{tail}\n"
            "Fix the rows, or re-run with --skip-bad-rows to import the good ones and write the "
            "bad ones to a reject file."
        )


class ImportFileError(CrmError):
    """A file cannot be imported at all (unreadable, a required column missing, a bad mapping).

    Nothing was written; the message names the file and, where it helps, the columns found.
    """

    exit_code = 4


class NotFoundError(CrmError):
    """A customer, run or file the user named does not exist."""

    exit_code = 5


@contextmanager
def blamed_on(plugin: str, doing: str) -> Iterator[None]:
    """Turn a crash inside plugin code into a PluginError naming the plugin and what it did.

    A CrmError (a ConfigError the plugin raised on purpose, say) passes through unchanged.
    """
    try:
        yield
    except CrmError:
        raise
    except Exception as exc:
        # A database error's text would carry the SQL and its parameters: only what the
        # database said (its first line) is shown.
        orig = getattr(exc, "orig", None)
        cause = orig if isinstance(orig, Exception) else exc
        said = (str(cause).strip().splitlines() or [""])[0]
        raise PluginError(plugin, f"{doing} failed: {cause.__class__.__name__}: {said}") from exc
