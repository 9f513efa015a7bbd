"""`Project`'s customer operations: merging and unmerging, and the profile `crm customers
show` prints."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import attrs

from crm.core.errors import NotFoundError
from crm.core.privacy import PERSONAL_FIELDS
from crm.core.project_part import ProjectPart
from crm.core.segment import Segment

if TYPE_CHECKING:
    from crm.core.merging import CustomerMerge
    from crm.core.profiles import CustomerProfile


class CustomerOperations(ProjectPart):
    """Merges (`crm.core.merging`) and customer profiles."""

    __slots__ = ()

    def _audit_unmasked(self, **counts: int) -> None:
        from crm.core.audit import record
        from crm.core.database import write_transaction

        with write_transaction(self.engine) as connection:
            record(connection, "unmasked export", **counts)

    def merge_customers(
        self, survivor: str, merged: Iterable[str], *, reason: str = "manual"
    ) -> CustomerMerge:
        """Merge customers into `survivor` in one transaction (`crm.core.merging`)."""
        return self.merge_many([(survivor, tuple(merged), reason)])[0]

    def merge_many(self, merges: Iterable[tuple[str, tuple[str, ...], str]]) -> list[CustomerMerge]:
        """Several merges (survivor, merged, reason), all in one transaction: all or none."""
        from crm.core.merge_service import merge_all

        self.registry  # noqa: B018 - plugins are loaded and configured before any write
        return merge_all(self.engine, self.tables, self.hooks, merges)

    def unmerge(self, customer_or_merge: str | int) -> CustomerMerge:
        """Undo a merge exactly: by its id (int), or the latest standing merge of a customer."""
        from crm.core.merge_service import undo

        self.registry  # noqa: B018
        return undo(self.engine, self.tables, self.hooks, customer_or_merge)

    def merges(self, *, include_undone: bool = False) -> list[CustomerMerge]:
        """Recorded merges, newest first."""
        from crm.core.merging import list_merges

        with self.engine.connect() as connection:
            return list_merges(connection, self.tables, include_undone=include_undone)

    def merged_into(self, external_id: str) -> str | None:
        """The survivor's external id if `external_id` was merged into another customer."""
        from crm.core.merge_service import survivor_of

        with self.engine.connect() as connection:
            return survivor_of(connection, self.tables, external_id)

    def customer_summary(self, profile: CustomerProfile) -> dict[str, Any]:
        """What `crm customers show` adds to `profile`: `purchases` (count, revenue, first and
        last purchase), `segment_details` (each segment with its description and action) and
        `stale` (why the segments are out of date, or None). For a profile of a named run, the
        totals and descriptions are that run's."""
        from crm.core import customer_summary as summary

        external_id, named = profile.customer.external_id, profile.named_run
        with self.engine.connect() as connection:
            if named is not None:  # as of the run named, not today
                totals = summary.totals_in_run(connection, self.tables, external_id, named)
            else:
                totals = summary.purchase_totals(connection, self.tables, external_id)
        if named is not None:
            known = summary.segments_in_run(named)
        else:
            plan = self.plan()
            known = {item.name: tuple(item.component.segments) for item in plan.segmenters}
            for model in plan.stage_models:
                known[model.name] = tuple(Segment(stage) for stage in model.component.stages)
        segments = {a.segmentation: a.segment for a in profile.assignments}
        return {
            "purchases": totals.to_dict(),
            "segment_details": [attrs.asdict(m) for m in summary.segment_meanings(segments, known)],
            "stale": summary.newer_than_run(profile.run, profile.customer.created_at, totals),
        }

    def customer_profile(
        self,
        external_id: str,
        *,
        last: int = 10,
        unmask: bool = False,
        run_id: int | None = None,
    ) -> CustomerProfile:
        """A customer's attributes, last interactions and current segments with their scores.

        Scores are shown as `crm segment` shows them (money in currency units, scores as
        integers); the stored values are raw floats. Personal fields are masked by the
        `[privacy]` rules unless `unmask` (which is written to the audit log).
        """
        from crm.core.privacy.tombstones import erased_ids
        from crm.core.profiles import customer_profile
        from crm.core.reports import metric_value

        with self.engine.connect() as connection:
            profile = customer_profile(
                connection, self.tables, external_id, last=last, run_id=run_id
            )
            if profile is None and erased_ids(connection, [external_id]):
                raise NotFoundError(f"customer {external_id!r} was erased (crm forget)")
        if profile is None:
            raise NotFoundError(f"no customer with id {external_id!r}")
        if unmask:
            self._audit_unmasked(customers=1)
        else:
            masked = self.masker().mask_all(
                {name: getattr(profile.customer, name) for name in PERSONAL_FIELDS}
            )
            profile = attrs.evolve(profile, customer=attrs.evolve(profile.customer, **masked))
        metrics = {
            f"{item.spec.name}.{metric.name}": metric
            for item in self.registry.scorers
            for metric in item.spec.metrics
        }
        shown = {
            name: metric_value(metrics[name], value)
            if name in metrics and value is not None
            else value
            for name, value in profile.scores.items()
        }
        return attrs.evolve(profile, scores=shown)
