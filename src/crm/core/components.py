"""What plugins register: scorers, segmentations, stage models and reports, each as a `*Spec`.

A spec names the component, says which options class its `[plugin]` table is structured into, and
holds a factory that builds the component from those options. Components are pure functions of the
context they are given: no sessions, no writes, no globals.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import date
from typing import TYPE_CHECKING, Any, Literal, Protocol

import attrs
from attrs import field, frozen

from crm.core.segment import Segment

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray
    from sqlalchemy import Connection

    from crm.core.events import EventChunk, EventRule, Extra
    from crm.core.facts import Facts
    from crm.core.pipeline import SegmentationResult
    from crm.core.report_model import Section
    from crm.core.schema import Tables

NAME_PATTERN = r"[a-z][a-z0-9_]*"
ARTIFACT_NAME_PATTERN = r"[a-z][a-z0-9_-]*"

#: How a metric is stored and shown. `money` values are minor units (cents) and print as 12.34;
#: `score`, `count` and `days` print as integers; `value` prints as a number.
MetricKind = Literal["score", "count", "days", "money", "value"]


@frozen
class NoOptions:
    """The options class of a component that takes none (its table must be empty or absent)."""


@frozen
class Metric:
    """One number a scorer computes for every customer, published as `<scorer>.<name>`."""

    name: str = field(validator=attrs.validators.matches_re(NAME_PATTERN))
    kind: MetricKind = "value"
    description: str = ""


@frozen(kw_only=True)
class ScoringContext:
    """Everything a scorer may read.

    `facts` holds the per-customer aggregates as columns; `scores` the metrics of the scorers that
    ran before this one (named `<scorer>.<metric>`); `connection` is opened by core and read-only by
    contract, for a scorer that needs its own aggregate over `tables`.
    """

    as_of: date
    facts: Facts
    scores: Mapping[str, NDArray[np.float64]]
    connection: Connection
    tables: Tables
    #: The scorer or stage model this context is handed to: the prefix of its artifacts' names.
    component: str = ""
    _artifacts: dict[str, Any] = field(factory=dict, alias="artifacts", repr=False, eq=False)

    def attach_artifact(self, name: str, data: Any) -> None:
        """Store `data` (anything JSON can hold) with the run as `<component>.<name>`.

        It is written in the run's own transaction, shown by `crm runs show`, and read back with
        `Project.load_run(N).artifacts`. The data is copied now (later changes do not count), so
        a value JSON cannot hold, or NaN, fails here, inside the plugin that attached it.
        """
        import json

        if not re.fullmatch(ARTIFACT_NAME_PATTERN, name):
            raise ValueError(f"artifact name {name!r} must match {ARTIFACT_NAME_PATTERN}")
        key = f"{self.component}.{name}" if self.component else name
        if key in self._artifacts:
            raise ValueError(f"artifact {key!r} is attached twice in one run")
        try:
            self._artifacts[key] = json.loads(json.dumps(data, allow_nan=False))
        except (TypeError, ValueError) as exc:
            raise ValueError(f"artifact {key!r} is not JSON ({exc}); use None for NaN") from exc

    @property
    def artifacts(self) -> Mapping[str, Any]:
        """The artifacts attached so far in this run, by full name."""
        return dict(self._artifacts)

    def events(
        self, rules: Sequence[EventRule], *, extras: Sequence[Extra] = (), start: date | None = None
    ) -> Iterator[EventChunk]:
        """The tracked events before `as_of` in customer-then-time chunks (`crm.EventSequences`)."""
        from crm.core.events import EventSequences

        sequences = EventSequences(rules=rules, start=start, end=self.as_of, extras=extras)
        return sequences.chunks(self.connection, self.tables)


class Scorer(Protocol):
    def score(self, context: ScoringContext) -> Mapping[str, NDArray[np.float64]]:
        """One float64 column per declared metric, aligned with `context.facts.customer_id`.

        NaN means "not scored" (for example RFM for a customer who never purchased).
        """
        ...


class Columns(Protocol):
    """Read access to every column a segmentation may use, by name.

    Names are the customer attributes (`country`, `city`, `gender`, `age`), the facts
    (`purchases`, `revenue`, `recency_days`) and every metric as `<scorer>.<metric>`.
    """

    def __contains__(self, name: object) -> bool: ...

    def __getitem__(self, name: str) -> NDArray[Any]: ...

    def __len__(self) -> int: ...


class Segmenter(Protocol):
    """Maps columns to one segment per customer."""

    @property
    def segments(self) -> tuple[Segment, ...]:
        """Every segment this segmenter can assign, in display order."""
        ...

    @property
    def inputs(self) -> tuple[str, ...]:
        """The column names `assign` reads; checked against the available columns at load time."""
        ...

    def assign(self, columns: Columns) -> NDArray[np.int64]:
        """Index into `segments` per customer, or -1 for a customer this segmentation leaves out."""
        ...


class StageModel(Protocol):
    """Places each customer at one stage of an ordered journey (AIDAS, a sales funnel)."""

    @property
    def stages(self) -> tuple[str, ...]: ...

    def assign(self, context: ScoringContext) -> NDArray[np.int64]:
        """Index into `stages` per customer, or -1 for a customer who reached none."""
        ...


@frozen
class Table:
    """A format-agnostic table; the CLI renders it as table, csv or json.

    `name` addresses the table in csv and json output of a report with several tables.
    `customers_column` names the column that holds how many customers each row describes: core
    suppresses the rows of groups smaller than `[reports] min_group_size` in reports.
    """

    columns: tuple[str, ...]
    rows: tuple[tuple[object, ...], ...]
    title: str = ""
    name: str = ""
    customers_column: str | None = None

    def __attrs_post_init__(self) -> None:
        if self.customers_column is not None and self.customers_column not in self.columns:
            raise ValueError(
                f"table {self.title or self.name!r}: customers_column "
                f"{self.customers_column!r} is not one of its columns {list(self.columns)}"
            )


@frozen(kw_only=True)
class ReportContext:
    """Everything a report may read.

    `run` is the segmentation run the report describes: a fresh one, or a stored one loaded back
    with the same shape. `connection` is read-only by contract (for an aggregate of your own over
    `tables`); `options` is the plugin's structured options table. `previous` is the stored run
    to compare with (the latest one with an earlier analysis date) where core could load one,
    else None: the extension point for migration reports.
    """

    run: SegmentationResult
    connection: Connection
    tables: Tables
    as_of: date
    options: Any
    previous: SegmentationResult | None = None


class Report(Protocol):
    def build(self, context: ReportContext) -> Table | Section | Sequence[Section]:
        """Build the report's sections (or one `Table`) from what the context holds."""
        ...


