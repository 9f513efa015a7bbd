"""Campaigns: from parsed batches to staged rows, and an upsert by campaign id.

Like customers: an id the database does not know is inserted; a known one is updated with the
file's non-empty values, and a row that changes nothing is not counted, so re-importing a file
adds and updates nothing. A campaign's id is the text interactions carry in their `campaign`
column. Cost and budget are exact decimals stored in minor units and may not be negative; an
end before the start is a bad row.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Date,
    String,
    Table,
    and_,
    exists,
    func,
    or_,
    select,
    update,
)

from crm.core.importing.money import Money
from crm.core.importing.options import ImportOptions
from crm.core.importing.parsers import Date as DateParser
from crm.core.importing.parsers import FieldError, Parser, Text
from crm.core.importing.plan import BoundField, Plan, good_rows, parse_batch
from crm.core.importing.sources import Batch
from crm.core.importing.staging import insert_missing, rows_changed
from crm.core.schema import Tables

_TABLES = Tables.default()

#: Field -> (campaign column, staging type).
_STORED: dict[str, tuple[str, Any]] = {
    "name": ("name", String),
    "channel": ("channel", String),
    "start": ("starts_on", Date),
    "end": ("ends_on", Date),
    "cost": ("cost_minor", BigInteger),
    "budget": ("budget_minor", BigInteger),
    "target_segment": ("target_segment", String),
}


class RequiredDate(DateParser):
    """A date that must be there."""

    required = True

    def one(self, cell: str) -> str | None:
        if not cell.strip():
            raise FieldError("is empty; a value is required")
        return super().one(cell)


class NonNegativeMoney(Money):
    """Money that cannot be below zero (a cost, a budget)."""

    def many(self, cells: Sequence[str]) -> list[int]:
        values = super().many(cells)
        if min(values, default=0) < 0:
            raise ValueError("negative")
        return values

    def one(self, cell: str) -> int | None:
        value = super().one(cell)
        if value is not None and value < 0:
            raise FieldError(f"{cell.strip()!r} is negative; a cost or budget is 0 or more")
        return value


def campaign_parsers(options: ImportOptions) -> dict[str, Parser]:
    table = _TABLES.campaign.c

    def width(column: Column[Any]) -> int:
        assert isinstance(column.type, String) and column.type.length is not None
        return column.type.length

    return {
        "campaign_id": Text(width(table.id), required=True),
        "name": Text(width(table.name)),
        "channel": Text(width(table.channel)),
        "start": RequiredDate(options.date_format),
        "end": DateParser(options.date_format),
        "cost": NonNegativeMoney(),
        "budget": NonNegativeMoney(),
        "target_segment": Text(width(table.target_segment)),
    }


class CampaignLoader:
    target = "campaigns"

    def __init__(self, plan: Plan, options: ImportOptions) -> None:
        self.plan = plan
        self.stored = [name for name in _STORED if name in plan]
        self.unique: BoundField | None = plan["campaign_id"]

    def prepare(self, conn: Connection) -> None:
        """Nothing to read before staging."""

    def stage_columns(self) -> list[Column[Any]]:
        return [
            Column("campaign_id", String),
            # Staged under the campaign's column names ("end" is a reserved word in SQL).
            *(Column(_STORED[name][0], _STORED[name][1]()) for name in self.stored),
        ]

    def stage_rows(
        self, batch: Batch
    ) -> tuple[Iterable[Sequence[Any]], int, dict[int, tuple[str, str]]]:
        parsed = parse_batch(self.plan, batch)
        values = parsed.values
        problems = parsed.labelled_problems()
        if "end" in values:
            label = self.plan["end"].label()
            for position, (start, end) in enumerate(
                zip(values["start"], values["end"], strict=True)
            ):
                if start and end and date.fromisoformat(end) < date.fromisoformat(start):
                    problems.setdefault(position, (label, f"{end} is before the start {start}"))
        columns = [batch.lines, values["campaign_id"], *(values[name] for name in self.stored)]
        return good_rows(columns, len(batch.lines), problems)

    def store(self, conn: Connection, stage: Table, staged: int) -> tuple[int, int]:
        """Update known campaigns, then insert new ones. Returns (added, updated)."""
        campaign = _TABLES.campaign
        c, s = campaign.c, stage.c
        names = [_STORED[name][0] for name in self.stored]
        changed = or_(
            *(and_(s[name].is_not(None), s[name].is_distinct_from(c[name])) for name in names)
        )
        updated = rows_changed(
            conn,
            update(campaign)
            .where(c.id == s.campaign_id)
            .where(changed)
            .values({name: func.coalesce(s[name], c[name]) for name in names}),
        )
        others = [name for name in names if name != "name"]
        new = (
            select(
                s.campaign_id,
                func.coalesce(s.name, s.campaign_id) if "name" in self.stored else s.campaign_id,
                *(s[name] for name in others),
            )
            .where(~exists().where(c.id == s.campaign_id))
            .order_by(s.line)
        )
        columns = ["id", "name", *others]
        added = rows_changed(conn, insert_missing(conn, campaign, columns, new))
        return added, updated
