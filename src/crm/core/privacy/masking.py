"""Masking personal fields in output, configured by the `[privacy]` table of crm.toml:

    [privacy]
    mask = "partial"        # the rule for every personal field: partial, hash or drop
    [privacy.fields]
    email = "hash"          # per field: name, email, phone, birth_date, city

- partial keeps enough to recognise a record by eye: `A*** S***`, `a***@example.com`, `***23`
  (last two digits of a phone), `1980` (birth year), `L***` (city);
- hash gives `h:` and 12 hex digits of an HMAC with the database's secret: equal values get
  equal hashes (so lists can still be joined or deduplicated), and unlike a plain hash it
  cannot be reversed by hashing every likely email;
- drop leaves the field empty.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from typing import Any

from attrs import frozen

from crm.core.privacy import PERSONAL_FIELDS
from crm.core.privacy.options import MASK_RULES, PrivacyConfig
from crm.core.privacy.tombstones import keyed_hash

__all__ = ["MASK_RULES", "Masker", "PrivacyConfig"]


def _partial(name: str, value: str) -> str:
    if name == "email":
        local, at, domain = value.partition("@")
        return f"{local[:1]}***{at}{domain}" if at else f"{value[:1]}***"
    if name == "phone":
        digits = re.sub(r"\D", "", value)
        return f"***{digits[-2:]}" if len(digits) > 4 else "***"
    if name == "birth_date":
        return value[:4]
    return " ".join(f"{word[:1]}***" for word in value.split()) or "***"


@frozen
class Masker:
    """Applies a `PrivacyConfig`; `secret` is the database's (for the hash rule)."""

    config: PrivacyConfig
    secret: bytes

    def mask(self, name: str, value: Any) -> Any:
        """`value` of personal field `name` as output shows it; other fields pass unchanged."""
        if value is None or name not in PERSONAL_FIELDS:
            return value
        text = value.isoformat() if isinstance(value, date) else str(value)
        rule = self.config.rule_for(name)
        if rule == "drop":
            return None
        if rule == "hash":
            return "h:" + keyed_hash(self.secret, f"{name}:{text}")[:12]
        return _partial(name, text)

    def mask_all(self, values: Mapping[str, Any]) -> dict[str, Any]:
        return {name: self.mask(name, value) for name, value in values.items()}
