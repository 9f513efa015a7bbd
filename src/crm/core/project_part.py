"""What the parts of `crm.core.project.Project` may rely on: the project's own members.

`Project` is assembled from small classes by subject (runs, customers, privacy), so that no
module grows past one idea; each part reads the project only through these members.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from crm.core.config import CrmConfig
    from crm.core.pipeline import SegmentationPlan
    from crm.core.plugins import CrmHooks
    from crm.core.privacy.masking import Masker
    from crm.core.registry import Registry
    from crm.core.schema import Tables


class ProjectPart:
    """A slice of `Project`'s methods; the members below are `Project`'s."""

    __slots__ = ()

    if TYPE_CHECKING:
        config: CrmConfig

        @property
        def engine(self) -> Engine: ...

        @property
        def tables(self) -> Tables: ...

        @property
        def hooks(self) -> CrmHooks: ...

        @property
        def registry(self) -> Registry: ...

        def plan(self) -> SegmentationPlan: ...

        def masker(self) -> Masker: ...
