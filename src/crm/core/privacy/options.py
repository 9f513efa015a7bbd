"""The `[privacy]` table of crm.toml (no database imports: read with the rest of the config)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from attrs import Attribute, field, frozen

from crm.core.privacy import PERSONAL_FIELDS

MASK_RULES = ("partial", "hash", "drop")


def _check_rule(_instance: Any, attribute: Attribute[Any], value: str) -> None:
    if value not in MASK_RULES:
        raise ValueError(f"expected one of {', '.join(MASK_RULES)}, got {value!r}", attribute)


def _check_fields(_instance: Any, attribute: Attribute[Any], value: Mapping[str, str]) -> None:
    for name, rule in value.items():
        if name not in PERSONAL_FIELDS:
            raise ValueError(
                f"{name}: not a personal field; expected one of {', '.join(PERSONAL_FIELDS)}",
                attribute,
            )
        if rule not in MASK_RULES:
            raise ValueError(
                f"{name}: expected one of {', '.join(MASK_RULES)}, got {rule!r}", attribute
            )


@frozen
class PrivacyConfig:
    """`[privacy]`: how personal fields are masked in output unless `--unmask` is given."""

    mask: str = field(default="partial", validator=_check_rule)
    fields: Mapping[str, str] = field(factory=dict, validator=_check_fields)

    def rule_for(self, name: str) -> str:
        return self.fields.get(name, self.mask)
