"""The core report "Segment migration": where the customers of each segmentation came from since
the earlier run (`ReportContext.previous`), as a from x to heat map per segmentation.

It appears only when an earlier run exists (a run of an earlier analysis date, as `crm segments
diff` picks it). Each cell is a group of customers, so cells of fewer than `[reports]
min_group_size` customers are hidden like every other small group.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from attrs import frozen

from crm.core.components import ReportContext
from crm.core.pipeline import SegmentationResult
from crm.core.report_model import Figure, Section, Series, Text
from crm.core.segment_migration import Side, migration_counts


def _sides(run: SegmentationResult) -> dict[str, Side]:
    keys = np.asarray(run.facts.customer_id, dtype=np.int64)
    order = np.argsort(keys, kind="stable")  # migration_cells wants ascending keys
    return {
        outcome.name: (
            keys[order],
            np.asarray(outcome.codes, dtype=np.int64)[order],
            tuple(s.name for s in outcome.segments),
        )
        for outcome in run.outcomes
    }


def migration_figure(segmentation: str, earlier: Side, later: Side, since: str) -> Figure:
    from_labels, to_labels, counts = migration_counts(earlier, later)
    return Figure(
        kind="heatmap",
        title=f"{segmentation}: customers from each segment then (rows) to each segment now",
        categories=to_labels,
        series=tuple(
            Series(name=label, values=row.tolist(), customers=row.tolist())
            for label, row in zip(from_labels, counts, strict=True)
        ),
        x_label="now",
        y_label=f"as of {since}",
        unit="customers",
        caption="Darker cells hold more customers; the diagonal stayed. (new): not in the "
        "earlier run; (gone): not in this one; (none): in the run without a segment.",
    )


@frozen
class SegmentMigrationReport:
    def build(self, context: ReportContext) -> Sequence[Section]:
        if context.previous is None:
            return ()
        earlier, later = _sides(context.previous), _sides(context.run)
        since = context.previous.as_of.isoformat()
        figures = tuple(
            migration_figure(name, earlier[name], side, since)
            for name, side in later.items()
            if name in earlier
        )
        if not figures:
            return ()
        run = context.previous.run_id
        return (
            Section(
                title="Segment migration",
                blocks=(
                    Text(
                        f"Compared with run {run} (as of {since}); crm segments diff lists the "
                        "customers behind a cell."
                    ),
                    *figures,
                ),
            ),
        )
