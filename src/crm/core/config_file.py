"""Reading crm.toml into plain data: any bytes give a dict or one ConfigError line naming the file.

A configuration file is written by hand, copied between machines and saved by editors that pick
their own encoding, so every way it can be unreadable gets a line saying what is wrong and where
(line and column where there is one) instead of a traceback: not UTF-8, UTF-16, invalid TOML,
arrays or tables nested too deep for the parser or for the rest of crm (which walks the data
recursively: hashing, structuring, printing).
"""

from __future__ import annotations

import codecs
import tomllib
from pathlib import Path
from typing import Any

from crm.core.errors import ConfigError, ConfigFileMissing
from crm.core.key_paths import key_path

#: How deep tables and arrays may nest. The deepest real configuration (a plugin option holding a
#: list of tables) is 4 levels; tomllib itself fails with RecursionError near 1,000.
MAX_DEPTH = 32

_UTF16_MARKS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


def _line_and_column(data: bytes, offset: int) -> tuple[int, int]:
    line_start = data.rfind(b"\n", 0, offset) + 1
    return data.count(b"\n", 0, offset) + 1, offset - line_start + 1


def decode(data: bytes, source: str) -> str:
    """UTF-8 text (a leading byte-order mark is allowed); anything else names where it breaks."""
    if data.startswith(_UTF16_MARKS) or (len(data) >= 2 and b"\x00" in data[:2]):
        raise ConfigError(
            f"{source}: the file is UTF-16 (or another wide encoding); save it as UTF-8"
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line, column = _line_and_column(data, exc.start)
        raise ConfigError(
            f"{source}: line {line}, column {column}: byte 0x{data[exc.start]:02x} is not UTF-8; "
            "save the file as UTF-8"
        ) from None


def _too_deep(data: Any) -> tuple[Any, ...] | None:
    """The key path of the first value nested deeper than MAX_DEPTH, or None (no recursion)."""
    stack: list[tuple[tuple[Any, ...], Any]] = [((), data)]
    while stack:
        path, value = stack.pop()
        if len(path) > MAX_DEPTH:
            return path
        if isinstance(value, dict):
            stack.extend(((*path, k), v) for k, v in value.items())
        elif isinstance(value, list):
            stack.extend(((*path, i), v) for i, v in enumerate(value))
    return None


def parse_toml(text: str, source: str) -> dict[str, Any]:
    """TOML text into a dict; invalid TOML and too-deep nesting are ConfigErrors."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML: {exc}") from None
    except RecursionError:
        raise ConfigError(
            f"{source}: cannot be read: arrays or inline tables are nested too deep for the TOML "
            f"reader (crm configuration goes at most {MAX_DEPTH} levels deep)"
        ) from None
    deep = _too_deep(data)
    if deep is not None:
        shown = key_path(deep[: MAX_DEPTH // 4]) + " ..."
        raise ConfigError(
            f"{source}: {shown}: tables or arrays nested more than {MAX_DEPTH} levels deep; "
            "crm configuration is never that deep (a key path repeated by mistake?)"
        )
    return data


def read_config_file(path: Path) -> dict[str, Any]:
    """The data in the TOML file at `path`, or a ConfigError naming the file and the problem."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigFileMissing(
            f"{path}: no such file; run `crm init` to write a default configuration, or pass "
            "--config PATH"
        ) from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read: {exc.strerror or exc}") from None
    return parse_toml(decode(raw, path.name), path.name)
