"""Key paths as a person would type them in crm.toml: `import.customers.name`, `rules[0].when`.

A key that is not a bare TOML key (`a.b`, `x y`, `"`, an escape character) is written quoted, as
TOML would need it, so a path names exactly one place and never carries control characters to the
terminal.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def key_part(key: str) -> str:
    """One key, quoted when TOML would need quotes (json's escapes are valid TOML basic strings)."""
    return key if _BARE_KEY.fullmatch(key) else json.dumps(key)


def key_path(parts: Iterable[str | int | object]) -> str:
    """`("import", "customers", "x y")` -> `import.customers."x y"`; integers become `[i]`."""
    text = ""
    for part in parts:
        if isinstance(part, int) and not isinstance(part, bool):
            text += f"[{part}]"
        else:
            name = key_part(part if isinstance(part, str) else repr(part))
            text += f".{name}" if text else name
    return text
