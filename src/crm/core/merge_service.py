"""Merges as units of work: one transaction each, with the plugins' hook and the audit entry.

`crm.core.merging` does the work on a connection; this module owns the transactions (what
`crm.Project` calls), and what merges leave behind: stored runs that still name merged
customers, and the records an erasure must forget.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, delete, select

from crm.core.audit import record
from crm.core.merging import (
    CustomerMerge,
    latest_merge_of,
    merge_customers,
    moved_interactions,
    unmerge,
)
from crm.core.schema import Tables

if TYPE_CHECKING:
    from crm.core.plugins import CrmHooks


def merge_all(
    engine: Engine,
    tables: Tables,
    hooks: CrmHooks,
    merges: Iterable[tuple[str, tuple[str, ...], str]],
) -> list[CustomerMerge]:
    """Several merges (survivor, merged, reason) in one transaction: all or none."""
    done = []
    with engine.begin() as connection:
        for survivor, merged, reason in merges:
            merge = merge_customers(connection, tables, survivor, merged, reason=reason)
            hooks.customers_merged(merge, connection)
            record(
                connection,
                "merge customers",
                merge=merge.id,
                customers=len(merge.merged) + 1,
                interactions=merge.interactions_moved,
            )
            done.append(merge)
    return done


def undo(engine: Engine, tables: Tables, hooks: CrmHooks, target: str | int) -> CustomerMerge:
    """Undo merge `target` (an id), or the latest standing merge of customer `target`."""
    with engine.begin() as connection:
        merge_id = (
            target if isinstance(target, int) else latest_merge_of(connection, tables, target)
        )
        merge = unmerge(connection, tables, merge_id)
        hooks.customers_merged(merge, connection)
        record(connection, "undo merge", merge=merge.id, interactions=merge.interactions_moved)
    return merge


def survivor_of(connection: Connection, tables: Tables, external_id: str) -> str | None:
    """The survivor's external id if `external_id` was merged into another customer."""
    alias, c = tables.customer_alias, tables.customer
    found: str | None = connection.scalar(
        select(c.c.external_id)
        .select_from(alias.join(c, c.c.id == alias.c.customer_id))
        .where(alias.c.external_id == external_id)
    )
    return found


def merged_customers_in_runs(connection: Connection, tables: Tables) -> int:
    """How many merged customers stored runs still name (kept as history)."""
    from crm.core.run_reading import keys_in_runs

    merged = connection.scalars(select(tables.customer_alias.c.merged_customer_id))
    return len(keys_in_runs(connection, merged))


def forget_merges(connection: Connection, tables: Tables, customer_key: int) -> list[int]:
    """For an erasure: drop every merge record of customer `customer_key` (the survivor's old
    row and the aliases hold personal data) and return the other customers merged with it,
    who are the same person and are erased too. The merges can no longer be undone."""
    alias, m = tables.customer_alias, tables.customer_merge
    linked = {customer_key}
    survivors = set(
        connection.scalars(
            select(alias.c.customer_id).where(alias.c.merged_customer_id == customer_key)
        )
    )
    linked |= survivors
    linked |= set(
        connection.scalars(
            select(alias.c.merged_customer_id).where(alias.c.customer_id.in_(linked))
        )
    )
    merges = [
        row.id
        for row in connection.execute(select(m.c.id, m.c.survivor_id, m.c.merged_ids))
        if row.survivor_id in linked or linked & set(row.merged_ids)
    ]
    if merges:
        connection.execute(delete(alias).where(alias.c.merge_id.in_(merges)))
        connection.execute(
            delete(moved_interactions()).where(moved_interactions().c.merge_id.in_(merges))
        )
        connection.execute(delete(m).where(m.c.id.in_(merges)))
    return sorted(linked - {customer_key})
