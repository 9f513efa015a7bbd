"""The segmentation pipeline: configure components, score, segment, summarise, store.

`plan_segmentation` does everything that can fail on configuration before any data is read (phase-2
options, component construction, segment-map and rule checks); `run_segmentation` then reads the
facts with one SQL aggregate and runs the scorers and segmenters on numpy columns.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import attrs
import numpy as np
from attrs import frozen
from sqlalchemy import Connection, func, select

from crm.core.columns import ColumnTable, attribute_reader
from crm.core.components import (
    Metric,
    NoOptions,
    Scorer,
    ScorerSpec,
    ScoringContext,
    SegmentationSpec,
    Segmenter,
    StageModel,
)
from crm.core.config import CORE_TABLES, CrmConfig, structure_options
from crm.core.errors import ConfigError, PluginError, blamed_on
from crm.core.facts import Facts, profiling_refused_query
from crm.core.key_paths import key_part
from crm.core.registry import Registry
from crm.core.rule_planning import catalog_of, column_problems, rule_segmenters
from crm.core.schema import Tables
from crm.core.segment import Segment
from crm.core.segmentation_order import run_order

if TYPE_CHECKING:
    from numpy.typing import NDArray

C = TypeVar("C")


@frozen
class Configured(Generic[C]):
    """A component built from its options, with the plugin it came from."""

    name: str
    plugin: str
    component: C


@frozen
class SegmentationPlan:
    scorers: tuple[Configured[Scorer], ...]
    metrics: Mapping[str, Metric]
    stage_models: tuple[Configured[StageModel], ...]
    segmenters: tuple[Configured[Segmenter], ...]


def _options_classes(registry: Registry, plugin: str) -> set[type]:
    return {spec.options for spec in registry.specs_of(plugin)}


def configure_options(
    config: CrmConfig, registry: Registry, enabled: tuple[str, ...]
) -> dict[str, Any]:
    """Phase 2: each enabled plugin's `[plugin]` table into its declared options class.

    Every plugin's table is structured before raising, so one ConfigError holds every problem."""
    options: dict[str, Any] = {}
    problems: list[str] = []
    for plugin in enabled:
        classes = _options_classes(registry, plugin) - {NoOptions}
        if len(classes) > 1:
            names = ", ".join(sorted(c.__name__ for c in classes))
            raise PluginError(
                plugin,
                f"its components declare different options classes ({names}); "
                f"a plugin's [{plugin}] table is structured into one class",
            )
        cls = classes.pop() if classes else NoOptions
        try:
            options[plugin] = structure_options(config, plugin, cls)
        except ConfigError as exc:
            problems.extend(exc.lines)
    if problems:
        raise ConfigError(problems)
    return options


def check_plugin_tables(config: CrmConfig, installed: Mapping[str, object]) -> None:
    """A top-level table must belong to an installed plugin: a typo is an error, not a no-op."""
    source = config.path.name if config.path is not None else "crm.toml"
    unknown = sorted(name for name in config.plugin_tables if name not in installed)
    if unknown:
        known = ", ".join(installed) or "none"
        raise ConfigError(
            [
                f"{source}: {key_part(name)}: no installed plugin is called {name!r} "
                f"(installed plugins: {known}; core tables: {', '.join(CORE_TABLES)})"
                for name in unknown
            ]
        )


def _build(plugin: str, kind: str, name: str, factory: Any, options: Any) -> Any:
    with blamed_on(plugin, f"building {kind} {name!r}"):
        return factory(options)


def _scorer_order(registry: Registry, names: list[str]) -> list[ScorerSpec]:
    ordered: list[ScorerSpec] = []
    visiting: set[str] = set()

    def visit(name: str, wanted_by: str | None) -> None:
        if any(spec.name == name for spec in ordered):
            return
        if name in visiting:
            raise ConfigError(f"scorers {name!r} and {wanted_by!r} require each other")
        if name not in registry.scorers:
            raise PluginError(
                registry.scorers[wanted_by].plugin if wanted_by else "?",
                f"scorer {wanted_by!r} requires scorer {name!r}, which no enabled plugin provides",
            )
        visiting.add(name)
        spec = registry.scorers[name].spec
        for required in spec.requires:
            visit(required, name)
        visiting.discard(name)
        ordered.append(spec)

    for name in names:
        visit(name, None)
    return ordered


