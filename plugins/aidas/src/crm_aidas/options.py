"""`[aidas]` options: journey stage sets as data, the attribution window and model.

    [aidas]
    stages = "aidas"              # the set `crm segment` and the scores use
    attribution_days = 7          # a conversion counts for a touch at most this many days later
    attribution = "last"          # last | first | linear
    [[aidas.sets.mine.stages]]    # a set of your own (or a replacement of a shipped one)
    name = "attention"
    kinds = ["ad_impression"]

The shipped sets (aidas, aida, aidma, aisas, lifecycle) are in `stage_sets.toml` next to this
module. Every check runs when the options are built, so a bad table fails at load time with one
line per problem under its key path (`crm.toml: aidas.sets.mine.stages[1].repeat.of: ...`).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from functools import cache
from importlib.resources import files
from typing import TYPE_CHECKING, Any

import attrs
import cattrs
from attrs import field, frozen
from cattrs.errors import AttributeValidationNote

if TYPE_CHECKING:
    from crm import EventRule

NAME = re.compile(r"[a-z][a-z0-9_]*")
ATTRIBUTION_MODELS = ("last", "first", "linear")
DEFAULT_SET = "aidas"


@frozen(kw_only=True)
class Repeat:
    """Reach the stage with the `nth` event of stage `of`, at most `within_days` after its first."""

    of: str
    nth: int = 2
    within_days: float = 90.0


@frozen(kw_only=True)
class StageOptions:
    """One stage: the interactions that reach it, and what counts against it."""

    name: str
    kinds: tuple[str, ...] = ()
    stages: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()
    campaigns: tuple[str, ...] = ()
    repeat: Repeat | None = None
    #: Kinds that count against the stage (a complaint, a ticket): a customer whose last such
    #: event is later than both their last event of the stage and their last `resolved_by`
    #: event is not currently in it (they are back at the stage before).
    against: tuple[str, ...] = ()
    resolved_by: tuple[str, ...] = ()
    description: str = ""

    def rule(self) -> EventRule | None:
        """The stage's own rule, or None for a stage reached only by `repeat`."""
        if not self.kinds and not self.stages:
            return None
        from crm import EventRule  # here: importing the plugin must not import numpy

        return EventRule(
            kinds=self.kinds, stages=self.stages, channels=self.channels, campaigns=self.campaigns
        )


@frozen(kw_only=True)
class StageSet:
    """An ordered journey: at least two stages with distinct names."""

    stages: tuple[StageOptions, ...]
    description: str = ""

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(stage.name for stage in self.stages)


@frozen(kw_only=True)
class AidasOptions:
    """The `[aidas]` table."""

    #: The stage set of `crm segment` (column `aidas`) and the `aidas.*` scores.
    stages: str = DEFAULT_SET
    #: Extra or replacement stage sets by name.
    sets: Mapping[str, StageSet] = field(factory=dict)
    #: Attribution window: a purchase counts for a touch at most this many days after it.
    attribution_days: float = 7.0
    attribution: str = "last"
    #: Email opens are this kind (for the open rate of the 4C view).
    email_open_kind: str = "email_open"
    #: Attribute of purchases that names the product category (4C needs), and of tickets,
    #: complaints and feedback that names the topic; of purchases giving the discount share.
    category_attribute: str = "category"
    topic_attribute: str = "topic"
    discount_attribute: str = "discount"

    def __attrs_post_init__(self) -> None:
        problems = _problems(self)
        if problems:
            # As crm-rfm does: one note per attribute, so crm prints `aidas.<path>: <message>`.
            error = cattrs.ClassValidationError("invalid [aidas] options", problems, AidasOptions)
            error.__notes__ = [AttributeValidationNote("AidasOptions", "", AidasOptions)]
            raise error

    def all_sets(self) -> dict[str, StageSet]:
        """The shipped sets, then the configured ones (which replace a shipped one of that name)."""
        return {**shipped_sets(), **self.sets}

    def stage_set(self, name: str | None = None) -> tuple[str, StageSet]:
        wanted = name or self.stages
        found = self.all_sets()
        if wanted not in found:
            from crm import ConfigError

            raise ConfigError(
                f"aidas: no stage set {wanted!r}; the sets are {', '.join(sorted(found))}"
            )
        return wanted, found[wanted]


def _note(path: str, message: str) -> Exception:
    """A problem crm prints as `aidas.<path>: <message>`."""
    attribute = path.split(".", 1)[0].split("[", 1)[0]
    error = ValueError(message, getattr(attrs.fields(AidasOptions), attribute))
    error.__notes__ = [AttributeValidationNote(f"AidasOptions.{path}", path, None)]
    return error


def _set_problems(path: str, stage_set: StageSet) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    names = stage_set.names
    if len(names) < 2:
        problems.append((f"{path}.stages", "a journey needs at least two stages"))
    for k, stage in enumerate(stage_set.stages):
        where = f"{path}.stages[{k}]"
        if not NAME.fullmatch(stage.name):
            problems.append((f"{where}.name", f"{stage.name!r} is not a lower-case word"))
        if names.count(stage.name) > 1:
            problems.append((f"{where}.name", f"{stage.name!r} appears twice"))
        if stage.rule() is None and stage.repeat is None:
            problems.append((where, "give kinds, stages or repeat, or nothing reaches it"))
        if stage.repeat is not None:
            earlier = names[:k]
            if stage.repeat.of not in earlier:
                problems.append(
                    (
                        f"{where}.repeat.of",
                        f"{stage.repeat.of!r} is not an earlier stage "
                        f"(earlier: {', '.join(earlier) or 'none'})",
                    )
                )
            if stage.repeat.nth < 2:
                problems.append((f"{where}.repeat.nth", f"{stage.repeat.nth} must be 2 or more"))
            if stage.repeat.within_days <= 0:
                problems.append((f"{where}.repeat.within_days", "must be positive"))
    return problems


def _problems(options: AidasOptions) -> list[Exception]:
    lines: list[tuple[str, str]] = []
    for name, stage_set in options.sets.items():
        if not NAME.fullmatch(name):
            lines.append((f"sets.{name}", "the set name is not a lower-case word"))
        lines += _set_problems(f"sets.{name}", stage_set)
    if options.stages not in options.all_sets():
        known = ", ".join(sorted(options.all_sets()))
        lines.append(("stages", f"no stage set {options.stages!r} (known: {known})"))
    if options.attribution not in ATTRIBUTION_MODELS:
        lines.append(("attribution", f"{options.attribution!r} is not one of last, first, linear"))
    if not options.attribution_days > 0:
        lines.append(("attribution_days", "must be a positive number of days"))
    return [_note(path, message) for path, message in lines]


@cache
def shipped_sets() -> dict[str, StageSet]:
    """The stage sets of `stage_sets.toml`: aidas, aida, aidma, aisas, lifecycle."""
    text = files("crm_aidas").joinpath("stage_sets.toml").read_text(encoding="utf-8")
    data: Any = tomllib.loads(text)
    converter = cattrs.Converter(forbid_extra_keys=True)
    return {name: converter.structure(table, StageSet) for name, table in data.items()}
