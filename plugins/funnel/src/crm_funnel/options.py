"""`[funnel]` options: funnels as data (steps, order mode, windows) and the deal pipeline.

The top-level table is the main funnel (named `name`, default "sales"); `[funnel.funnels.NAME]`
tables add more, side by side; `[funnel.deals]` describes the deal pipeline. Every check runs when
the options are built, so a bad table fails at load time with one line per problem under its key
path (`crm.toml: funnel.funnels.web.steps[1].window_days: ...`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import attrs
import cattrs
from attrs import field, frozen
from cattrs.errors import AttributeValidationNote

if TYPE_CHECKING:
    from crm import EventRule

ORDER_MODES = ("ordered", "strict", "any")
NAME = re.compile(r"[a-z][a-z0-9_]*")
#: The number of steps an event code bitmask can hold (int64, one bit per step).
MAX_STEPS = 62


@frozen(kw_only=True)
class StepOptions:
    """One step: what puts a customer in it (see `crm.EventRule`) and an optional window."""

    name: str
    kinds: tuple[str, ...] = ()
    stages: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()
    campaigns: tuple[str, ...] = ()
    #: Step window: at most this many days after the previous step (ordered and strict modes).
    window_days: float | None = None

    def rule(self) -> EventRule:
        from crm import EventRule  # here, not at the top: loading the plugin stays light

        return EventRule(
            kinds=self.kinds, stages=self.stages, channels=self.channels, campaigns=self.campaigns
        )


SALES_STEPS = (
    StepOptions(name="awareness", kinds=("visit", "campaign_touch"), stages=("lead",)),
    StepOptions(name="research and evaluation", kinds=("email_open",), stages=("prospect",)),
    StepOptions(name="consideration", stages=("opportunity", "proposal")),
    StepOptions(name="purchase", kinds=("purchase",)),
    StepOptions(name="relationship maintenance", kinds=("email_open", "feedback", "ticket")),
)


@frozen(kw_only=True)
class FunnelDefinition:
    """A funnel: steps in order, the order mode, the conversion window, the stuck limit."""

    steps: tuple[StepOptions, ...] = SALES_STEPS
    order: str = "ordered"
    #: Conversion window: a later step counts only if reached at most this many days after entry.
    window_days: float = 30.0
    #: A customer whose furthest step was reached longer ago than this (and is not the last
    #: step) is "stuck" in it.
    stuck_after_days: float = 14.0

    @property
    def step_names(self) -> tuple[str, ...]:
        return tuple(step.name for step in self.steps)

    def rules(self) -> tuple[EventRule, ...]:
        return tuple(step.rule() for step in self.steps)


@frozen(kw_only=True)
class DealOptions:
    """The deal pipeline: `stage_change` interactions with an order id (the deal) and amount."""

    #: Open stages in pipeline order.
    stages: tuple[str, ...] = ("qualified", "proposal", "negotiation")
    won: tuple[str, ...] = ("won",)
    lost: tuple[str, ...] = ("lost",)
    #: Fixed P(win | stage), per open stage; stages left out have no fixed probability.
    win_probability: Mapping[str, float] = field(factory=dict)
    #: Which probabilities the forecast uses: "estimated" from closed deals, or "fixed".
    forecast: str = "estimated"
    #: Coverage of the Wilson interval around each estimated probability.
    confidence: float = 0.95

    def terminal(self) -> tuple[str, ...]:
        return (*self.won, *self.lost)


@frozen(kw_only=True)
class FunnelOptions:
    """The `[funnel]` table: the main funnel's fields, more funnels, and the deal pipeline."""

    name: str = "sales"
    steps: tuple[StepOptions, ...] = SALES_STEPS
    order: str = "ordered"
    window_days: float = 30.0
    stuck_after_days: float = 14.0
    funnels: Mapping[str, FunnelDefinition] = field(factory=dict)
    deals: DealOptions = field(factory=DealOptions)

    def __attrs_post_init__(self) -> None:
        problems = _problems(self)
        if problems:
            # As crm-rfm does: one note per attribute, so crm prints `funnel.<path>: <message>`.
            error = cattrs.ClassValidationError("invalid [funnel] options", problems, FunnelOptions)
            error.__notes__ = [AttributeValidationNote("FunnelOptions", "", FunnelOptions)]
            raise error

    def main(self) -> FunnelDefinition:
        return FunnelDefinition(
            steps=self.steps,
            order=self.order,
            window_days=self.window_days,
            stuck_after_days=self.stuck_after_days,
        )

    def all_funnels(self) -> dict[str, FunnelDefinition]:
        """Every funnel by name, the main one first."""
        return {self.name: self.main(), **self.funnels}

    def funnel(self, name: str | None) -> tuple[str, FunnelDefinition]:
        funnels = self.all_funnels()
        chosen = name or self.name
        if chosen not in funnels:
            from crm import ConfigError

            raise ConfigError(
                f"--funnel: no funnel is called {chosen!r} (configured: {', '.join(funnels)})"
            )
        return chosen, funnels[chosen]

    def column(self, name: str) -> str:
        """The `crm segment` column of a funnel: `funnel` for the main one, else `funnel_<name>`."""
        return "funnel" if name == self.name else f"funnel_{name}"