def plan_segmentation(
    config: CrmConfig, registry: Registry, options: Mapping[str, Any]
) -> SegmentationPlan:
    """Build every enabled component and check every segmentation's inputs, before any data.

    A component or rule segmentation whose configuration is wrong does not stop the others from
    being checked: one ConfigError holds every problem."""
    problems: list[str] = []

    def build(plugin: str, kind: str, name: str, factory: Any) -> Any:
        try:
            return _build(plugin, kind, name, factory, options.get(plugin, NoOptions()))
        except ConfigError as exc:
            problems.extend(exc.lines)
            return None

    scorers = []
    metrics: dict[str, Metric] = {}
    for spec in _scorer_order(registry, [item.spec.name for item in registry.scorers]):
        plugin = registry.scorers[spec.name].plugin
        scorer = build(plugin, "scorer", spec.name, spec.factory)
        scorers.append(Configured(spec.name, plugin, scorer))
        metrics.update({f"{spec.name}.{m.name}": m for m in spec.metrics})

    stage_models = []
    for staged in registry.stage_models:
        model = build(staged.plugin, "stage model", staged.spec.name, staged.spec.factory)
        stage_models.append(Configured(staged.spec.name, staged.plugin, model))

    segmenters: list[Configured[Segmenter]] = []
    for item in registry.segmentations:
        segmentation: SegmentationSpec = item.spec
        built = build(item.plugin, "segmentation", segmentation.name, segmentation.factory)
        segmenters.append(Configured(segmentation.name, item.plugin, built))
    try:
        segmenters.extend(
            Configured(name, "crm.toml", segmenter)
            for name, segmenter in rule_segmenters(config, registry)
        )
    except ConfigError as exc:
        problems.extend(exc.lines)
    # A stage model's stage and a segmentation's segment are text columns segmentations can
    # test (`funnel == 'customer'`, `rfm in ["Champions", "Lost"]`).
    catalog = catalog_of(
        metrics,
        {m.name: None if m.component is None else m.component.stages for m in stage_models},
        {s.name: None if s.component is None else s.component.segments for s in segmenters},
    )
    problems.extend(
        column_problems(((s.name, s.component) for s in segmenters if s.component), catalog)
    )
    if problems:
        raise ConfigError(problems)
    for configured in segmenters:
        unknown = [c for c in configured.component.inputs if c not in catalog.names]
        if unknown:
            raise PluginError(
                configured.plugin,
                f"segmentation {configured.name!r} reads {', '.join(map(repr, unknown))}, which no "
                f"enabled scorer provides (available: {', '.join(catalog.names)})",
            )
    by_name = {s.name: s for s in segmenters}
    order = run_order(list(by_name), {s.name: s.component.inputs for s in segmenters})
    return SegmentationPlan(
        tuple(scorers), metrics, tuple(stage_models), tuple(by_name[name] for name in order)
    )


@frozen
class SegmentationOutcome:
    """One segmentation's answer: an index into `segments` per customer (-1: no segment)."""

    name: str
    segments: tuple[Segment, ...]
    codes: NDArray[np.int64]

    def segment_names(self) -> NDArray[np.object_]:
        names = np.array([s.name for s in self.segments] + [None], dtype=object)
        return names[self.codes]  # -1 picks the trailing None


@frozen(kw_only=True)
class SegmentationResult:
    """Everything a run produced; handed to reports and to `segmentation_finished`."""

    as_of: date
    facts: Facts
    metrics: Mapping[str, Metric]
    scores: Mapping[str, NDArray[np.float64]]
    outcomes: tuple[SegmentationOutcome, ...]
    config_hash: str
    plugins: Mapping[str, str]
    run_id: int | None = None
    #: Customers left out of the run because they refused profiling (`consent_profiling` false).
    refused_profiling: int = 0
    #: JSON documents scorers and stage models attached (`ScoringContext.attach_artifact`), by
    #: `<component>.<name>`; stored with the run.
    artifacts: Mapping[str, Any] = attrs.field(factory=dict)


def default_as_of(connection: Connection, tables: Tables) -> date:
    """The day after the last interaction (UTC), or today when there is none."""
    last = connection.scalar(select(func.max(tables.interaction.c.occurred_at)))
    if last is None:
        return date.today()
    day: date = last.date()
    return day + timedelta(days=1)


