"""Reading stored runs back: a whole run as a `SegmentationResult`, one customer, or one column.

A loaded run has the shape of a fresh one, so every report works on both. Its `facts` carry what
the run stored per customer: `customer_id`, `external_id` (looked up now), and `purchases` and
`revenue_minor` as of the run's analysis date. The other fact columns are empty (None, NaT) and
`kind_counts()` raises: they describe the data at scoring time, which a stored run does not keep.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import TYPE_CHECKING, Any

import numpy as np
from attrs import frozen
from sqlalchemy import Connection, select

from crm.core.components import Metric
from crm.core.errors import NotFoundError
from crm.core.facts import Facts
from crm.core.run_codec import decode_keys
from crm.core.runs import FACT, SCORE, SEGMENT, current_run, decode_column, get_run
from crm.core.schema import (
    CustomerRow,
    RunArtifactRow,
    RunChunkRow,
    RunColumnRow,
    RunMetricRow,
    RunRow,
    RunSegmentationRow,
)
from crm.core.segment import Run, Segment

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from crm.core.pipeline import SegmentationOutcome, SegmentationResult


def run_segments(connection: Connection, run_id: int) -> dict[str, tuple[Segment, ...]]:
    """Each segmentation and stage model of the run, in run order, with its segments."""
    rows = connection.execute(
        select(RunSegmentationRow.name, RunSegmentationRow.segments)
        .where(RunSegmentationRow.run_id == run_id)
        .order_by(RunSegmentationRow.position)
    )
    return {
        name: tuple(Segment(s["name"], s.get("description", ""), s.get("action", "")) for s in segs)
        for name, segs in rows
    }


def run_metrics(connection: Connection, run_id: int) -> dict[str, Metric]:
    rows = connection.execute(
        select(RunMetricRow.name, RunMetricRow.kind, RunMetricRow.description)
        .where(RunMetricRow.run_id == run_id)
        .order_by(RunMetricRow.position)
    )
    return {
        name: Metric(name.split(".", 1)[-1], kind, description)  # type: ignore[arg-type]
        for name, kind, description in rows
    }


def run_artifacts(connection: Connection, run_id: int) -> dict[str, Any]:
    rows = connection.execute(
        select(RunArtifactRow.name, RunArtifactRow.data)
        .where(RunArtifactRow.run_id == run_id)
        .order_by(RunArtifactRow.name)
    )
    return {name: data for name, data in rows}


def run_config(connection: Connection, run_id: int) -> dict[str, Any]:
    config = connection.scalar(select(RunRow.config).where(RunRow.id == run_id))
    return dict(config or {})


def read_columns(
    connection: Connection, run_id: int, names: Sequence[str] | None = None
) -> tuple[NDArray[np.int64], dict[str, NDArray[Any]]]:
    """The run's customer keys (ascending) and the named columns (default: all), decoded."""
    chunks = connection.execute(
        select(RunChunkRow.chunk, RunChunkRow.customers, RunChunkRow.keys)
        .where(RunChunkRow.run_id == run_id)
        .order_by(RunChunkRow.chunk)
    ).all()
    counts = {chunk: count for chunk, count, _ in chunks}
    keys = [decode_keys(blob, count) for _, count, blob in chunks]
    query = select(RunColumnRow.chunk, RunColumnRow.name, RunColumnRow.encoding, RunColumnRow.data)
    query = query.where(RunColumnRow.run_id == run_id).order_by(RunColumnRow.chunk)
    if names is not None:
        query = query.where(RunColumnRow.name.in_(list(names)))
    parts: dict[str, list[NDArray[Any]]] = {}
    for chunk, name, encoding, data in connection.execute(query):
        parts.setdefault(name, []).append(decode_column(name, encoding, data, counts[chunk]))
    all_keys = np.concatenate(keys) if keys else np.zeros(0, dtype=np.int64)
    return all_keys, {name: np.concatenate(values) for name, values in parts.items()}


def external_ids(connection: Connection, keys: NDArray[np.int64]) -> NDArray[np.object_]:
    """The customers' own ids for internal keys (None for a key no customer has any more)."""
    out = np.full(keys.shape, None, dtype=object)
    if not keys.size:
        return out
    c = CustomerRow.__table__.c
    rows = connection.execute(
        select(c.id, c.external_id)
        .where(c.id >= int(keys.min()), c.id <= int(keys.max()))
        .order_by(c.id)
    ).all()
    if rows:
        ids = np.array([r[0] for r in rows], dtype=np.int64)
        names = np.array([r[1] for r in rows], dtype=object)
        at = np.minimum(np.searchsorted(ids, keys), len(ids) - 1)
        found = ids[at] == keys
        out[found] = names[at[found]]
    return out


def stored_facts(
    as_of: date, keys: NDArray[np.int64], ids: NDArray[np.object_], columns: Mapping[str, Any]
) -> Facts:
    """Facts of a stored run: keys, ids, and the `fact:` columns it kept (see the docstring)."""
    n = len(keys)
    empty = np.full(n, None, dtype=object)
    zeros = np.zeros(n, dtype=np.int64)
    return Facts(
        as_of=as_of,
        customer_id=keys,
        external_id=ids,
        country=empty,
        city=empty.copy(),
        gender=empty.copy(),
        birth_date=np.full(n, np.datetime64("NaT"), dtype="datetime64[D]"),
        first_purchase=np.full(n, np.datetime64("NaT"), dtype="datetime64[s]"),
        last_purchase=np.full(n, np.datetime64("NaT"), dtype="datetime64[s]"),
        purchases=columns.get(FACT + "purchases", zeros),
        revenue_minor=columns.get(FACT + "revenue_minor", zeros),
    )


