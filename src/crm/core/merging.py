"""Merging duplicate customers into one survivor, and undoing a merge exactly.

A merge is one transaction (the caller's):

1. every interaction of the merged customers moves to the survivor; each move is recorded in
   `customer_merge_interaction` with the customer it came from;
2. the survivor keeps every field it has; each empty field is filled by the gap rule below;
3. each merged customer's external id becomes an alias of the survivor (`customer_alias`), so a
   later import of an old id lands on the survivor, and aliases of earlier merges into a merged
   customer move on to the survivor;
4. one `customer_merge` row keeps what undoing needs: the survivor's row as it was, the merged
   customers in order, and the aliases moved on.

The merged customers' own rows stay, untouched: stored runs name them (history, left as it was),
and undoing needs nothing else to restore them. A customer with an alias row is no customer of its
own any more: facts, scoring and identification leave it out.

Gap rule, field by field, for a survivor field that is empty (NULL): the first merged customer (in
the order given) that has a value supplies it. Consent flags are the exception: an empty flag
becomes false if any merged customer said no, else true if one said yes, so a merge never turns a
refusal into consent. `created_at` becomes the earliest of all (the person has been a customer
since then); `attributes` are merged key by key, the survivor's keys first.

Undo (`unmerge`) restores the survivor's row, moves the recorded interactions back, deletes the
merge's aliases and restores the aliases it moved on: every table is as before the merge, except
that `customer_merge` keeps the entry, marked undone. Merges are undone last-first: a merge whose
customers took part in a later merge that still stands is refused, naming the later one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any

from attrs import frozen
from sqlalchemy import (
    Connection,
    Date,
    DateTime,
    Integer,
    Table,
    delete,
    insert,
    literal,
    select,
    update,
)

from crm.core.errors import CrmError, NotFoundError
from crm.core.schema import MergedInteractionRow, Tables

_MOVED: Table = MergedInteractionRow.__table__  # type: ignore[assignment]


def moved_interactions() -> Table:
    """The table of interactions merges moved (`customer_merge_interaction`)."""
    return _MOVED


#: Columns the gap rule does not fill one by one (keys, and the fields with rules of their own).
_KEYS = ("id", "external_id")
_CONSENT_PREFIX = "consent_"


class MergeError(CrmError):
    """A merge or undo that cannot be done as asked; nothing was written."""


@frozen(kw_only=True)
class CustomerMerge:
    """One merge, as the `customers_merged` hook and the Python API see it."""

    id: int
    survivor: str
    merged: tuple[str, ...]
    survivor_id: int
    merged_ids: tuple[int, ...]
    merged_at: datetime
    reason: str
    #: Fields of the survivor that the merge filled from the merged customers.
    filled: tuple[str, ...] = ()
    interactions_moved: int = 0
    #: Set when the merge has been undone (the hook sees this on the undo call).
    undone_at: datetime | None = None

    @property
    def undone(self) -> bool:
        return self.undone_at is not None


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _as_json(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date | datetime) else value


def _from_json(tables: Tables, name: str, value: Any) -> Any:
    if value is None:
        return None
    kind = tables.customer.c[name].type
    if isinstance(kind, DateTime):
        return datetime.fromisoformat(value)
    if isinstance(kind, Date):
        return date.fromisoformat(value)
    return value


def resolve_customer(connection: Connection, tables: Tables, external_id: str) -> int:
    """The integer key of the customer an external id names now (following merges)."""
    alias = tables.customer_alias
    survivor = connection.scalar(
        select(alias.c.customer_id).where(alias.c.external_id == external_id)
    )
    if survivor is not None:
        return int(survivor)
    c = tables.customer
    found = connection.scalar(select(c.c.id).where(c.c.external_id == external_id))
    if found is None:
        raise NotFoundError(f"no customer with id {external_id!r}")
    return int(found)


def _rows(connection: Connection, tables: Tables, external_ids: Sequence[str]) -> list[Any]:
    c = tables.customer
    found = {
        row.external_id: row
        for row in connection.execute(select(c).where(c.c.external_id.in_(external_ids)))
    }
    missing = [e for e in external_ids if e not in found]
    if missing:
        raise NotFoundError(f"no customer with id {', '.join(map(repr, missing))}")
    return [found[e] for e in external_ids]


def filled_fields(
    survivor: Mapping[str, Any], merged: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    """The survivor's new values by the gap rule (only the fields that change)."""
    changes: dict[str, Any] = {}
    for name, value in survivor.items():
        if name in _KEYS:
            continue
        others = [row[name] for row in merged if row[name] is not None]
        if name == "created_at":
            earliest = min([value, *others]) if value is not None else min(others, default=None)
            if earliest != value:
                changes[name] = earliest
        elif name == "attributes":
            combined: dict[str, Any] = {}
            for attributes in reversed(others):
                combined.update(attributes)
            combined.update(value or {})
            if combined != (value or {}):
                changes[name] = combined
        elif value is None and others:
            if name.startswith(_CONSENT_PREFIX):
                changes[name] = all(others)  # one "no" among them wins
            else:
                changes[name] = others[0]
    return changes


