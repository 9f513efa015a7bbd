"""Segment migration: how customers moved between the segments of one segmentation from one
stored run to another (`crm segments diff`), as arrays a chart can draw and tables a CLI prints.

Rows are the earlier run's segments, then "(none)" (in the run, no segment) and "(new)" (not in
the earlier run: customers who entered); columns are the later run's segments, then "(none)" and
"(gone)" (not in the later run: customers who left, for example erased ones). Revenue is each
customer's total purchase amount as the later run saw it (as the earlier run saw it for those who
left), in minor units.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

import numpy as np
from attrs import frozen
from sqlalchemy import Connection, select

from crm.core.components import Table
from crm.core.errors import ConfigError, NotFoundError
from crm.core.run_reading import external_ids, read_columns, require_run, run_segments
from crm.core.runs import FACT, SEGMENT, get_run, run_from_row
from crm.core.schema import RunRow
from crm.core.segment import Run

if TYPE_CHECKING:
    from numpy.typing import NDArray

NONE, NEW, GONE = "(none)", "(new)", "(gone)"


def _money(minor: int) -> Decimal:
    return (Decimal(minor) / 100).quantize(Decimal("0.01"))


@frozen(kw_only=True)
class SegmentMigration:
    """The from x to matrix of one segmentation between two runs, and the customers behind it."""

    segmentation: str
    from_run: Run
    to_run: Run
    from_labels: tuple[str, ...]
    to_labels: tuple[str, ...]
    #: customers[i, j]: customers in from_labels[i] then, in to_labels[j] now.
    customers: NDArray[np.int64]
    #: revenue_minor[i, j]: their revenue in minor units (see the module docstring).
    revenue_minor: NDArray[np.int64]
    #: Per customer of either run (ascending internal key): row and column index, revenue.
    customer_key: NDArray[np.int64]
    from_index: NDArray[np.intp]
    to_index: NDArray[np.intp]
    customer_revenue_minor: NDArray[np.int64]

    @property
    def entered(self) -> int:
        return int(self.customers[-1].sum())

    @property
    def left(self) -> int:
        return int(self.customers[:, -1].sum())

    @property
    def moved(self) -> int:
        """Customers whose segment changed (entering and leaving included)."""
        same = (
            np.array(self.from_labels)[self.from_index] == np.array(self.to_labels)[self.to_index]
        )
        return int((~same).sum())

    @property
    def title(self) -> str:
        a, b = self.from_run, self.to_run
        return (
            f"{self.segmentation}: run {a.id} (as of {a.as_of}) -> run {b.id} (as of {b.as_of}); "
            f"{self.moved} moved, {self.entered} entered, {self.left} left"
        )

    def cells(self) -> Table:
        """One row per non-empty cell: from, to, customers, share of the from row, revenue."""
        totals = self.customers.sum(axis=1)
        rows = tuple(
            (
                self.from_labels[i],
                self.to_labels[j],
                int(self.customers[i, j]),
                round(int(self.customers[i, j]) / int(totals[i]), 4),
                _money(int(self.revenue_minor[i, j])),
            )
            for i in range(len(self.from_labels))
            for j in range(len(self.to_labels))
            if self.customers[i, j]
        )
        return Table(("from", "to", "customers", "share", "revenue"), rows, self.title)

    def matrix(self) -> Table:
        """The customer counts as a matrix: one row per from segment, one column per to."""
        rows = tuple(
            (label, *(int(v) for v in self.customers[i]))
            for i, label in enumerate(self.from_labels)
        )
        return Table(("from \\ to", *self.to_labels), rows, self.title)

    def chosen(self, from_segment: str | None, to_segment: str | None) -> NDArray[np.bool_]:
        """Which customers moved from `from_segment` to `to_segment` (None: any; both None:
        every customer whose segment changed); an unknown name is a ConfigError."""
        keep = np.ones(len(self.customer_key), dtype=bool)
        for wanted, labels, index, side in (
            (from_segment, self.from_labels, self.from_index, "from"),
            (to_segment, self.to_labels, self.to_index, "to"),
        ):
            if wanted is None:
                continue
            if wanted not in labels:
                raise ConfigError(
                    f"--{side}: no segment {wanted!r} in {self.segmentation!r} of run "
                    f"{(self.from_run if side == 'from' else self.to_run).id}; known: "
                    + ", ".join(labels)
                )
            keep &= index == labels.index(wanted)
        if from_segment is None and to_segment is None:
            same = (
                np.array(self.from_labels)[self.from_index]
                == np.array(self.to_labels)[self.to_index]
            )
            keep &= ~same
        return keep

    def movers(
        self, connection: Connection, from_segment: str | None, to_segment: str | None
    ) -> Table:
        """The customers behind one cell (a campaign list): customer_id, from, to, revenue."""
        keep = self.chosen(from_segment, to_segment)
        ids = external_ids(connection, self.customer_key[keep])
        rows = tuple(
            (cid, self.from_labels[i], self.to_labels[j], _money(int(r)))
            for cid, i, j, r in zip(
                ids.tolist(),
                self.from_index[keep].tolist(),
                self.to_index[keep].tolist(),
                self.customer_revenue_minor[keep].tolist(),
                strict=True,
            )
        )
        return Table(("customer_id", "from", "to", "revenue"), rows, self.title)


def earlier_run(connection: Connection, run: Run) -> Run:
    """The latest stored run of an analysis date before `run`'s."""
    table = RunRow.__table__
    row = connection.execute(
        select(table)
        .where(table.c.as_of < run.as_of)
        .order_by(table.c.as_of.desc(), table.c.id.desc())
        .limit(1)
    ).first()
    if row is None:
        raise NotFoundError(
            f"no stored run has an analysis date before run {run.id}'s ({run.as_of}); "
            "store one with crm segment --as-of YYYY-MM-DD, or name two runs"
        )
    return run_from_row(row)