def _name_field() -> Any:
    return field(validator=attrs.validators.matches_re(NAME_PATTERN))


@frozen(kw_only=True)
class ScorerSpec:
    """A scorer: `factory(options)` builds it; `metrics` are published as `<name>.<metric>`.

    `requires` names scorers whose metrics this one reads from `context.scores`; they run first.
    """

    name: str = _name_field()
    factory: Callable[[Any], Scorer]
    metrics: tuple[Metric, ...]
    options: type = NoOptions
    requires: tuple[str, ...] = ()
    description: str = ""


@frozen(kw_only=True)
class SegmentationSpec:
    """A segmentation: each customer gets at most one segment of it, in a column named `name`."""

    name: str = _name_field()
    factory: Callable[[Any], Segmenter]
    options: type = NoOptions
    description: str = ""
    #: The segmentation a person looks at first: `crm segments diff` compares it when no
    #: `--segmentation` is named (the first headline segmentation both runs stored).
    headline: bool = False


@frozen(kw_only=True)
class StageModelSpec:
    name: str = _name_field()
    factory: Callable[[Any], StageModel]
    options: type = NoOptions
    description: str = ""


@frozen(kw_only=True)
class ReportSpec:
    """A report: `factory(options)` builds it; `build(context)` returns its sections.

    `in_document`: part of the whole report (`crm report --format html`); false for lists such as
    one row per customer. `explains`: the segmentation this report explains (its map and cut
    points), for `crm segments explain NAME`.
    """

    name: str = field(validator=attrs.validators.matches_re(r"[a-z][a-z0-9_-]*"))
    factory: Callable[[Any], Report]
    options: type = NoOptions
    description: str = ""
    in_document: bool = True
    explains: str | None = None


AnySpec = ScorerSpec | SegmentationSpec | StageModelSpec | ReportSpec


def spec_kind(spec: AnySpec) -> str:
    return {
        ScorerSpec: "scorer",
        SegmentationSpec: "segmentation",
        StageModelSpec: "stage model",
        ReportSpec: "report",
    }[type(spec)]


def metric_names(spec: ScorerSpec) -> Sequence[str]:
    return [f"{spec.name}.{metric.name}" for metric in spec.metrics]