def merge_customers(
    connection: Connection,
    tables: Tables,
    survivor: str,
    merged: Sequence[str],
    *,
    reason: str = "manual",
    now: datetime | None = None,
) -> CustomerMerge:
    """Merge the customers `merged` (external ids) into `survivor`, on the caller's transaction."""
    merged = list(dict.fromkeys(merged))
    if not merged:
        raise MergeError("name at least one customer to merge into the survivor")
    if survivor in merged:
        raise MergeError(f"customer {survivor!r} cannot be merged into itself")
    alias = tables.customer_alias
    already = connection.execute(
        select(alias.c.external_id).where(alias.c.external_id.in_([survivor, *merged]))
    ).scalars()
    taken = sorted(already)
    if taken:
        raise MergeError(
            f"customer {', '.join(map(repr, taken))} is already merged into another; "
            "name the survivor's id instead (crm customers show shows it)"
        )
    survivor_row, *merged_rows = _rows(connection, tables, [survivor, *merged])
    survivor_values = dict(survivor_row._mapping)
    merged_values = [dict(row._mapping) for row in merged_rows]
    merged_ids = [row["id"] for row in merged_values]
    survivor_id = survivor_values["id"]
    when = now or _now()

    repointed = {
        row.external_id: int(row.customer_id)
        for row in connection.execute(
            select(alias.c.external_id, alias.c.customer_id).where(
                alias.c.customer_id.in_(merged_ids)
            )
        )
    }
    merge_table = tables.customer_merge
    merge_id = connection.execute(
        insert(merge_table).returning(merge_table.c.id),
        {
            "merged_at": when,
            "survivor_id": survivor_id,
            "merged_ids": merged_ids,
            "survivor_before": {k: _as_json(v) for k, v in survivor_values.items()},
            "repointed_aliases": repointed,
            "reason": reason[:200],
            "undone_at": None,
        },
    ).scalar_one()

    i = tables.interaction
    connection.execute(
        insert(_MOVED).from_select(
            ["merge_id", "interaction_id", "customer_id"],
            select(literal(merge_id, Integer), i.c.id, i.c.customer_id).where(
                i.c.customer_id.in_(merged_ids)
            ),
        )
    )
    moved = connection.execute(
        update(i).where(i.c.customer_id.in_(merged_ids)).values(customer_id=survivor_id),
        execution_options={"preserve_rowcount": True},
    ).rowcount
    if repointed:
        connection.execute(
            update(alias).where(alias.c.customer_id.in_(merged_ids)).values(customer_id=survivor_id)
        )
    connection.execute(
        insert(alias),
        [
            {
                "external_id": row["external_id"],
                "merged_customer_id": row["id"],
                "customer_id": survivor_id,
                "merge_id": merge_id,
            }
            for row in merged_values
        ],
    )
    changes = filled_fields(survivor_values, merged_values)
    if changes:
        c = tables.customer
        connection.execute(update(c).where(c.c.id == survivor_id).values(changes))
    return CustomerMerge(
        id=merge_id,
        survivor=survivor,
        merged=tuple(merged),
        survivor_id=survivor_id,
        merged_ids=tuple(merged_ids),
        merged_at=when,
        reason=reason,
        filled=tuple(changes),
        interactions_moved=int(moved),
    )