def load_run(connection: Connection, run_id: int) -> SegmentationResult:
    """Stored run `run_id` as a `SegmentationResult` (facts: see the module docstring)."""
    from crm.core.pipeline import SegmentationOutcome, SegmentationResult

    run = get_run(connection, run_id)
    keys, columns = read_columns(connection, run_id)
    metrics = run_metrics(connection, run_id)
    outcomes: list[SegmentationOutcome] = []
    for name, segments in run_segments(connection, run_id).items():
        codes = columns.get(SEGMENT + name, np.full(len(keys), -1, dtype=np.int64))
        outcomes.append(SegmentationOutcome(name, segments, codes))
    return SegmentationResult(
        as_of=run.as_of,
        facts=stored_facts(run.as_of, keys, external_ids(connection, keys), columns),
        metrics=metrics,
        scores={name: columns[SCORE + name] for name in metrics if SCORE + name in columns},
        outcomes=tuple(outcomes),
        config_hash=run.config_hash,
        plugins=dict(run.plugins),
        run_id=run.id,
        artifacts=run_artifacts(connection, run_id),
    )


@frozen(kw_only=True)
class CustomerInRun:
    """One customer in one run: `covered` is false when the run does not include them (a
    customer imported after it: run `crm segment` to score them)."""

    run: Run
    covered: bool
    segments: Mapping[str, Segment | None]
    scores: Mapping[str, float | None]
    revenue_minor: int | None = None
    purchases: int | None = None


def customer_in_run(
    connection: Connection, customer_key: int, run_id: int | None = None
) -> CustomerInRun | None:
    """A customer's segments and scores in run `run_id` (default: the current run), decoding
    only the one chunk that holds them. None when no run is stored."""
    run = current_run(connection) if run_id is None else get_run(connection, run_id)
    if run is None:
        return None
    chunk = connection.execute(
        select(RunChunkRow.chunk, RunChunkRow.customers, RunChunkRow.keys).where(
            RunChunkRow.run_id == run.id,
            RunChunkRow.first_key <= customer_key,
            RunChunkRow.last_key >= customer_key,
        )
    ).first()
    position = -1
    if chunk is not None:
        keys = decode_keys(chunk.keys, chunk.customers)
        at = int(np.searchsorted(keys, customer_key))
        position = at if at < len(keys) and keys[at] == customer_key else -1
    if chunk is None or position < 0:
        return CustomerInRun(run=run, covered=False, segments={}, scores={})
    cells = connection.execute(
        select(RunColumnRow.name, RunColumnRow.encoding, RunColumnRow.data).where(
            RunColumnRow.run_id == run.id, RunColumnRow.chunk == chunk.chunk
        )
    ).all()
    values = {
        name: decode_column(name, encoding, data, chunk.customers)[position]
        for name, encoding, data in cells
    }
    segments: dict[str, Segment | None] = {}
    for name, options in run_segments(connection, run.id).items():
        code = int(values.get(SEGMENT + name, -1))
        segments[name] = options[code] if code >= 0 else None
    scores = {
        name: None if np.isnan(values[SCORE + name]) else float(values[SCORE + name])
        for name in run_metrics(connection, run.id)
        if SCORE + name in values
    }
    facts = {name: values.get(FACT + name) for name in ("revenue_minor", "purchases")}
    return CustomerInRun(
        run=run,
        covered=True,
        segments=segments,
        scores=scores,
        revenue_minor=None if facts["revenue_minor"] is None else int(facts["revenue_minor"]),
        purchases=None if facts["purchases"] is None else int(facts["purchases"]),
    )


def customer_results(
    connection: Connection, customer_id: int, run_id: int | None = None
) -> tuple[Run | None, Mapping[str, str], Mapping[str, float | None]]:
    """The current run (or run `run_id`): the customer's segment names and scores."""
    found = customer_in_run(connection, customer_id, run_id)
    if found is None:
        return None, {}, {}
    names = {k: s.name for k, s in found.segments.items() if s is not None}
    return found.run, names, dict(found.scores)


def segment_counts(connection: Connection, run_id: int) -> list[tuple[str, str, int]]:
    """(segmentation, segment, customers) for every segment of the run; customers a
    segmentation leaves out are counted as "(none)" when there are any."""
    segmentations = run_segments(connection, run_id)
    _, columns = read_columns(connection, run_id, [SEGMENT + name for name in segmentations])
    rows: list[tuple[str, str, int]] = []
    for name, segments in segmentations.items():
        codes = columns.get(SEGMENT + name, np.zeros(0, dtype=np.int64))
        counts = np.bincount(codes + 1, minlength=len(segments) + 1)
        rows += [(name, s.name, int(counts[i + 1])) for i, s in enumerate(segments)]
        if counts[0]:
            rows.append((name, "(none)", int(counts[0])))
    return rows


def keys_in_runs(connection: Connection, candidates: Iterable[int]) -> set[int]:
    """Which of these customer keys any stored run holds (decoding only the key blobs of the
    chunks whose key range could hold one)."""
    wanted = np.unique(np.fromiter(candidates, dtype=np.int64))
    if not wanted.size:
        return set()
    chunks = connection.execute(
        select(RunChunkRow.customers, RunChunkRow.keys).where(
            RunChunkRow.first_key <= int(wanted[-1]), RunChunkRow.last_key >= int(wanted[0])
        )
    )
    found: set[int] = set()
    for count, blob in chunks:
        keys = decode_keys(blob, count)
        found.update(wanted[np.isin(wanted, keys)].tolist())
    return found


def require_run(connection: Connection, run_id: int | None) -> Run:
    """Run `run_id`, or the current run; NotFoundError when there is none."""
    if run_id is not None:
        return get_run(connection, run_id)
    run = current_run(connection)
    if run is None:
        raise NotFoundError("no run is stored yet: run crm segment first")
    return run
