"""Which command the audit log records: set by the CLI, cheap to import (no database code)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

#: Gives the command being run ("crm import customers"); the CLI sets it. Only the command path
#: is recorded, never its arguments: `crm forget CUST-1` must not write the id it erases.
_command_label: ContextVar[Callable[[], str] | None] = ContextVar("crm_command", default=None)


@contextmanager
def command_label(label: Callable[[], str]) -> Iterator[None]:
    """Within this block, entries record `label()` as their command."""
    token = _command_label.set(label)
    try:
        yield
    finally:
        _command_label.reset(token)


def current_command() -> str:
    label = _command_label.get()
    if label is not None:
        return label()[:200]
    return f"python {Path(sys.argv[0]).name if sys.argv and sys.argv[0] else '-'}"[:200]
