"""Running an import: stream, validate, stage, check, store, log; all in one transaction.

1. The file is read in batches (`ImportOptions.batch_size` rows); each batch is parsed column by
   column, its good rows go to the staging table in bulk, its bad rows to the problem list (and,
   with `skip_bad_rows`, to the reject file). Nothing else of the file is kept in memory.
2. Checks that need the whole file run in SQL over the staging table: a customer id twice in a
   customer file, an interaction id twice in an interactions file (the later rows are bad).
3. Any bad row without `skip_bad_rows`: `ImportDataError` and a rollback, so the database is
   exactly as before. Otherwise the staged rows are stored with a few INSERT ... SELECT / UPDATE
   statements, and one `import_log` row records the import.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import (
    Column,
    Connection,
    Engine,
    Select,
    Table,
    delete,
    exists,
    func,
    insert,
    select,
)

from crm.core.audit import record
from crm.core.importing.bulk import write_transaction
from crm.core.importing.campaigns import CampaignLoader, campaign_parsers
from crm.core.importing.customers import CustomerLoader
from crm.core.importing.extra import extra_columns
from crm.core.importing.fields import Target, customer_parsers, interaction_parsers
from crm.core.importing.interactions import InteractionLoader
from crm.core.importing.merged_ids import resolve_merged_ids
from crm.core.importing.options import ImportOptions, ImportReport
from crm.core.importing.plan import BoundField, Plan, bind
from crm.core.importing.rejects import Problems, RejectWriter, default_reject_path
from crm.core.importing.sources import Batch, Source, open_source
from crm.core.importing.staging import open_stage
from crm.core.privacy.tombstones import erased_ids, has_tombstones
from crm.core.schema import ImportRow, Tables

_IMPORT_LOG: Table = ImportRow.__table__  # type: ignore[assignment]

Progress = Callable[[int, int], None]


class Loader(Protocol):
    """What differs between targets: the staged columns, the rows, and how they are stored."""

    #: The field no two rows may share (customer_id, interaction_id), if the file has it.
    unique: BoundField | None

    def prepare(self, conn: Connection) -> None:
        """Read what staging needs to know of the database, inside the import's transaction."""
        ...

    def stage_columns(self) -> list[Column[Any]]: ...

    def stage_rows(
        self, batch: Batch
    ) -> tuple[Iterable[Sequence[Any]], int, dict[int, tuple[str, str]]]: ...

    def store(self, conn: Connection, stage: Table, staged: int) -> tuple[int, int]: ...

    #: The bound fields; its `customer_id` is checked against erased customers.
    plan: Plan


def import_customers(
    engine: Engine, path: Path, options: ImportOptions, progress: Progress | None = None
) -> ImportReport:
    """Upsert customers from a CSV or JSON Lines file (see `crm.core.importing.customers`)."""
    return _import("customers", engine, path, options, progress)


def import_interactions(
    engine: Engine, path: Path, options: ImportOptions, progress: Progress | None = None
) -> ImportReport:
    """Add the interactions of a file that are not already present; unknown customer ids become
    bare customers (see `crm.core.importing.interactions` and `.fingerprint`)."""
    return _import("interactions", engine, path, options, progress)


def import_campaigns(
    engine: Engine, path: Path, options: ImportOptions, progress: Progress | None = None
) -> ImportReport:
    """Upsert campaigns from a CSV or JSON Lines file (see `crm.core.importing.campaigns`)."""
    return _import("campaigns", engine, path, options, progress)


def _import(
    target: Target, engine: Engine, path: Path, options: ImportOptions, progress: Progress | None
) -> ImportReport:
    with open_source(path, options) as source:
        loader: Loader
        if target == "customers":
            plan = bind(target, source, options, customer_parsers(options))
            loader = CustomerLoader(plan, options, extra_columns(target, source, options))
        elif target == "interactions":
            plan = bind(target, source, options, interaction_parsers(options))
            loader = InteractionLoader(plan, options, extra_columns(target, source, options))
        else:
            loader = CampaignLoader(
                bind(target, source, options, campaign_parsers(options)), options
            )
        problems = Problems(path)
        rejects = (
            RejectWriter(options.reject_path or default_reject_path(source), source)
            if options.skip_bad_rows
            else None
        )
        try:
            report = _run(target, engine, source, loader, problems, rejects, progress)
        except BaseException:
            if rejects is not None:
                rejects.discard()
            raise
        if rejects is not None:
            rejects.close()
        return report


def _run(
    target: Target,
    engine: Engine,
    source: Source,
    loader: Loader,
    problems: Problems,
    rejects: RejectWriter | None,
    progress: Progress | None,
) -> ImportReport:
    read = staged = 0
    with write_transaction(engine) as conn:
        loader.prepare(conn)
        stage = open_stage(conn, loader.stage_columns())
        for batch in source.batches(source.options.batch_size):
            rows, good, bad = loader.stage_rows(batch)
            read += len(batch.lines) + len(batch.bad)
            staged += good
            _report_batch(batch, bad, problems, rejects)
            if good:
                stage.append(rows)
            if progress is not None:
                progress(source.position, source.total_bytes)
        stage.finish()
        if loader.unique is not None:
            staged -= _reject_duplicates(
                conn, stage.table, loader.unique, source, problems, rejects
            )
        staged -= _reject_erased(conn, stage.table, loader, source, problems, rejects)
        if problems.total and rejects is None:
            raise problems.error()
        resolve_merged_ids(conn, stage.table, one_row_per_customer=target == "customers")
        first, second = loader.store(conn, stage.table, staged)
        stage.drop()
        if target == "customers":
            added, updated, created = first, second, first
        elif target == "campaigns":
            added, updated, created = first, second, 0
        else:
            added, updated, created = first, 0, second
        conn.execute(
            insert(_IMPORT_LOG).values(
                imported_at=datetime.now(UTC).replace(tzinfo=None),
                target=target,
                source=str(source.path)[:500],
                rows_read=read,
                rows_added=added,
                rows_rejected=problems.total,
            )
        )
        record(
            conn,
            f"import {target}",
            rows_read=read,
            rows_added=added,
            rows_updated=updated,
            rows_rejected=problems.total,
            customers_created=created,
        )
    return ImportReport(
        target=target,
        source=source.path,
        rows_read=read,
        rows_added=added,
        rows_updated=updated,
        rows_already_present=staged - added - updated,
        rows_rejected=problems.total,
        customers_created=created,
        reject_path=rejects.path if rejects is not None and rejects.written else None,
    )


