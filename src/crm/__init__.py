"""crm: plugin-based customer-relationship analytics.

The public API for plugin authors and Python users. Import heavy libraries lazily: `crm --help`
must stay fast, so this module imports nothing that pulls in SQLAlchemy or numpy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from crm.core.components import (
    Metric,
    NoOptions,
    ReportContext,
    ReportSpec,
    ScorerSpec,
    ScoringContext,
    SegmentationSpec,
    StageModelSpec,
    Table,
)
from crm.core.errors import ConfigError, CrmError, PluginError
from crm.core.hooks import hookimpl
from crm.core.report_model import Document, Figure, Section, Series, Text
from crm.core.segment import Segment

if TYPE_CHECKING:  # the lazy names below, typed for mypy and editors
    from crm.core.components import Columns, Report, Scorer, Segmenter, StageModel
    from crm.core.config import CrmConfig, load_config, parse_config
    from crm.core.customer import Customer
    from crm.core.events import EventChunk, EventRule, EventSequences
    from crm.core.facts import Facts
    from crm.core.importing import ImportOptions
    from crm.core.interaction import Interaction
    from crm.core.pipeline import SegmentationResult
    from crm.core.project import Project
    from crm.core.registry import Registry
    from crm.core.rules import RuleSegmenter
    from crm.core.schema import Tables
    from crm.core.segment_map import SegmentMap

__version__ = "0.1.0"

# Names whose modules pull in numpy or SQLAlchemy: imported on first use, so that loading a plugin
# (and `crm --help`) stays fast.
_LAZY = {
    "Columns": "crm.core.components",
    "Scorer": "crm.core.components",
    "Segmenter": "crm.core.components",
    "StageModel": "crm.core.components",
    "Report": "crm.core.components",
    "CrmConfig": "crm.core.config",
    "parse_config": "crm.core.config",
    "load_config": "crm.core.config",
    "Facts": "crm.core.facts",
    "Tables": "crm.core.schema",
    "Registry": "crm.core.registry",
    "SegmentationResult": "crm.core.pipeline",
    "RuleSegmenter": "crm.core.rules",
    "SegmentMap": "crm.core.segment_map",
    "Project": "crm.core.project",
    "ImportOptions": "crm.core.importing",
    "Customer": "crm.core.customer",
    "EventChunk": "crm.core.events",
    "EventRule": "crm.core.events",
    "EventSequences": "crm.core.events",
    "Interaction": "crm.core.interaction",
}


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'crm' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)


__all__ = [
    "Columns",
    "ConfigError",
    "CrmConfig",
    "CrmError",
    "Customer",
    "Document",
    "EventChunk",
    "EventRule",
    "EventSequences",
    "Facts",
    "Figure",
    "ImportOptions",
    "Interaction",
    "Metric",
    "NoOptions",
    "PluginError",
    "Project",
    "Registry",
    "Report",
    "ReportContext",
    "ReportSpec",
    "RuleSegmenter",
    "Scorer",
    "ScorerSpec",
    "ScoringContext",
    "Section",
    "Segment",
    "SegmentMap",
    "SegmentationResult",
    "SegmentationSpec",
    "Segmenter",
    "Series",
    "StageModel",
    "StageModelSpec",
    "Table",
    "Tables",
    "Text",
    "__version__",
    "hookimpl",
    "load_config",
    "parse_config",
]
