"""The audit log: imports, erasures, unmasked exports, config changes, restores, run deletions.

Every entry has the time (UTC), the operating-system user, the command and counts; none holds
personal data (an erasure records how many rows it changed, never whose). Call `record` inside
the transaction of the work it describes, so the entry and the work commit or roll back together:

    with engine.begin() as connection:
        ...  # the work
        record(connection, "delete runs", runs=3)
"""

from __future__ import annotations

import getpass
from datetime import UTC, datetime
from typing import Any

from attrs import frozen
from sqlalchemy import Connection, insert, select

from crm.core.audit_label import current_command
from crm.core.schema import AuditRow


def _os_user() -> str:
    try:
        return getpass.getuser()[:100]
    except (OSError, KeyError):  # no login name and no passwd entry (some containers)
        return "unknown"


@frozen
class AuditEntry:
    id: int
    occurred_at: datetime
    os_user: str
    command: str
    action: str
    counts: dict[str, Any]


def record(connection: Connection, action: str, **counts: int | str) -> None:
    """Append one entry: `action` ("erase customer", "unmasked export", ...) and counts by name.

    String values are for short non-personal details only (a configuration hash, a file name).
    """
    connection.execute(
        insert(AuditRow).values(
            occurred_at=datetime.now(UTC).replace(tzinfo=None),
            os_user=_os_user(),
            command=current_command(),
            action=action[:64],
            counts=dict(counts),
        )
    )


def entries(connection: Connection, *, action: str | None = None) -> list[AuditEntry]:
    """Every entry, oldest first (optionally only one action)."""
    query = select(AuditRow.__table__).order_by(AuditRow.id)
    if action is not None:
        query = query.where(AuditRow.action == action)
    return [
        AuditEntry(
            id=row.id,
            occurred_at=row.occurred_at,
            os_user=row.os_user,
            command=row.command,
            action=row.action,
            counts=dict(row.counts or {}),
        )
        for row in connection.execute(query)
    ]
