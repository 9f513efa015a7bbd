"""What `crm identify` prints: one row per cluster member, with the evidence per field."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from crm.core.components import Table
from crm_idic.identify.fields import FIELD_LEVELS, FIELDS

if TYPE_CHECKING:
    from crm_idic.identify import Identification

BASE_COLUMNS = ("cluster", "decision", "customer_id", "survivor", "weight")


def cluster_table(found: Identification, *, evidence_columns: bool) -> Table:
    """Members of every cluster. `evidence_columns`: one level column and one weight column
    per field (csv, json); otherwise one compact `evidence` column (for 80-column terminals)."""
    c, records = found.clusters, found.records
    ids = records.external_id
    rows: list[tuple[object, ...]] = []
    for row in range(len(c)):
        pair = int(c.pair[row])
        weight = round(float(found.weight[pair]), 2) if pair >= 0 else None
        head = (
            int(c.cluster[row]),
            "merge" if c.merge[row] else "review",
            str(ids[c.member[row]]),
            str(ids[c.survivor[row]]),
            weight,
        )
        evidence: list[tuple[str, str, float]] = []
        for column, field in enumerate(FIELDS):
            level = int(found.levels[pair, column]) if pair >= 0 else -1
            name = FIELD_LEVELS[field][level] if level >= 0 else "missing"
            evidence.append(
                (field, name, round(float(found.partial[pair, column]), 2) if pair >= 0 else 0.0)
            )
        if evidence_columns:
            rows.append((*head, *(value for _, name, w in evidence for value in (name, w))))
        else:
            text = ", ".join(f"{f} {name} {w:+.1f}" for f, name, w in evidence if name != "missing")
            rows.append((*head, text))
    if evidence_columns:
        columns = (*BASE_COLUMNS, *(c for f in FIELDS for c in (f, f"{f}_weight")))
    else:
        columns = (*BASE_COLUMNS, "evidence")
    merged = int(np.unique(c.cluster[c.merge]).size)
    reviewed = int(np.unique(c.cluster[~c.merge]).size)
    title = f"Possible duplicates: {merged} cluster(s) to merge, {reviewed} to review"
    return Table(columns=columns, rows=tuple(rows), title=title)


def model_table(found: Identification) -> Table:
    """m, u and the partial weight of every field and level (`crm identify --model`)."""
    model = found.model
    weights = model.partial_weights()
    rows = tuple(
        (field, level, round(float(model.m[field][k]), 6), float(f"{model.u[field][k]:.3g}"),
         round(float(weights[field][k]), 2))
        for field in FIELDS
        for k, level in enumerate(FIELD_LEVELS[field])
    )  # fmt: skip
    prior = model.prior
    title = f"Match model: prior {prior:.4g} ({np.log2(prior / (1 - prior)):+.1f}), EM {model.iterations} iterations"
    return Table(columns=("field", "level", "m", "u", "weight"), rows=rows, title=title)