def _side(
    connection: Connection, run: Run, segmentation: str
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64], tuple[str, ...]]:
    segmentations = run_segments(connection, run.id)
    if segmentation not in segmentations:
        raise ConfigError(
            f"run {run.id} has no segmentation {segmentation!r}; it has: "
            + (", ".join(segmentations) or "none")
        )
    names = [SEGMENT + segmentation, FACT + "revenue_minor"]
    keys, columns = read_columns(connection, run.id, names)
    zeros = np.zeros(len(keys), dtype=np.int64)
    codes = columns.get(SEGMENT + segmentation, zeros - 1)
    revenue = columns.get(FACT + "revenue_minor", zeros)
    return keys, codes, revenue, tuple(s.name for s in segmentations[segmentation])


def shared_segmentation(
    connection: Connection, earlier: Run, later: Run, preferred: Sequence[str] = ()
) -> str:
    """The segmentation to compare when none is named: the first of `preferred` (the headline
    segmentations, `SegmentationSpec.headline`: rfm in the default configuration) that both runs
    stored, else the first both stored in `later`'s run order (registration order)."""
    in_earlier = run_segments(connection, earlier.id)
    in_later = run_segments(connection, later.id)
    for name in (*preferred, *in_later):
        if name in in_earlier and name in in_later:
            return name
    raise ConfigError(
        f"runs {earlier.id} and {later.id} have no segmentation in common; "
        f"run {earlier.id} has: {', '.join(in_earlier) or 'none'}"
    )


#: One side of a migration: customer keys (ascending), their segment codes (-1: none) and the
#: segment names the codes index.
Side = tuple["NDArray[np.int64]", "NDArray[np.int64]", tuple[str, ...]]