def _report_batch(
    batch: Batch,
    bad: dict[int, tuple[str, str]],
    problems: Problems,
    rejects: RejectWriter | None,
) -> None:
    """Record a batch's bad rows in line order: the reader's own, then the parsers'."""
    found: list[tuple[int, str | None, str, object]] = [
        (row.line, None, row.reason, row.raw) for row in batch.bad
    ]
    found += [(batch.lines[i], label, reason, batch.raw[i]) for i, (label, reason) in bad.items()]
    for line, label, reason, raw in sorted(found, key=lambda problem: problem[0]):
        detail = problems.add(line, label, reason)
        if rejects is not None:
            rejects.write(line, raw, detail)


def _later_duplicates(stage: Table, column: str) -> Select[Any]:
    """(line, value, first line) of every row whose `column` an earlier row already has."""
    first = func.min(stage.c.line).over(partition_by=stage.c[column])
    ranked = (
        select(stage.c.line, stage.c[column].label("value"), first.label("first_line"))
        .where(stage.c[column].is_not(None))
        .subquery("ranked")
    )
    return (
        select(ranked.c.line, ranked.c.value, ranked.c.first_line)
        .where(ranked.c.line != ranked.c.first_line)
        .order_by(ranked.c.line)
    )


def _reject_duplicates(
    conn: Connection,
    stage: Table,
    unique: BoundField,
    source: Source,
    problems: Problems,
    rejects: RejectWriter | None,
) -> int:
    """Report (and with a reject file, unstage) rows repeating an earlier row's id."""
    query = _later_duplicates(stage, unique.name)
    result = conn.execute(query, execution_options={"stream_results": True})
    duplicates = ((line, f"{value!r} is already on line {first}") for line, value, first in result)
    count = 0
    if rejects is None:
        for line, reason in duplicates:
            problems.add(line, unique.label(), reason)
            count += 1
        return count
    for line, raw, reason in _with_raw(source, duplicates):
        rejects.write(line, raw, problems.add(line, unique.label(), reason))
        count += 1
    if count:
        later = _later_duplicates(stage, unique.name).subquery("later")
        conn.execute(delete(stage).where(stage.c.line.in_(select(later.c.line))))
    return count


def _reject_erased(
    conn: Connection,
    stage: Table,
    loader: Loader,
    source: Source,
    problems: Problems,
    rejects: RejectWriter | None,
) -> int:
    """Rows that would bring back a customer erased by `crm forget` are bad rows (unless
    `recreate_erased`); only ids new to the database are hashed, and only if anyone was erased."""
    field = loader.plan.get("customer_id")
    if field is None or not has_tombstones(conn):
        return 0
    customer = Tables.default().customer
    # Distinct ids first: an interactions file has many rows per customer, and only the ids
    # (not the rows) need a hash; the lines are fetched only for ids that were erased.
    new_ids = (
        select(stage.c.customer_id)
        .where(
            stage.c.customer_id.is_not(None),
            ~exists().where(customer.c.external_id == stage.c.customer_id),
        )
        .distinct()
    )
    erased = erased_ids(conn, set(conn.scalars(new_ids)))
    if not erased:
        return 0
    if source.options.recreate_erased:
        record(conn, "re-create erased customers", customers=len(erased))
        return 0
    found = conn.execute(
        select(stage.c.line).where(stage.c.customer_id.in_(sorted(erased))).order_by(stage.c.line)
    ).scalars()
    reason = "this customer was erased (crm forget); pass --recreate-erased to import it again"
    lines = [(line, reason) for line in found]
    if rejects is None:
        for line, why in lines:
            problems.add(line, field.label(), why)
        return len(lines)
    for line, raw, why in _with_raw(source, lines):
        rejects.write(line, raw, problems.add(line, field.label(), why))
    conn.execute(delete(stage).where(stage.c.line.in_([line for line, _ in lines])))
    return len(lines)


def _with_raw(
    source: Source, wanted: Iterable[tuple[int, str]]
) -> Iterator[tuple[int, object, str]]:
    """(line, raw row, reason) for the wanted lines (ascending), from a second pass over the
    file: the rows were valid, so only the file still has them as written."""
    pending = iter(wanted)
    nxt = next(pending, None)
    if nxt is None:
        return
    with source.reopen() as again:
        for batch in again.batches(source.options.batch_size):
            for line, raw in zip(batch.lines, batch.raw, strict=True):
                while nxt is not None and nxt[0] == line:
                    yield line, raw, nxt[1]
                    nxt = next(pending, None)
                if nxt is None:
                    return