def _merge_from_row(connection: Connection, tables: Tables, row: Any) -> CustomerMerge:
    c = tables.customer
    ids = [row.survivor_id, *row.merged_ids]
    names = dict(connection.execute(select(c.c.id, c.c.external_id).where(c.c.id.in_(ids))).all())
    return CustomerMerge(
        id=row.id,
        survivor=names[row.survivor_id],
        merged=tuple(names[m] for m in row.merged_ids),
        survivor_id=row.survivor_id,
        merged_ids=tuple(row.merged_ids),
        merged_at=row.merged_at,
        reason=row.reason,
        undone_at=row.undone_at,
    )


def list_merges(
    connection: Connection, tables: Tables, *, include_undone: bool = False
) -> list[CustomerMerge]:
    """Recorded merges, newest first."""
    m = tables.customer_merge
    query = select(m).order_by(m.c.id.desc())
    if not include_undone:
        query = query.where(m.c.undone_at.is_(None))
    return [_merge_from_row(connection, tables, row) for row in connection.execute(query)]


def latest_merge_of(connection: Connection, tables: Tables, external_id: str) -> int:
    """The id of the latest standing merge that the customer took part in (either side)."""
    c = tables.customer
    key = connection.scalar(select(c.c.id).where(c.c.external_id == external_id))
    if key is None:
        raise NotFoundError(f"no customer with id {external_id!r}")
    for merge in list_merges(connection, tables):
        if key == merge.survivor_id or key in merge.merged_ids:
            return merge.id
    raise NotFoundError(f"customer {external_id!r} is not part of any merge that still stands")


def unmerge(
    connection: Connection, tables: Tables, merge_id: int, *, now: datetime | None = None
) -> CustomerMerge:
    """Undo merge `merge_id` exactly, on the caller's transaction; see the module docstring."""
    m = tables.customer_merge
    row = connection.execute(select(m).where(m.c.id == merge_id)).first()
    if row is None:
        raise NotFoundError(f"no merge with id {merge_id}")
    if row.undone_at is not None:
        raise MergeError(f"merge {merge_id} was already undone on {row.undone_at:%Y-%m-%d %H:%M}")
    involved = {row.survivor_id, *row.merged_ids}
    later = connection.execute(
        select(m.c.id, m.c.survivor_id, m.c.merged_ids)
        .where(m.c.id > merge_id, m.c.undone_at.is_(None))
        .order_by(m.c.id.desc())
    ).all()
    for other in later:
        if involved & {other.survivor_id, *other.merged_ids}:
            raise MergeError(
                f"merge {merge_id} cannot be undone while the later merge {other.id} of the same "
                f"customers stands; undo merge {other.id} first"
            )
    merge = _merge_from_row(connection, tables, row)
    moved = _MOVED
    i = tables.interaction
    back = (
        select(moved.c.customer_id)
        .where(moved.c.merge_id == merge_id, moved.c.interaction_id == i.c.id)
        .scalar_subquery()
    )
    recorded = select(moved.c.interaction_id).where(moved.c.merge_id == merge_id)
    count = connection.execute(
        update(i).where(i.c.id.in_(recorded)).values(customer_id=back),
        execution_options={"preserve_rowcount": True},
    ).rowcount
    connection.execute(delete(moved).where(moved.c.merge_id == merge_id))
    alias = tables.customer_alias
    connection.execute(delete(alias).where(alias.c.merge_id == merge_id))
    for external_id, former in row.repointed_aliases.items():
        connection.execute(
            update(alias).where(alias.c.external_id == external_id).values(customer_id=former)
        )
    c = tables.customer
    before = {
        name: _from_json(tables, name, value)
        for name, value in row.survivor_before.items()
        if name != "id"
    }
    connection.execute(update(c).where(c.c.id == row.survivor_id).values(before))
    when = now or _now()
    connection.execute(update(m).where(m.c.id == merge_id).values(undone_at=when))
    return CustomerMerge(
        id=merge.id,
        survivor=merge.survivor,
        merged=merge.merged,
        survivor_id=merge.survivor_id,
        merged_ids=merge.merged_ids,
        merged_at=merge.merged_at,
        reason=merge.reason,
        interactions_moved=int(count),
        undone_at=when,
    )