def migration_cells(
    earlier: Side, later: Side
) -> tuple[tuple[str, ...], tuple[str, ...], NDArray[np.int64], NDArray[np.intp], NDArray[np.intp]]:
    """From and to labels, and per customer of either side (ascending key) its row and column:
    the arithmetic of every migration, stored runs (`segment_migration`) or runs in memory
    (the report's heat map)."""
    a_keys, a_codes, a_names = earlier
    b_keys, b_codes, b_names = later
    from_labels = (*a_names, NONE, NEW)
    to_labels = (*b_names, NONE, GONE)
    keys = np.union1d(a_keys, b_keys)
    from_index = np.full(len(keys), len(from_labels) - 1, dtype=np.intp)  # (new)
    to_index = np.full(len(keys), len(to_labels) - 1, dtype=np.intp)  # (gone)
    # A code of -1 (no segment) lands on "(none)", the label just before the last.
    from_index[np.isin(keys, a_keys)] = np.where(a_codes >= 0, a_codes, len(a_names))
    to_index[np.isin(keys, b_keys)] = np.where(b_codes >= 0, b_codes, len(b_names))
    return from_labels, to_labels, keys, from_index, to_index


def migration_counts(
    earlier: Side, later: Side
) -> tuple[tuple[str, ...], tuple[str, ...], NDArray[np.int64]]:
    """The from x to customer counts (see `migration_cells`)."""
    from_labels, to_labels, _keys, from_index, to_index = migration_cells(earlier, later)
    size = len(from_labels) * len(to_labels)
    flat = from_index * len(to_labels) + to_index
    counts = np.bincount(flat, minlength=size).astype(np.int64)
    return from_labels, to_labels, counts.reshape(len(from_labels), len(to_labels))


def latest_run_before(connection: Connection, as_of: date) -> int | None:
    """The id of the latest stored run of an analysis date before `as_of`, as `crm segments
    diff` picks it (`earlier_run`), or None."""
    table = RunRow.__table__
    found: int | None = connection.scalar(
        select(table.c.id)
        .where(table.c.as_of < as_of)
        .order_by(table.c.as_of.desc(), table.c.id.desc())
        .limit(1)
    )
    return found


def segment_migration(
    connection: Connection,
    segmentation: str | None = None,
    from_run: int | None = None,
    to_run: int | None = None,
    *,
    preferred: Sequence[str] = (),
) -> SegmentMigration:
    """The migration of `segmentation` from run `from_run` to run `to_run`; by default `to_run`
    is the current run, `from_run` the latest run of an earlier analysis date and
    `segmentation` the first one both runs have (`shared_segmentation`)."""
    later = require_run(connection, to_run)
    earlier = (
        get_run(connection, from_run) if from_run is not None else earlier_run(connection, later)
    )
    if segmentation is None:
        segmentation = shared_segmentation(connection, earlier, later, preferred)
    a_keys, a_codes, a_revenue, a_names = _side(connection, earlier, segmentation)
    b_keys, b_codes, b_revenue, b_names = _side(connection, later, segmentation)
    from_labels, to_labels, keys, from_index, to_index = migration_cells(
        (a_keys, a_codes, a_names), (b_keys, b_codes, b_names)
    )
    revenue = np.zeros(len(keys), dtype=np.int64)
    revenue[np.isin(keys, a_keys)] = a_revenue
    revenue[np.isin(keys, b_keys)] = b_revenue
    shape = (len(from_labels), len(to_labels))
    flat = from_index * shape[1] + to_index
    size = shape[0] * shape[1]
    revenue_cells = np.zeros(size, dtype=np.int64)
    np.add.at(revenue_cells, flat, revenue)  # integer sums: money stays exact
    return SegmentMigration(
        segmentation=segmentation,
        from_run=earlier,
        to_run=later,
        from_labels=from_labels,
        to_labels=to_labels,
        customers=np.bincount(flat, minlength=size).astype(np.int64).reshape(shape),
        revenue_minor=revenue_cells.reshape(shape),
        customer_key=keys,
        from_index=from_index,
        to_index=to_index,
        customer_revenue_minor=revenue,
    )