def _checked_scores(
    configured: Configured[Scorer], metrics: Mapping[str, Metric], out: Any, size: int
) -> dict[str, NDArray[np.float64]]:
    expected = {name.split(".", 1)[1] for name in metrics if name.startswith(configured.name + ".")}
    if not isinstance(out, Mapping) or set(out) != expected:
        got = sorted(out) if isinstance(out, Mapping) else type(out).__name__
        raise PluginError(
            configured.plugin,
            f"scorer {configured.name!r} returned {got}, expected the metrics {sorted(expected)}",
        )
    checked = {}
    for metric, values in out.items():
        column = np.asarray(values, dtype=np.float64)
        if column.shape != (size,):
            raise PluginError(
                configured.plugin,
                f"scorer {configured.name!r} metric {metric!r} has shape {column.shape}, "
                f"expected ({size},): one value per customer",
            )
        checked[f"{configured.name}.{metric}"] = column
    return checked


def _checked_outcome(
    plugin: str,
    kind: str,
    name: str,
    segments: tuple[Segment, ...],
    codes: NDArray[np.int64],
    size: int,
) -> SegmentationOutcome:
    bad_range = codes.size and (codes.min() < -1 or codes.max() >= len(segments))
    if codes.shape != (size,) or bad_range:
        raise PluginError(
            plugin,
            f"{kind} {name!r} returned codes outside -1..{len(segments) - 1} "
            "or not one per customer",
        )
    return SegmentationOutcome(name, segments, codes)


def run_segmentation(
    plan: SegmentationPlan,
    connection: Connection,
    tables: Tables,
    *,
    as_of: date,
    config_hash: str,
    plugins: Mapping[str, str],
) -> SegmentationResult:
    """Score and segment every customer; nothing is written."""
    facts = Facts.load(connection, tables, as_of)
    refused = connection.scalar(profiling_refused_query(tables, as_of)) or 0
    scores: dict[str, NDArray[np.float64]] = {}
    artifacts: dict[str, Any] = {}
    for configured in plan.scorers:
        context = ScoringContext(
            as_of=as_of,
            facts=facts,
            scores=dict(scores),
            connection=connection,
            tables=tables,
            component=configured.name,
            artifacts=artifacts,
        )
        with blamed_on(configured.plugin, f"scorer {configured.name!r}"):
            out = configured.component.score(context)
        scores.update(_checked_scores(configured, plan.metrics, out, len(facts)))

    outcomes = []
    stages: dict[str, NDArray[Any]] = {}
    for staged in plan.stage_models:
        context = ScoringContext(
            as_of=as_of,
            facts=facts,
            scores=dict(scores),
            connection=connection,
            tables=tables,
            component=staged.name,
            artifacts=artifacts,
        )
        with blamed_on(staged.plugin, f"stage model {staged.name!r}"):
            stage_names = tuple(staged.component.stages)
            stage_codes = np.asarray(staged.component.assign(context), dtype=np.int64)
        outcome = _checked_outcome(
            staged.plugin,
            "stage model",
            staged.name,
            tuple(Segment(s) for s in stage_names),
            stage_codes,
            len(facts),
        )
        outcomes.append(outcome)
        stages[staged.name] = outcome.segment_names()

    money = {name for name, metric in plan.metrics.items() if metric.kind == "money"}
    columns = ColumnTable(
        facts,
        {**scores, **stages},
        money=money,
        attributes=attribute_reader(connection, tables, facts),
    )
    for segmenter in plan.segmenters:
        with blamed_on(segmenter.plugin, f"segmentation {segmenter.name!r}"):
            codes = np.asarray(segmenter.component.assign(columns), dtype=np.int64)
        outcome = _checked_outcome(
            segmenter.plugin,
            "segmentation",
            segmenter.name,
            tuple(segmenter.component.segments),
            codes,
            len(facts),
        )
        outcomes.append(outcome)
        # Segmentations that read this one run after it (plan order).
        columns.add_text(segmenter.name, outcome.segment_names())
    return SegmentationResult(
        as_of=as_of,
        facts=facts,
        metrics=dict(plan.metrics),
        scores=scores,
        outcomes=tuple(outcomes),
        config_hash=config_hash,
        plugins=dict(plugins),
        refused_profiling=refused,
        artifacts=artifacts,
    )


def with_run_id(result: SegmentationResult, run_id: int) -> SegmentationResult:
    return attrs.evolve(result, run_id=run_id)
