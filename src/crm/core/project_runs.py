"""`Project`'s stored-run history: list, load, show, delete, prune, compare."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import TYPE_CHECKING

from crm.core.database import write_transaction
from crm.core.project_part import ProjectPart

if TYPE_CHECKING:
    from crm.core.pipeline import SegmentationResult
    from crm.core.run_details import RunDetails
    from crm.core.segment import Run
    from crm.core.segment_migration import SegmentMigration


class RunHistory(ProjectPart):
    """Stored runs of a project (`crm runs`, `crm segments diff`)."""

    __slots__ = ()

    def runs(self, *, limit: int | None = None) -> list[Run]:
        """Stored segmentation runs, newest first."""
        from crm.core.runs import list_runs

        with self.engine.connect() as connection:
            return list_runs(connection, limit=limit)

    def current_run(self) -> Run | None:
        """The latest run of the latest analysis date stored (a back-dated run is history)."""
        from crm.core.runs import current_run

        with self.engine.connect() as connection:
            return current_run(connection)

    def load_run(self, run_id: int | None = None) -> SegmentationResult:
        """Stored run `run_id` (default: the current run) in the shape of a fresh run, with its
        `artifacts`; its facts carry customer ids, purchases and revenue only
        (crm.core.run_reading)."""
        from crm.core.run_reading import load_run, require_run

        with self.engine.connect() as connection:
            return load_run(connection, require_run(connection, run_id).id)

    def run_details(self, run_id: int) -> RunDetails:
        """What `crm runs show` prints: the run, its config, per-segment counts, artifacts."""
        from crm.core.run_details import run_details

        with self.engine.connect() as connection:
            return run_details(connection, run_id)

    def delete_runs(self, run_ids: Iterable[int]) -> int:
        """Delete these runs (every one must exist), in one transaction."""
        from crm.core.runs import delete_runs, get_run

        with write_transaction(self.engine) as connection:
            ids = [get_run(connection, run_id).id for run_id in run_ids]
            return delete_runs(connection, ids)

    def runs_to_prune(self, *, keep: int | None = None, before: date | None = None) -> list[Run]:
        from crm.core.runs import runs_to_prune

        with self.engine.connect() as connection:
            return runs_to_prune(connection, keep=keep, before=before)

    def prune_runs(self, *, keep: int | None = None, before: date | None = None) -> list[Run]:
        """Delete the runs outside the newest `keep` and/or created before `before`, in one
        transaction; the current run is kept. Returns the deleted runs."""
        from crm.core.runs import prune_runs

        with write_transaction(self.engine) as connection:
            return prune_runs(connection, keep=keep, before=before)

    def segment_migration(
        self,
        segmentation: str | None = None,
        from_run: int | None = None,
        to_run: int | None = None,
    ) -> SegmentMigration:
        """Customers moving between the segments of `segmentation` from one run to another
        (default: the current run and the latest run of an earlier analysis date, and the first
        headline segmentation both runs have, else the first they share)."""
        from crm.core.segment_migration import segment_migration

        preferred = () if segmentation else self.headline_segmentations()
        with self.engine.connect() as connection:
            return segment_migration(
                connection, segmentation, from_run, to_run, preferred=preferred
            )

    def headline_segmentations(self) -> tuple[str, ...]:
        """The enabled segmentations that declare `headline=True`, in registration order."""
        return tuple(item.spec.name for item in self.registry.segmentations if item.spec.headline)
