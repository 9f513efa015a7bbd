"""crm: plugin-based customer-relationship analytics.

The public API for plugin authors and Python users. Import heavy libraries lazily: `crm --help`
must stay fast, so this module imports nothing that pulls in SQLAlchemy or numpy.
"""

from __future__ import annotations

from crm.core.components import (
    Metric,
    NoOptions,
    ReportSpec,
    ScorerSpec,
    ScoringContext,
    SegmentationSpec,
    StageModelSpec,
    Table,
)
from crm.core.errors import ConfigError, CrmError, PluginError
from crm.core.hooks import hookimpl
from crm.core.segment import Segment

__version__ = "0.1.0"

__all__ = [
    "ConfigError",
    "CrmError",
    "Metric",
    "NoOptions",
    "PluginError",
    "ReportSpec",
    "ScorerSpec",
    "ScoringContext",
    "Segment",
    "SegmentationSpec",
    "StageModelSpec",
    "Table",
    "__version__",
    "hookimpl",
]
