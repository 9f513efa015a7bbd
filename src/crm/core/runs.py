"""Storing segmentation runs, choosing the current one, deleting, pruning and erasing.

A run is one `segmentation_run` row, its segmentations (segment names stored once) and metrics,
and its customers in chunks of ascending keys (`run_chunk`), each chunk holding one compressed
blob per column (`run_column`: segment codes, scores, and the revenue and purchases the run saw).
See crm.core.run_codec for the encodings and crm.core.run_reading for reading runs back.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, time
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlalchemy import Connection, delete, insert, select, update

from crm.core.errors import NotFoundError
from crm.core.run_codec import (
    CHUNK_SIZE,
    decode_codes,
    decode_integers,
    decode_keys,
    decode_scores,
    encode_codes,
    encode_integers,
    encode_keys,
    encode_scores,
)
from crm.core.schema import (
    RunArtifactRow,
    RunChunkRow,
    RunColumnRow,
    RunMetricRow,
    RunRow,
    RunSegmentationRow,
)
from crm.core.segment import Run

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from crm.core.config import CrmConfig
    from crm.core.pipeline import SegmentationResult

#: Column-name prefixes in `run_column`.
SEGMENT, SCORE, FACT = "segment:", "score:", "fact:"
#: The facts a run keeps per customer, beside its segments and scores (for revenue in reports
#: and segment migration, as the run saw them).
STORED_FACTS = ("revenue_minor", "purchases")
#: Tables holding a run's rows, children first: the order deletes go in.
RUN_TABLES = (RunArtifactRow, RunColumnRow, RunChunkRow, RunMetricRow, RunSegmentationRow, RunRow)


def _encoded_columns(
    result: SegmentationResult, order: NDArray[np.intp]
) -> Iterator[tuple[str, Any]]:
    """(column name, encoder of one chunk of positions) for every stored column."""
    for outcome in result.outcomes:
        codes = outcome.codes[order]
        size = len(outcome.segments)
        yield SEGMENT + outcome.name, lambda part, c=codes, n=size: encode_codes(c[part], n)
    for name, values in result.scores.items():
        ordered = values[order]
        yield SCORE + name, lambda part, v=ordered: encode_scores(v[part])
    for fact in STORED_FACTS:
        column = np.asarray(getattr(result.facts, fact), dtype=np.int64)[order]
        yield FACT + fact, lambda part, v=column: encode_integers(v[part])


def store_run(connection: Connection, result: SegmentationResult, config: CrmConfig) -> int:
    """Write the run, its segmentations, metrics, artifacts and customer columns; returns its id.

    The caller owns the transaction (`with engine.begin() as connection:`), so a run is stored
    whole or not at all.
    """
    run_id = int(
        connection.execute(
            insert(RunRow).returning(RunRow.id),
            {
                "created_at": datetime.now(UTC).replace(tzinfo=None),
                "as_of": result.as_of,
                "config_hash": result.config_hash,
                "config": json.loads(json.dumps(config.to_dict(), default=str)),
                "plugins": dict(result.plugins),
                "customers": len(result.facts),
            },
        ).scalar_one()
    )
    write_run_contents(connection, run_id, result)
    return run_id


def write_run_contents(connection: Connection, run_id: int, result: SegmentationResult) -> None:
    """Everything of a run but its `segmentation_run` row (shared with the schema migration)."""
    if result.outcomes:
        connection.execute(
            insert(RunSegmentationRow),
            [
                {
                    "run_id": run_id,
                    "name": outcome.name,
                    "position": position,
                    "segments": [
                        {"name": s.name, "description": s.description, "action": s.action}
                        for s in outcome.segments
                    ],
                }
                for position, outcome in enumerate(result.outcomes)
            ],
        )
    metrics = [
        {
            "run_id": run_id,
            "name": name,
            "position": position,
            "kind": metric.kind,
            "description": metric.description,
        }
        for position, (name, metric) in enumerate(result.metrics.items())
        if name in result.scores
    ]
    if metrics:
        connection.execute(insert(RunMetricRow), metrics)
    if result.artifacts:
        connection.execute(
            insert(RunArtifactRow),
            [{"run_id": run_id, "name": k, "data": v} for k, v in result.artifacts.items()],
        )
    keys = np.asarray(result.facts.customer_id, dtype=np.int64)
    order = np.argsort(keys, kind="stable")  # facts come sorted; this only guards the contract
    keys = keys[order]
    columns = list(_encoded_columns(result, order))
    chunks, cells = [], []
    for chunk, start in enumerate(range(0, len(keys), CHUNK_SIZE)):
        part = slice(start, start + CHUNK_SIZE)
        chunk_keys = keys[part]
        chunks.append(
            {
                "run_id": run_id,
                "chunk": chunk,
                "first_key": int(chunk_keys[0]),
                "last_key": int(chunk_keys[-1]),
                "customers": len(chunk_keys),
                "keys": encode_keys(chunk_keys),
            }
        )
        for name, encode in columns:
            encoding, data = encode(part)
            cells.append(
                {"run_id": run_id, "chunk": chunk, "name": name, "encoding": encoding, "data": data}
            )
    if chunks:
        connection.execute(insert(RunChunkRow), chunks)
        connection.execute(insert(RunColumnRow), cells)


def run_from_row(row: Any) -> Run:
    return Run(
        id=row.id,
        created_at=row.created_at,
        as_of=row.as_of,
        config_hash=row.config_hash,
        plugins=row.plugins,
        customers=row.customers,
    )


def list_runs(connection: Connection, *, limit: int | None = None) -> list[Run]:
    """Stored runs, newest first."""
    table = RunRow.__table__
    query = select(table).order_by(table.c.id.desc()).limit(limit)
    return [run_from_row(row) for row in connection.execute(query)]


def current_run(connection: Connection) -> Run | None:
    """The latest stored run of the latest analysis date stored: a back-dated run (`crm segment
    --as-of` an earlier day) is history, and never becomes current by being newer."""
    table = RunRow.__table__
    query = select(table).order_by(table.c.as_of.desc(), table.c.id.desc()).limit(1)
    row = connection.execute(query).first()
    return None if row is None else run_from_row(row)


def latest_run(connection: Connection) -> Run | None:
    """Kept for callers of the first version: the current run (see `current_run`)."""
    return current_run(connection)


def get_run(connection: Connection, run_id: int) -> Run:
    row = connection.execute(select(RunRow.__table__).where(RunRow.id == run_id)).first()
    if row is None:
        known = [run.id for run in list_runs(connection, limit=5)]
        hint = f"latest runs: {', '.join(map(str, known))}" if known else "no run is stored yet"
        raise NotFoundError(f"no run {run_id} ({hint}; see crm runs)")
    return run_from_row(row)


def delete_runs(connection: Connection, run_ids: Iterable[int]) -> int:
    """Delete runs with every row that belongs to them; returns how many runs were deleted.

    The caller owns the transaction, so a failure leaves every run as it was.
    """
    ids = sorted(set(run_ids))
    if not ids:
        return 0
    for table in RUN_TABLES:
        columns = table.__table__.c
        column = columns.id if table is RunRow else columns.run_id
        connection.execute(delete(table).where(column.in_(ids)))
    return len(ids)


def runs_to_prune(
    connection: Connection, *, keep: int | None = None, before: date | None = None
) -> list[Run]:
    """Runs outside the newest `keep` and created before `before` (either condition may be
    left out, not both); the current run is never pruned (delete it by its number)."""
    if keep is None and before is None:
        raise ValueError("say what to prune: keep the newest N runs, or runs created before a day")
    runs = list_runs(connection)
    current = current_run(connection)
    chosen = runs[keep:] if keep is not None else runs
    if before is not None:
        chosen = [run for run in chosen if run.created_at < datetime.combine(before, time.min)]
    return [run for run in chosen if current is None or run.id != current.id]


def prune_runs(
    connection: Connection, *, keep: int | None = None, before: date | None = None
) -> list[Run]:
    """Delete what `runs_to_prune` chooses; returns the deleted runs."""
    pruned = runs_to_prune(connection, keep=keep, before=before)
    delete_runs(connection, [run.id for run in pruned])
    return pruned


def decode_column(name: str, encoding: str, data: bytes, count: int) -> NDArray[Any]:
    if name.startswith(SCORE):
        return decode_scores(encoding, data, count)
    if name.startswith(SEGMENT):
        return decode_codes(encoding, data, count)
    return decode_integers(encoding, data, count)


def encode_column(name: str, values: NDArray[Any], segments: int) -> tuple[str, bytes]:
    if name.startswith(SCORE):
        return encode_scores(values)
    if name.startswith(SEGMENT):
        return encode_codes(values, segments)
    return encode_integers(values)


def erase_customer_from_runs(connection: Connection, customer_key: int) -> int:
    """Remove one customer (by internal key) from every stored run; returns how many runs held
    them.

    Called inside the erasure's transaction by `crm forget`: each chunk that held them is
    decoded, rewritten without them and encoded again. A run's total (`customers`) keeps
    counting the person as they were at the time (docs/privacy.md); no stored value of a run
    belongs to them any more.
    """
    chunks = connection.execute(
        select(RunChunkRow.run_id, RunChunkRow.chunk, RunChunkRow.customers, RunChunkRow.keys)
        .where(RunChunkRow.first_key <= customer_key, RunChunkRow.last_key >= customer_key)
        .order_by(RunChunkRow.run_id, RunChunkRow.chunk)
    ).all()
    erased = 0
    for run_id, chunk, count, blob in chunks:
        keys = decode_keys(blob, count)
        position = int(np.searchsorted(keys, customer_key))
        if position >= count or keys[position] != customer_key:
            continue
        where_chunk = (RunColumnRow.run_id == run_id, RunColumnRow.chunk == chunk)
        sizes = {
            name: len(segments)
            for name, segments in connection.execute(
                select(RunSegmentationRow.name, RunSegmentationRow.segments).where(
                    RunSegmentationRow.run_id == run_id
                )
            )
        }
        cells = connection.execute(
            select(RunColumnRow.name, RunColumnRow.encoding, RunColumnRow.data).where(*where_chunk)
        ).all()
        connection.execute(delete(RunColumnRow).where(*where_chunk))
        chunk_row = (RunChunkRow.run_id == run_id, RunChunkRow.chunk == chunk)
        remaining = np.delete(keys, position)
        if remaining.size:
            connection.execute(
                update(RunChunkRow)
                .where(*chunk_row)
                .values(
                    first_key=int(remaining[0]),
                    last_key=int(remaining[-1]),
                    customers=int(remaining.size),
                    keys=encode_keys(remaining),
                )
            )
            rows = []
            for name, encoding, data in cells:
                values = np.delete(decode_column(name, encoding, data, count), position)
                new_encoding, new_data = encode_column(
                    name, values, sizes.get(name.removeprefix(SEGMENT), 0)
                )
                rows.append(
                    {
                        "run_id": run_id,
                        "chunk": chunk,
                        "name": name,
                        "encoding": new_encoding,
                        "data": new_data,
                    }
                )
            if rows:
                connection.execute(insert(RunColumnRow), rows)
        else:
            connection.execute(delete(RunChunkRow).where(*chunk_row))
        erased += 1
    return erased
