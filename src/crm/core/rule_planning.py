"""Rule segmentations at load time: crm.toml's `[segmentations.<name>]` built, every rule
segmenter (crm.toml's and plugins' alike) checked against the columns of the enabled plugins,
and every segmentation put in an order where it runs after the segmentations it reads."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

from crm.core.column_catalog import ColumnCatalog, KnownValues
from crm.core.columns import BASE_COLUMNS, WithAttributes
from crm.core.config import CrmConfig
from crm.core.errors import ConfigError
from crm.core.key_paths import key_path
from crm.core.registry import Registry

if TYPE_CHECKING:
    from crm.core.components import Segmenter
    from crm.core.segment import Segment


def catalog_of(
    metrics: Iterable[str],
    stages: Mapping[str, Sequence[str] | None],
    segments: Mapping[str, Sequence[Segment] | None],
) -> ColumnCatalog:
    """The columns a run provides: base columns, `attributes.<key>`, metrics, and as text each
    stage model's stage and each segmentation's segment (with their names, where known)."""
    from crm.core.rules import TEXT_COLUMNS

    stage_columns = tuple(stages)
    catalog = ColumnCatalog(
        names=WithAttributes((*BASE_COLUMNS, *metrics, *stage_columns)),
        # attributes.<key> hold the text of the file they came from.
        text=WithAttributes((*TEXT_COLUMNS, *stage_columns)),
        known={
            name: KnownValues("stage model", "stage", tuple(values))
            for name, values in stages.items()
            if values is not None
        },
    )
    return catalog.with_text(
        {
            name: None
            if values is None
            else KnownValues("segmentation", "segment", tuple(s.name for s in values))
            for name, values in segments.items()
        }
    )


def rule_segmenters(
    config: CrmConfig, registry: Registry, catalog: ColumnCatalog | None = None
) -> list[tuple[str, Segmenter]]:
    """Every `[segmentations.<name>]` of crm.toml, parsed and checked for unreachable rules
    (and, given a `catalog`, for the columns they read); one ConfigError with every problem."""
    from crm.core.rules import RuleSegmenter

    source = config.path.name if config.path is not None else "crm.toml"
    built: list[tuple[str, Segmenter]] = []
    problems: list[str] = []
    for name, rule_config in config.segmentations.items():
        if name in registry.segmentations:
            problems.append(
                f"{source}: {key_path(('segmentations', name))}: the name is taken by plugin "
                f"{registry.segmentations[name].plugin!r}; choose another name"
            )
            continue
        try:
            segmenter = RuleSegmenter.from_config(
                name, rule_config, available_columns=None, source=source
            )
        except ConfigError as exc:
            problems.extend(exc.lines)
            continue
        if catalog is not None:
            problems.extend(segmenter.column_problems(catalog))
        built.append((name, segmenter))
    if problems:
        raise ConfigError(problems)
    return built


def names_only_catalog(
    config: CrmConfig, registry: Registry, columns: Collection[str], stages: Collection[str]
) -> ColumnCatalog:
    """The catalog when the plugins' components cannot be built (their options are wrong):
    every name, but no segment or stage names to check values against."""
    metrics = [name for name in columns if name not in BASE_COLUMNS and name not in stages]
    segmentations = [item.spec.name for item in registry.segmentations]
    return catalog_of(
        metrics,
        dict.fromkeys(stages),
        dict.fromkeys([*segmentations, *config.segmentations]),
    )


def column_problems(
    segmenters: Iterable[tuple[str, Segmenter]], catalog: ColumnCatalog
) -> list[str]:
    """The column problems of every rule segmenter among `segmenters` (plugins build theirs
    with `RuleSegmenter.from_rules`, which leaves the columns to this check)."""
    from crm.core.rules import RuleSegmenter

    return [
        line
        for _, segmenter in segmenters
        if isinstance(segmenter, RuleSegmenter)
        for line in segmenter.column_problems(catalog)
    ]
