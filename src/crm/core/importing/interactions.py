"""Interactions: from parsed batches to staged rows, and from the staging table to the database.

An interaction whose customer id is unknown creates a bare customer (external id only, created
at the customer's first interaction in the file) in the same transaction, so purchase logs
without a customer file (CDNOW, UCI Online Retail) load on their own. Identity and re-imports:
see `crm.core.importing.fingerprint`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from contextlib import nullcontext
from decimal import Decimal, Overflow
from itertools import repeat
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    DateTime,
    String,
    Table,
    case,
    cast,
    exists,
    func,
    insert,
    literal,
    select,
)

from crm.core.importing.bulk import is_bulk, rebuilt_indexes
from crm.core.importing.extra import NO_EXTRA, ExtraColumns, json_from_text
from crm.core.importing.fingerprint import FINGERPRINT_FIELDS, fingerprints, texts
from crm.core.importing.money import (
    AMOUNT_LIMIT_MINOR,
    MONEY,
    TOTAL_LIMIT_MINOR,
    checked_minor,
    to_minor,
    too_large_amount,
)
from crm.core.importing.options import DEFAULT_KIND, ImportOptions
from crm.core.importing.parsers import FieldError
from crm.core.importing.plan import BoundField, Plan, good_rows, parse_batch
from crm.core.importing.sources import Batch
from crm.core.importing.staging import insert_missing, rows_changed
from crm.core.schema import Tables

#: Fields stored as they are, in interaction columns of the same name.
_PLAIN = ("kind", "channel", "campaign", "stage", "order_id")

_TABLES = Tables.default()


class InteractionLoader:
    target = "interactions"

    def __init__(self, plan: Plan, options: ImportOptions, extra: ExtraColumns = NO_EXTRA) -> None:
        self.plan = plan
        self.extra = extra
        self.default_kind = options.kind or DEFAULT_KIND
        self.plain = [name for name in _PLAIN if name in plan]
        self.has_amount = "amount" in plan or "quantity" in plan
        self.unique: BoundField | None = plan.get("interaction_id")
        #: Sum of |amount_minor| stored and staged so far.
        self._total = 0

    def stage_columns(self) -> list[Column[Any]]:
        columns: list[Column[Any]] = [
            Column("customer_id", String),
            Column("occurred_at", DateTime),
            *(Column(name, String) for name in self.plain),
        ]
        if self.has_amount:
            columns.append(Column("amount_minor", BigInteger))
        if self.unique is not None:
            columns.append(Column("interaction_id", String))
        columns.append(Column("fingerprint", String))
        if self.extra:
            columns.append(Column("attributes", String))
        return columns

    def stage_rows(
        self, batch: Batch
    ) -> tuple[Iterable[Sequence[Any]], int, dict[int, tuple[str, str]]]:
        """The staged rows of a batch (good rows only), their number, and the bad rows."""
        parsed = parse_batch(self.plan, batch)
        values = parsed.values
        problems = parsed.labelled_problems()
        columns: list[Sequence[Any]] = [
            batch.lines,
            values["customer_id"],
            values["occurred_at"],
            *(values[name] for name in self.plain),
        ]
        amounts = self._amounts(values, problems) if self.has_amount else None
        if amounts is not None:
            self._keep_total_in_bounds(amounts, problems)
            columns.append(amounts)
        by_field: dict[str, Iterable[str]] = {
            "kind": repeat(self.default_kind),
            "amount": repeat("") if amounts is None else texts(amounts),
        }
        by_field.update(
            (name, texts(values[name]))
            for name in FINGERPRINT_FIELDS
            if name in values and name != "amount"
        )
        keys: list[Any] = fingerprints(
            [by_field.get(name, repeat("")) for name in FINGERPRINT_FIELDS]
        )
        if self.unique is not None:
            ids = values["interaction_id"]
            columns.append(ids)
            # A row with an id is known by it; its fingerprint must not take an occurrence
            # number from identical rows that have none.
            keys = [None if id_ else key for id_, key in zip(ids, keys, strict=True)]
        columns.append(keys)
        if self.extra:
            columns.append(self.extra.attributes(batch))
        return good_rows(columns, len(batch.lines), problems)

    def _amounts(
        self, values: dict[str, list[Any]], problems: dict[int, tuple[str, str]]
    ) -> list[int | None]:
        """Amounts in cents: the amount column, else quantity x unit price (half-even)."""
        amounts: list[int | None] = values.get("amount") or [None] * len(values["customer_id"])
        if "quantity" not in values or None not in amounts:
            return amounts
        quantities, prices = values["quantity"], values["unit_price"]
        if "amount" not in values and None not in quantities and None not in prices:
            try:
                products = list(map(to_minor, map(MONEY.multiply, quantities, prices)))
            except Overflow:
                products = []
            if products and max(map(abs, products)) < AMOUNT_LIMIT_MINOR:
                return list(products)
        label = self._amount_label()
        filled = list(amounts)
        for position, (amount, quantity, price) in enumerate(
            zip(amounts, quantities, prices, strict=True)
        ):
            if amount is None and quantity is not None and price is not None:
                try:
                    product = MONEY.multiply(quantity, price)
                    filled[position] = checked_minor(product, f"{quantity} x {price}")
                except Overflow:
                    problems.setdefault(
                        position, (label, too_large_amount(f"{quantity} x {price}"))
                    )
                except FieldError as exc:
                    problems.setdefault(position, (label, str(exc)))
        return filled

    def _amount_label(self) -> str:
        if "amount" in self.plan:
            return self.plan["amount"].label()
        return (
            f"amount (columns {self.plan['quantity'].column!r} x "
            f"{self.plan['unit_price'].column!r})"
        )

    def prepare(self, conn: Connection) -> None:
        """Read the sum of |amount| already stored (see `_keep_total_in_bounds`)."""
        if not self.has_amount:
            return
        amount = _TABLES.interaction.c.amount_minor
        # SQLite's total() is a float and cannot overflow, even on a database an older crm
        # filled beyond the limit; PostgreSQL sums bigints as numeric.
        summed = func.total if conn.dialect.name == "sqlite" else func.sum
        self._total = int(conn.scalar(select(func.coalesce(summed(func.abs(amount)), 0))) or 0)

    def _keep_total_in_bounds(
        self, amounts: list[int | None], problems: dict[int, tuple[str, str]]
    ) -> None:
        """Refuse the rows from which the stored and imported amounts would sum to
        `TOTAL_LIMIT_MINOR` or more (rows of the file already stored count too: a safe
        overestimate that only a file of absurd amounts reaches)."""
        batch = sum(abs(a) for i, a in enumerate(amounts) if a and i not in problems)
        if self._total + batch < TOTAL_LIMIT_MINOR:
            self._total += batch
            return
        label = self._amount_label()
        reason = (
            f"with this row the amounts add up to more than {Decimal(TOTAL_LIMIT_MINOR).scaleb(-2):,} "
            "either way (counting those already stored), more than crm's 64-bit sums hold"
        )
        for position, amount in enumerate(amounts):
            if amount and position not in problems:
                if self._total + abs(amount) >= TOTAL_LIMIT_MINOR:
                    problems[position] = (label, reason)
                else:
                    self._total += abs(amount)

    def store(self, conn: Connection, stage: Table, staged: int) -> tuple[int, int]:
        """Create unknown customers, then insert the interactions not already present.

        Returns (interactions added, customers created).
        """
        customer = _TABLES.customer
        interaction = _TABLES.interaction
        s = stage.c

        firsts = (
            select(
                s.customer_id.label("external_id"),
                func.min(s.occurred_at).label("created_at"),
            )
            .group_by(s.customer_id)
            .subquery("firsts")
        )
        unknown = (
            select(firsts.c.external_id, firsts.c.created_at)
            .where(~exists().where(customer.c.external_id == firsts.c.external_id))
            .order_by(firsts.c.external_id)
        )
        created = rows_changed(
            conn, insert_missing(conn, customer, ["external_id", "created_at"], unknown)
        )

        occurrence = func.row_number().over(partition_by=s.fingerprint, order_by=s.line)
        key: Any = literal("f:") + s.fingerprint + literal(":") + cast(occurrence, String)
        if self.unique is not None:
            key = case((s.interaction_id.is_not(None), literal("x:") + s.interaction_id), else_=key)
        stored = ["occurred_at", *self.plain] + (["amount_minor"] if self.has_amount else [])
        if self.extra:
            stored.append("attributes")
        keyed = select(
            s.customer_id, *(s[name] for name in stored), key.label("source_key")
        ).subquery("keyed")
        targets = ["customer_id", *stored]
        picked: list[Any] = [customer.c.id, *(keyed.c[name] for name in stored)]
        if self.extra:
            picked[-1] = json_from_text(keyed.c.attributes, conn.dialect.name)
        if "kind" not in self.plain:
            targets.append("kind")
            picked.append(literal(self.default_kind))
        targets.append("source_key")
        picked.append(keyed.c.source_key)
        query = select(*picked).select_from(
            keyed.join(customer, customer.c.external_id == keyed.c.customer_id)
        )
        empty = conn.execute(select(interaction.c.id).limit(1)).first() is None
        if not empty:
            query = query.where(~exists().where(interaction.c.source_key == keyed.c.source_key))
        rebuild = is_bulk(conn, interaction, staged)
        indexes = rebuilt_indexes(conn, interaction, unique_too=empty) if rebuild else nullcontext()
        with indexes:
            added = rows_changed(conn, insert(interaction).from_select(targets, query))
        return added, created
