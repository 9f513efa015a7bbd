"""Hand-made segmentation results, to store runs whose every value a test chose."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

import numpy as np
from sqlalchemy import Engine

from crm.core.components import Metric
from crm.core.config import parse_config
from crm.core.pipeline import SegmentationOutcome, SegmentationResult
from crm.core.run_reading import stored_facts
from crm.core.runs import store_run
from crm.core.segment import Segment


def hand_made_result(
    as_of: date,
    keys: Sequence[int],
    segmentations: Mapping[str, tuple[Sequence[str], Sequence[int]]],
    scores: Mapping[str, Sequence[float]] | None = None,
    revenue_minor: Sequence[int] | None = None,
    purchases: Sequence[int] | None = None,
    artifacts: Mapping[str, Any] | None = None,
) -> SegmentationResult:
    """`segmentations`: name -> (segment names, one code per customer, -1 for none)."""
    n = len(keys)
    key_array = np.asarray(keys, dtype=np.int64)
    columns = {
        "fact:revenue_minor": np.asarray(revenue_minor or [0] * n, dtype=np.int64),
        "fact:purchases": np.asarray(purchases or [0] * n, dtype=np.int64),
    }
    facts = stored_facts(as_of, key_array, np.full(n, None, dtype=object), columns)
    score_columns = {k: np.asarray(v, dtype=np.float64) for k, v in (scores or {}).items()}
    return SegmentationResult(
        as_of=as_of,
        facts=facts,
        metrics={k: Metric(k.split(".", 1)[1], "value") for k in score_columns},
        scores=score_columns,
        outcomes=tuple(
            SegmentationOutcome(
                name, tuple(Segment(s) for s in names), np.asarray(codes, dtype=np.int64)
            )
            for name, (names, codes) in segmentations.items()
        ),
        config_hash="hand-made",
        plugins={"crm": "test"},
        artifacts=dict(artifacts or {}),
    )


def store(engine: Engine, result: SegmentationResult) -> int:
    with engine.begin() as connection:
        return store_run(connection, result, parse_config({}))
