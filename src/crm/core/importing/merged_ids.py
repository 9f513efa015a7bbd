"""Imports after a merge: a staged row naming a merged customer's id lands on the survivor.

`crm.core.merging` records each merged external id in `customer_alias`. Before the staged rows
are stored, their customer ids are rewritten to the survivor's id, so an old export re-imported
after a merge updates the survivor and adds its interactions to the survivor's history. The
interaction fingerprints were computed from the file's own text before this, so a re-imported
file still adds nothing.

In a customer file one row per customer may be stored: a row for a merged id is dropped when the
survivor's own id, or an earlier row for another merged id of the same survivor, is in the file.
"""

from __future__ import annotations

from sqlalchemy import Connection, Table, delete, exists, select, update

from crm.core.schema import Tables

_TABLES = Tables.default()


def resolve_merged_ids(conn: Connection, stage: Table, *, one_row_per_customer: bool) -> None:
    """Rewrite `stage.customer_id` values that are aliases to their survivor's external id."""
    alias, customer = _TABLES.customer_alias, _TABLES.customer
    if conn.execute(select(alias.c.external_id).limit(1)).first() is None:
        return  # nothing was ever merged: the common case costs one indexed read
    s = stage.c
    aliased = s.customer_id.in_(select(alias.c.external_id))
    survivor_key = (
        select(alias.c.customer_id)
        .where(alias.c.external_id == s.customer_id)
        .correlate(stage)
        .scalar_subquery()
    )
    survivor_id = (
        select(customer.c.external_id)
        .where(customer.c.id == survivor_key)
        .correlate(stage)
        .scalar_subquery()
    )
    if one_row_per_customer:
        other = stage.alias("other")
        other_alias = alias.alias("other_alias")
        survivor_present = exists().where(other.c.customer_id == survivor_id).correlate(stage)
        earlier_sibling = exists(
            select(other.c.line)
            .select_from(other.join(other_alias, other_alias.c.external_id == other.c.customer_id))
            .where(other_alias.c.customer_id == survivor_key, other.c.line < s.line)
            .correlate(stage)
        )
        conn.execute(delete(stage).where(aliased, survivor_present | earlier_sibling))
    conn.execute(update(stage).where(aliased).values(customer_id=survivor_id))
