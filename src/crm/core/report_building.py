"""Building reports into a `Document`: the report hook's contract, enforced in one place.

A report's `build(context)` returns a `Table`, a `Section` or a sequence of sections; anything
else is a `PluginError` naming the plugin. Reports written for crm 0.1's `build(result)` (one
argument, the `SegmentationResult`, returning a `Table`) still work: they are recognised by their
parameter and handed the run, with a `FutureWarning` asking for the new signature.
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING, Any

import attrs

from crm.core.components import NoOptions, Report, ReportContext, Table
from crm.core.errors import ConfigError, CrmError, PluginError, blamed_on
from crm.core.pipeline import SegmentationResult
from crm.core.registry import Registered
from crm.core.report_model import Document, RunHeader, Section
from crm.core.small_groups import suppress_document

if TYPE_CHECKING:
    from crm.core.project import Project


class LegacyReportWarning(FutureWarning):
    """A report still uses `build(result)`; it works, but will stop working in crm 0.3."""


def takes_the_run(build: Any) -> bool:
    """Whether `build` is the old one-argument `build(result)`: its parameter is called
    `result` or annotated as a `SegmentationResult`, rather than taking a `ReportContext`."""
    try:
        parameters = list(inspect.signature(build).parameters.values())
    except (TypeError, ValueError):
        return False
    if len(parameters) != 1:
        return False
    parameter = parameters[0]
    annotation = parameter.annotation
    text = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", "")
    if "ReportContext" in str(text):
        return False
    return parameter.name == "result" or "SegmentationResult" in str(text)


def _sections(name: str, plugin: str, built: Any) -> tuple[Section, ...]:
    if isinstance(built, Table):
        built = Section(title=built.title or name, blocks=(built,))
    if isinstance(built, Section):
        built = (built,)
    if not isinstance(built, Sequence) or not all(isinstance(s, Section) for s in built):
        raise PluginError(
            plugin,
            f"report {name!r} returned {type(built).__name__}; expected a Table, a Section or a "
            "list of Sections",
        )
    return tuple(attrs.evolve(s, report=name, plugin=plugin) for s in built)


def build_sections(
    registered: Registered[Any], options: Any, context: ReportContext
) -> tuple[Section, ...]:
    """Build one registered report over `context` (given the plugin's `options`), blaming its
    plugin for anything that fails."""
    spec = registered.spec
    context = attrs.evolve(context, options=options)
    with blamed_on(registered.plugin, f"building report {spec.name!r}"):
        report: Report = spec.factory(options)
    with blamed_on(registered.plugin, f"report {spec.name!r}"):
        if takes_the_run(report.build):
            warnings.warn(
                f"plugin {registered.plugin!r}: report {spec.name!r} uses build(result); "
                "crm 0.2 calls build(context) with a ReportContext (the run is context.run). "
                "The old form keeps working until crm 0.3.",
                LegacyReportWarning,
                stacklevel=2,
            )
            built: Any = report.build(context.run)  # type: ignore[arg-type]
        else:
            built = report.build(context)
    return _sections(spec.name, registered.plugin, built)


def run_header(run: SegmentationResult) -> RunHeader:
    return RunHeader(
        as_of=run.as_of.isoformat(),
        config_hash=run.config_hash,
        plugins=dict(run.plugins),
        run_id=run.run_id,
        customers=len(run.facts),
    )


def build_document(
    reports: Sequence[tuple[Registered[Any], Any]],
    context: ReportContext,
    *,
    min_group_size: int,
    title: str = "Customer report",
) -> Document:
    """Every given (report, options) over one context, small groups suppressed."""
    sections: list[Section] = []
    for registered, options in reports:
        sections.extend(build_sections(registered, options, context))
    document = Document(title=title, header=run_header(context.run), sections=tuple(sections))
    return suppress_document(document, min_group_size)


def report_run(project: Project, run_id: int | None, as_of: date | None) -> SegmentationResult:
    """The run a report describes: stored run `run_id`, or a fresh run that is not stored."""
    if run_id is None:
        return project.segment(as_of=as_of, store=False)
    if as_of is not None:
        raise ConfigError("--run and --as-of exclude each other: a stored run has its own date")
    load_run = getattr(project, "load_run", None)
    if load_run is None:  # run storage that can load a run back lands separately
        raise CrmError("this version of crm cannot load a stored run yet; report on a fresh run")
    run: SegmentationResult = load_run(run_id)
    return run


def project_report(
    project: Project,
    names: tuple[str, ...],
    *,
    run_id: int | None = None,
    as_of: date | None = None,
) -> Document:
    """What `Project.report` returns: see there."""
    from crm.core.database import read_only_connection

    registry = project.registry
    chosen = (
        [registry.reports[name] for name in names]
        if names
        else [item for item in registry.reports if item.spec.in_document]
    )
    options = project.options
    run = report_run(project, run_id, as_of)
    with read_only_connection(project.engine) as connection:
        context = ReportContext(
            run=run,
            connection=connection,
            tables=project.tables,
            as_of=run.as_of,
            options=None,
        )
        pairs = [(item, options.get(item.plugin, NoOptions())) for item in chosen]
        return build_document(pairs, context, min_group_size=project.config.reports.min_group_size)
