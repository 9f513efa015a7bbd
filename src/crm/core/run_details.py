"""What `crm runs show N` prints about one stored run."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from attrs import frozen
from sqlalchemy import Connection

from crm.core.run_reading import run_artifacts, run_config, run_metrics, segment_counts
from crm.core.runs import get_run
from crm.core.segment import Run


@frozen(kw_only=True)
class RunDetails:
    """A stored run: its record, the configuration it ran with, its metrics, the customers per
    segment, and the artifacts plugins attached."""

    run: Run
    current: bool
    config: Mapping[str, Any]
    metrics: tuple[str, ...]
    segments: tuple[tuple[str, str, int], ...]
    artifacts: Mapping[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """The documented JSON shape of `crm runs show N --format json`."""
        run = self.run
        return {
            "run": run.id,
            "current": self.current,
            "created_at": run.created_at,
            "as_of": run.as_of,
            "customers": run.customers,
            "config_hash": run.config_hash,
            "plugins": dict(run.plugins),
            "config": dict(self.config),
            "metrics": list(self.metrics),
            "segments": [
                {"segmentation": name, "segment": segment, "customers": count}
                for name, segment, count in self.segments
            ],
            "artifacts": dict(self.artifacts),
        }


def run_details(connection: Connection, run_id: int) -> RunDetails:
    from crm.core.runs import current_run

    run = get_run(connection, run_id)
    current = current_run(connection)
    return RunDetails(
        run=run,
        current=current is not None and current.id == run.id,
        config=run_config(connection, run.id),
        metrics=tuple(run_metrics(connection, run.id)),
        segments=tuple(segment_counts(connection, run.id)),
        artifacts=run_artifacts(connection, run.id),
    )
