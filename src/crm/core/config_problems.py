"""cattrs' structuring errors as crm.toml lines: `<file>: <key path>: <what was wrong, what is right>`.

cattrs (with detailed validation) raises a tree of exception groups whose notes say which
attribute, list index or mapping key each failure belongs to; `problem_lines` walks that tree and
writes each leaf as one line with its key path (see `crm.core.key_paths`).
"""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Iterator, Sequence
from typing import Any

import attrs
import cattrs
from cattrs.errors import AttributeValidationNote, IterableValidationNote

from crm.core.key_paths import key_path

#: Attributes of config classes that are not keys of the file.
NOT_KEYS = frozenset({"plugin_tables", "path", "as_of"})


def describe_type(cls: Any) -> str:
    """What a person should write for a value of type `cls`: "an integer", "a list", ..."""
    names = {int: "an integer", float: "a number", str: "a string", bool: "true or false"}
    members = [m for m in typing.get_args(cls) if m is not type(None)] if cls is not None else []
    if typing.get_origin(cls) in (typing.Union, types.UnionType) and len(members) == 1:
        cls = members[0]
    if cls in names:
        return names[cls]
    if typing.get_origin(cls) is tuple:
        return "a list"
    if typing.get_origin(cls) in (dict, typing.get_origin(typing.Mapping[str, str])):
        return "a table"
    if attrs.has(cls):
        return "a table"
    return getattr(cls, "__name__", str(cls))


def _toml_key(attribute: attrs.Attribute[Any]) -> str:
    # `import_` holds the table [import]: a Python keyword cannot be an attribute name.
    name = attribute.alias or attribute.name
    return name.removesuffix("_")


def _message(exc: BaseException, cls: Any) -> str:
    if isinstance(exc, cattrs.ForbiddenExtraKeysError):
        extra = ", ".join(repr(k) for k in sorted(map(str, exc.extra_fields)))
        if attrs.has(exc.cl):
            allowed = ", ".join(
                _toml_key(a) for a in attrs.fields(exc.cl) if a.name not in NOT_KEYS
            )
            return f"unknown key {extra} (expected one of: {allowed or 'no keys'})"
        return f"unknown key {extra}"
    if isinstance(exc, KeyError):
        return "required key is missing"
    if isinstance(exc, RecursionError):
        return "nested too deeply"
    text = str(exc.args[0]) if exc.args else ""
    if isinstance(exc, ValueError | TypeError) and text.startswith("expected"):
        return text
    if isinstance(exc, ValueError | TypeError) and cls is not None:
        return (
            f"expected {describe_type(cls)}, {text}" if text else f"expected {describe_type(cls)}"
        )
    return text or exc.__class__.__name__


def _attribute_of(exc: BaseException) -> str | None:
    # attrs validators raise (message, attribute, ...) at the class; the key is the attribute's.
    if isinstance(exc, ValueError | TypeError) and len(exc.args) >= 2:
        attribute = exc.args[1]
        if isinstance(attribute, attrs.Attribute):
            return _toml_key(attribute)
    return None


_PATH_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def _written_path(text: str) -> tuple[str | int, ...]:
    """`segment_map.segments[0]` -> ("segment_map", "segments", 0)."""
    return tuple(int(index) if index else key for key, index in _PATH_PART.findall(text))


def _leaves(exc: BaseException, path: tuple[Any, ...]) -> Iterator[tuple[tuple[Any, ...], str]]:
    if isinstance(exc, cattrs.IterableValidationError):
        items, without = exc.group_exceptions()
        for sub, note in items:
            if not isinstance(note, IterableValidationNote):  # a plugin's own plain-text note
                yield from _leaf_or_tree(sub, path, None, placed=False)
                continue
            yield from _leaf_or_tree(sub, (*path, note.index), note.type, placed=True)
        for sub in without:
            yield from _leaf_or_tree(sub, path, None, placed=False)
    elif isinstance(exc, cattrs.ClassValidationError):
        attributes, without = exc.group_exceptions()
        for failure, attribute in attributes:
            if not isinstance(attribute, AttributeValidationNote):
                yield from _leaf_or_tree(failure, path, None, placed=False)
                continue
            # Attribute names hold no dots, so a dotted or empty name is a path a plugin's own
            # validation wrote ("segment_map.axes"; "" to pass through a wrapper): keep its keys.
            keys = _written_path(attribute.name)
            yield from _leaf_or_tree(failure, (*path, *keys), attribute.type, placed=True)
        for sub in without:
            yield from _leaf_or_tree(sub, path, None, placed=False)
    else:
        yield from _leaf_or_tree(exc, path, None, placed=False)


def _leaf_or_tree(
    exc: BaseException, path: tuple[Any, ...], cls: Any, *, placed: bool
) -> Iterator[tuple[tuple[Any, ...], str]]:
    """`placed`: a note already put `exc` at its key (else an attrs validator may name one)."""
    if isinstance(exc, cattrs.IterableValidationError | cattrs.ClassValidationError):
        yield from _leaves(exc, path)
        return
    attribute = None if placed else _attribute_of(exc)
    where = (*path, attribute) if attribute is not None else path
    yield where, _message(exc, cls)


def problem_lines(exc: BaseException, source: str, prefix: Sequence[str] = ()) -> list[str]:
    """One line per failure in `exc`, each `<source>: <key path>: <message>`."""
    lines = []
    for path, message in _leaves(exc, ()):
        where = key_path((*prefix, *path))
        lines.append(f"{source}: {where or '(top level)'}: {message}")
    return lines
