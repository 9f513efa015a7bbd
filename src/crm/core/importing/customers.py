"""Customers: from parsed batches to staged rows, and an upsert by external id.

A customer id the database does not know is inserted (created now unless the file says when).
A known one is updated with the file's non-empty values: an empty cell never erases what is
stored (unless `clear_empty`: then it sets the stored value to empty), and a row that changes nothing is not counted as updated, so re-importing an unchanged
file adds nothing and updates nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    Date,
    DateTime,
    String,
    Table,
    and_,
    case,
    exists,
    func,
    literal,
    or_,
    select,
    update,
)

from crm.core.importing.extra import NO_EXTRA, ExtraColumns, json_as_text, json_from_text
from crm.core.importing.options import ImportOptions
from crm.core.importing.plan import BoundField, Plan, good_rows, parse_batch
from crm.core.importing.sources import Batch
from crm.core.importing.staging import insert_missing, rows_changed
from crm.core.schema import Tables

#: Fields stored in customer columns of the same name, with their staging types.
_STORED: dict[str, Any] = {
    "name": String,
    "email": String,
    "phone": String,
    "country": String,
    "city": String,
    "birth_date": Date,
    "gender": String,
    "created_at": DateTime,
    "consent_email": Boolean,
    "consent_sms": Boolean,
    "consent_phone": Boolean,
    "consent_profiling": Boolean,
}

_TABLES = Tables.default()


class CustomerLoader:
    target = "customers"

    def __init__(self, plan: Plan, options: ImportOptions, extra: ExtraColumns = NO_EXTRA) -> None:
        self.plan = plan
        self.extra = extra
        #: With `clear_empty`, an empty cell clears the stored value (created_at is required).
        self.cleared = (
            [name for name in _STORED if name in plan and name != "created_at"]
            if options.clear_empty
            else []
        )
        self.stored = [name for name in _STORED if name in plan]
        self.unique: BoundField | None = plan["customer_id"]

    def prepare(self, conn: Connection) -> None:
        """Nothing to read before staging."""

    def stage_columns(self) -> list[Column[Any]]:
        return [
            Column("customer_id", String),
            *(Column(name, _STORED[name]()) for name in self.stored),
            *([Column("attributes", String)] if self.extra else []),
        ]

    def stage_rows(
        self, batch: Batch
    ) -> tuple[Iterable[Sequence[Any]], int, dict[int, tuple[str, str]]]:
        parsed = parse_batch(self.plan, batch)
        values = parsed.values
        problems = parsed.labelled_problems()
        columns = [batch.lines, values["customer_id"], *(values[name] for name in self.stored)]
        if self.extra:
            columns.append(self.extra.attributes(batch))
        return good_rows(columns, len(batch.lines), problems)

    def store(self, conn: Connection, stage: Table, staged: int) -> tuple[int, int]:
        """Update known customers, then insert new ones. Returns (added, updated)."""
        customer = _TABLES.customer
        c, s = customer.c, stage.c
        dialect = conn.dialect.name
        changes: list[Any] = [
            s[name].is_distinct_from(c[name])
            if name in self.cleared
            else and_(s[name].is_not(None), s[name].is_distinct_from(c[name]))
            for name in self.stored
        ]
        values: dict[str, Any] = {
            name: s[name] if name in self.cleared else func.coalesce(s[name], c[name])
            for name in self.stored
        }
        if self.extra:
            # A row's extra values replace the stored attributes; a row without any keeps them.
            changes.append(
                and_(
                    s.attributes.is_not(None),
                    s.attributes.is_distinct_from(json_as_text(c.attributes)),
                )
            )
            values["attributes"] = case(
                (s.attributes.is_not(None), json_from_text(s.attributes, dialect)),
                else_=c.attributes,
            )
        updated = 0
        if changes:
            updated = rows_changed(
                conn,
                update(customer)
                .where(c.external_id == s.customer_id)
                .where(or_(*changes))
                .values(values),
            )
        now = datetime.now(UTC).replace(tzinfo=None)
        created_at: Any = literal(now, DateTime)
        if "created_at" in self.stored:
            created_at = func.coalesce(s.created_at, created_at)
        others = [name for name in self.stored if name != "created_at"]
        new_columns: list[Any] = [s.customer_id, *(s[name] for name in others), created_at]
        targets = ["external_id", *others, "created_at"]
        if self.extra:
            new_columns.append(json_from_text(s.attributes, dialect))
            targets.append("attributes")
        new = (
            select(*new_columns)
            .where(~exists().where(c.external_id == s.customer_id))
            .order_by(s.line)
        )
        added = rows_changed(conn, insert_missing(conn, customer, targets, new))
        return added, updated
