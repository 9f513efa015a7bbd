"""A single customer's profile: attributes, recent interactions, current segments and scores."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs
from attrs import frozen
from sqlalchemy import Connection, select

from crm.core.customer import Customer
from crm.core.interaction import Interaction
from crm.core.run_reading import customer_results
from crm.core.schema import Tables
from crm.core.segment import Run, SegmentAssignment

_NOT_ATTRIBUTES = ("id", "external_id", "attributes", "consent")


@frozen(kw_only=True)
class CustomerProfile:
    """What `crm customers show` prints, as entities: nothing here is an ORM row."""

    customer: Customer
    last_interactions: tuple[Interaction, ...]
    run: Run | None
    assignments: tuple[SegmentAssignment, ...]
    scores: Mapping[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """The documented JSON shape of `crm customers show --format json`."""
        customer = self.customer
        attributes = {
            name: value
            for name, value in attrs.asdict(customer, recurse=False).items()
            if name not in _NOT_ATTRIBUTES and value is not None
        }
        consent = {f"consent_{k}": v for k, v in attrs.asdict(customer.consent).items()}
        attributes.update({k: v for k, v in consent.items() if v is not None})
        attributes.update(customer.attributes)
        interactions = [
            {
                name: value
                for name, value in attrs.asdict(item, recurse=False).items()
                if name not in ("id", "customer_external_id", "attributes") and value is not None
            }
            for item in self.last_interactions
        ]
        return {
            "customer_id": customer.external_id,
            "attributes": attributes,
            "last_interactions": interactions,
            "run": None if self.run is None else {"id": self.run.id, "as_of": self.run.as_of},
            "segments": {a.segmentation: a.segment for a in self.assignments},
            "scores": dict(self.scores),
        }


def customer_profile(
    connection: Connection,
    tables: Tables,
    external_id: str,
    *,
    last: int = 10,
    run_id: int | None = None,
) -> CustomerProfile | None:
    """The profile of `external_id`, with segments and scores of run `run_id` (default: the
    current run); None when there is no such customer."""
    c = tables.customer
    row = connection.execute(select(c).where(c.c.external_id == external_id)).mappings().first()
    if row is None:
        return None
    i = tables.interaction
    recent = connection.execute(
        select(i)
        .where(i.c.customer_id == row["id"])
        .order_by(i.c.occurred_at.desc(), i.c.id.desc())
        .limit(last)
    ).mappings()
    run, segments, scores = customer_results(connection, row["id"], run_id)
    assignments = tuple(
        SegmentAssignment(
            customer_external_id=external_id,
            segmentation=segmentation,
            segment=segment,
            scores=scores,
            run_id=None if run is None else run.id,
        )
        for segmentation, segment in segments.items()
    )
    return CustomerProfile(
        customer=Customer.from_row(row),
        last_interactions=tuple(Interaction.from_row(item, external_id) for item in recent),
        run=run,
        assignments=assignments,
        scores=scores,
    )