def _problem(attribute: str, path: str, message: str) -> Exception:
    exc = ValueError(message, getattr(attrs.fields(FunnelOptions), attribute))
    exc.__notes__ = [AttributeValidationNote(f"FunnelOptions.{path}", path, None)]
    return exc


def _positive(value: float | None) -> bool:
    return value is None or (math.isfinite(value) and value > 0)


def _definition_problems(
    attribute: str, prefix: str, definition: FunnelDefinition | FunnelOptions
) -> list[Exception]:
    def at(key: str) -> str:
        return f"{prefix}{key}"

    problems: list[Exception] = []
    if definition.order not in ORDER_MODES:
        problems.append(
            _problem(
                attribute,
                at("order"),
                f"expected one of {', '.join(ORDER_MODES)}, got {definition.order!r}",
            )
        )
    for key in ("window_days", "stuck_after_days"):
        if not _positive(getattr(definition, key)):
            message = f"expected a positive number of days, got {getattr(definition, key)!r}"
            problems.append(_problem(attribute, at(key), message))
    if not 2 <= len(definition.steps) <= MAX_STEPS:
        problems.append(
            _problem(
                attribute,
                at("steps"),
                f"expected 2 to {MAX_STEPS} steps, got {len(definition.steps)}",
            )
        )
    seen: set[str] = set()
    for index, step in enumerate(definition.steps):
        here = at(f"steps[{index}]")
        if not step.name.strip() or step.name in seen:
            what = "an empty name" if not step.name.strip() else f"the name {step.name!r} twice"
            problems.append(
                _problem(attribute, f"{here}.name", f"step names must be unique, got {what}")
            )
        seen.add(step.name)
        if not (step.kinds or step.stages or step.channels or step.campaigns):
            problems.append(
                _problem(
                    attribute,
                    here,
                    f"step {step.name!r} says nothing about what puts a customer in it: give "
                    "kinds, stages, channels or campaigns",
                )
            )
        if not _positive(step.window_days):
            problems.append(
                _problem(
                    attribute,
                    f"{here}.window_days",
                    f"expected a positive number of days, got {step.window_days!r}",
                )
            )
        elif step.window_days is not None and index == 0:
            problems.append(
                _problem(
                    attribute,
                    f"{here}.window_days",
                    "the first step has no previous step to measure a window from",
                )
            )
        elif step.window_days is not None and definition.order == "any":
            problems.append(
                _problem(
                    attribute,
                    f"{here}.window_days",
                    "step windows need an order; in order mode 'any' only the funnel's "
                    "window_days applies",
                )
            )
    return problems


def _deal_problems(deals: DealOptions) -> list[Exception]:
    problems: list[Exception] = []
    overlap = set(deals.stages) & set(deals.terminal()) | set(deals.won) & set(deals.lost)
    if overlap:
        problems.append(
            _problem(
                "deals",
                "deals",
                f"a stage is open, won or lost, never two of them: {sorted(overlap)}",
            )
        )
    if not deals.stages or not deals.won or not deals.lost:
        problems.append(
            _problem("deals", "deals", "expected at least one open, one won and one lost stage")
        )
    for stage, p in deals.win_probability.items():
        if stage not in deals.stages:
            problems.append(
                _problem(
                    "deals",
                    f"deals.win_probability.{stage}",
                    f"not an open stage (open stages: {', '.join(deals.stages)})",
                )
            )
        elif not (isinstance(p, int | float) and 0.0 <= p <= 1.0):
            problems.append(
                _problem(
                    "deals",
                    f"deals.win_probability.{stage}",
                    f"expected a probability from 0 to 1, got {p!r}",
                )
            )
    if deals.forecast not in ("estimated", "fixed"):
        problems.append(
            _problem(
                "deals",
                "deals.forecast",
                f"expected 'estimated' or 'fixed', got {deals.forecast!r}",
            )
        )
    elif deals.forecast == "fixed" and set(deals.win_probability) != set(deals.stages):
        problems.append(
            _problem(
                "deals",
                "deals.win_probability",
                "forecast = 'fixed' needs a probability for every open stage "
                f"({', '.join(deals.stages)})",
            )
        )
    if not 0.5 <= deals.confidence < 1.0:
        problems.append(
            _problem(
                "deals",
                "deals.confidence",
                f"expected a level in [0.5, 1), got {deals.confidence!r}",
            )
        )
    return problems


def _problems(options: FunnelOptions) -> list[Exception]:
    problems = _definition_problems("steps", "", options)
    if not NAME.fullmatch(options.name):
        problems.append(_problem("name", "name", f"expected [a-z][a-z0-9_]*, got {options.name!r}"))
    for name, definition in options.funnels.items():
        if not NAME.fullmatch(name) or name == options.name:
            problems.append(
                _problem(
                    "funnels",
                    f"funnels.{name}",
                    f"funnel names are [a-z][a-z0-9_]* and unique (the main funnel is "
                    f"{options.name!r}), got {name!r}",
                )
            )
        problems.extend(_definition_problems("funnels", f"funnels.{name}.", definition))
    problems.extend(_deal_problems(options.deals))
    return problems


def structure_example(data: Mapping[str, Any]) -> FunnelOptions:
    """Options from a `[funnel]` table as crm would build them (for tests and notebooks)."""
    from crm.core.config import structure

    return structure(data, FunnelOptions, source="crm.toml", prefix="funnel")
