"""The registry of components that plugins registered, with the plugin each came from."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

from attrs import define, field, frozen

from crm.core.components import (
    AnySpec,
    NoOptions,
    ReportSpec,
    ScorerSpec,
    SegmentationSpec,
    StageModelSpec,
    spec_kind,
)
from crm.core.errors import ConfigError, DuplicateComponentError, PluginError

S = TypeVar("S", ScorerSpec, SegmentationSpec, StageModelSpec, ReportSpec)


@frozen
class Registered(Generic[S]):
    spec: S
    plugin: str


@define
class Components(Generic[S]):
    """Components of one kind by name; registering a taken name is a loud error."""

    kind: str
    _items: dict[str, Registered[S]] = field(factory=dict)

    def add(self, spec: S, plugin: str) -> None:
        taken = self._items.get(spec.name)
        if taken is not None:
            raise DuplicateComponentError(self.kind, spec.name, taken.plugin, plugin)
        self._items[spec.name] = Registered(spec, plugin)

    def __getitem__(self, name: str) -> Registered[S]:
        try:
            return self._items[name]
        except KeyError:
            close = difflib.get_close_matches(name, self._items, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            known = ", ".join(sorted(self._items)) or "none"
            raise ConfigError(f"unknown {self.kind} {name!r}{hint} (known: {known})") from None

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[Registered[S]]:
        return iter(self._items.values())

    def __len__(self) -> int:
        return len(self._items)

    def from_plugin(self, plugin: str) -> list[Registered[S]]:
        return [item for item in self._items.values() if item.plugin == plugin]


@define
class Registry:
    """Everything registered through the `register_*` hooks."""

    scorers: Components[ScorerSpec] = field(factory=lambda: Components("scorer"))
    segmentations: Components[SegmentationSpec] = field(factory=lambda: Components("segmentation"))
    stage_models: Components[StageModelSpec] = field(factory=lambda: Components("stage model"))
    reports: Components[ReportSpec] = field(factory=lambda: Components("report"))

    def specs_of(self, plugin: str) -> list[AnySpec]:
        kinds: tuple[Components, ...] = (  # type: ignore[type-arg]
            self.scorers,
            self.segmentations,
            self.stage_models,
            self.reports,
        )
        return [item.spec for kind in kinds for item in kind.from_plugin(plugin)]


def make_register(registry: Registry, plugin: str, expected: type[S]) -> Callable[[S], None]:
    """The `register` callback handed to one plugin's `register_*` hook."""
    targets: dict[type, Components[Any]] = {
        ScorerSpec: registry.scorers,
        SegmentationSpec: registry.segmentations,
        StageModelSpec: registry.stage_models,
        ReportSpec: registry.reports,
    }
    target: Components[S] = targets[expected]

    def register(spec: S) -> None:
        if not isinstance(spec, expected):
            got = spec_kind(spec) if isinstance(spec, AnySpec) else type(spec).__name__
            raise PluginError(plugin, f"registered a {got} where a {expected.__name__} belongs")
        target.add(spec, plugin)

    return register


def make_configured_register(
    registry: Registry, plugin: str, options_class: type
) -> Callable[[AnySpec], None]:
    """The `register` callback of one plugin's `register_configured` hook: any kind of spec,
    declaring the class the plugin's options were structured into (or `NoOptions`)."""
    targets: dict[type, Components[Any]] = {
        ScorerSpec: registry.scorers,
        SegmentationSpec: registry.segmentations,
        StageModelSpec: registry.stage_models,
        ReportSpec: registry.reports,
    }

    def register(spec: AnySpec) -> None:
        target = targets.get(type(spec))
        if target is None:
            raise PluginError(
                plugin,
                f"registered a {type(spec).__name__} in register_configured; expected one of "
                + ", ".join(kind.__name__ for kind in targets),
            )
        if spec.options not in (options_class, NoOptions):
            raise PluginError(
                plugin,
                f"{spec_kind(spec)} {spec.name!r} declares options {spec.options.__name__}, but "
                f"the plugin's table was structured into {options_class.__name__}",
            )
        target.add(spec, plugin)

    return register
