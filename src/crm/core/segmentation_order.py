"""The order segmentations run in: each after every segmentation whose segments it reads.

A segmentation's column holds its segments (`rfm in ["Champions", "Lost"]`), so a segmenter
that reads it must run after it. Segmentations keep their registration order (plugins', then
crm.toml's) except where a dependency moves a reader after what it reads; a cycle (a reads b,
b reads a) is a configuration error naming it.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

from crm.core.errors import ConfigError


def run_order(names: Sequence[str], reads: Mapping[str, Collection[str]]) -> list[str]:
    """`names` ordered so each comes after the names of `names` it reads (`reads[name]`)."""
    known = set(names)
    ordered: list[str] = []
    done: set[str] = set()
    path: list[str] = []

    def visit(name: str) -> None:
        if name in done:
            return
        if name in path:
            cycle = [*path[path.index(name) :], name]
            raise ConfigError(
                "segmentations "
                + " -> ".join(repr(n) for n in cycle)
                + (
                    " read each other's segments; one of them must read scores instead"
                    if len(cycle) > 2
                    else " reads its own segments"
                )
            )
        path.append(name)
        for dependency in reads.get(name, ()):
            if dependency in known:
                visit(dependency)
        path.pop()
        done.add(name)
        ordered.append(name)

    for name in names:
        visit(name)
    return ordered
