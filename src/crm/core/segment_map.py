"""Score-grid segment maps as data: every cell of a grid of scores names exactly one segment.

A map reads integer scores 1..N on each of its axes (metric columns such as `rfm.r` and `rfm.fm`)
and looks the segment up in a table with one entry per cell. In TOML::

    axes = ["rfm.r", "rfm.fm"]

    [[segments]]
    name = "Champions"
    description = "Bought recently, buy often and spend the most"
    action = "Reward them"
    cells = ["5:4-5", "4:5"]        # one part per axis: a score, a range a-b, or *

The map is checked when it is loaded, because published RFM rule tables overlap and leave
segments unreachable: every cell must get a segment (exhaustive), no cell may get two (exclusive),
and every named segment must get at least one cell (reachable). Problems are `ConfigError` lines
that name the cells and segments involved.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from attrs import frozen

from crm.core.errors import ConfigError
from crm.core.segment import Segment

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    from crm.core.components import Columns

_MAP_KEYS = ("axes", "segments")
_SEGMENT_KEYS = ("name", "description", "action", "cells")
_PART = re.compile(r"^\s*(?:(?P<star>\*)|(?P<low>\d+)\s*(?:-\s*(?P<high>\d+))?)\s*$")

Cell = tuple[int, ...]


def axis_label(axis: str) -> str:
    """How a cell names an axis in messages: `rfm.fm` -> `FM`."""
    return axis.rsplit(".", 1)[-1].upper()


def _join_path(key_path: str, sub_path: str) -> str:
    return f"{key_path}.{sub_path}" if key_path and sub_path else (key_path or sub_path)


class SegmentMapError(ConfigError):
    """A map that fails its checks; `problems` holds (path inside the map, message) pairs.

    The lines are `<source>: <key path>[.<path inside the map>]: <message>`; the pairs let a
    plugin report the same problems under its own options' key paths.
    """

    def __init__(self, source: str, key_path: str, problems: Sequence[tuple[str, str]]) -> None:
        self.problems: tuple[tuple[str, str], ...] = tuple(problems)
        lines = []
        for sub_path, message in self.problems:
            path = _join_path(key_path, sub_path)
            lines.append(f"{source}: {path}: {message}" if path else f"{source}: {message}")
        super().__init__(lines)


def _quoted(names: Sequence[str]) -> str:
    quoted = [repr(n) for n in names]
    if len(quoted) == 2:
        return f"both {quoted[0]} and {quoted[1]}"
    return ", ".join(quoted[:-1]) + f" and {quoted[-1]}" if len(quoted) > 1 else quoted[0]


@frozen
class SegmentMap:
    """A total, exclusive map from cells of a score grid to segments; a `Segmenter`.

    `cells` holds the segment index of every cell in row-major order over `axes`, scores
    ascending (cell (1, 1, ...) first). Build one with `from_toml`, which checks the map.
    """

    axes: tuple[str, ...]
    levels: tuple[int, ...]
    segments: tuple[Segment, ...]
    cells: tuple[int, ...]

    def __attrs_post_init__(self) -> None:
        if not self.axes or len(self.axes) != len(self.levels):
            raise ValueError(f"one level count per axis expected, got {self.axes} {self.levels}")
        if len(self.cells) != math.prod(self.levels):
            raise ValueError(f"{math.prod(self.levels)} cells expected, got {len(self.cells)}")
        if any(not 0 <= index < len(self.segments) for index in self.cells):
            raise ValueError("every cell must hold the index of one of the segments")

    @property
    def inputs(self) -> tuple[str, ...]:
        return self.axes

    def segment_at(self, *scores: int) -> Segment:
        """The segment of one cell, for example `segment_at(5, 4)` for R=5, FM=4."""
        if len(scores) != len(self.axes) or any(
            not 1 <= s <= n for s, n in zip(scores, self.levels, strict=True)
        ):
            raise ValueError(f"scores {scores} are not a cell of the grid {self.grid_text()}")
        flat = 0
        for score, level in zip(scores, self.levels, strict=True):
            flat = flat * level + (score - 1)
        return self.segments[self.cells[flat]]

    def cells_of(self, name: str) -> tuple[Cell, ...]:
        """The cells that get segment `name`, in row-major order."""
        index = [s.name for s in self.segments].index(name)
        grid = itertools.product(*(range(1, n + 1) for n in self.levels))
        return tuple(cell for cell, i in zip(grid, self.cells, strict=True) if i == index)

    def grid_text(self) -> str:
        """The grid's extent for messages: `1..5`, or `R 1..5 x S 1..4` when the axes differ."""
        return _grid_text([axis_label(a) for a in self.axes], self.levels)

    def assign(self, columns: Columns) -> NDArray[np.int64]:
        """Segment index per customer by table lookup; -1 where any input score is NaN."""
        import numpy as np  # here, not at import: loading a plugin must stay cheap

        lookup = np.asarray(self.cells, dtype=np.int64)
        flat: NDArray[np.int64] | None = None
        missing: NDArray[np.bool_] | None = None
        for axis, level in zip(self.axes, self.levels, strict=True):
            values = np.asarray(columns[axis], dtype=np.float64)
            nan = np.isnan(values)
            scores = np.where(nan, 1.0, values)
            bad = (scores < 1) | (scores > level) | (scores != np.floor(scores))
            if bad.any():
                example = float(scores[bad][0])
                raise ValueError(
                    f"segment map input {axis!r} holds {example!r}, which is not a score 1..{level}"
                )
            as_int = scores.astype(np.int64) - 1
            flat = as_int if flat is None else flat * level + as_int
            missing = nan if missing is None else missing | nan
        assert flat is not None and missing is not None  # at least one axis, checked at init
        codes = lookup[flat]
        codes[missing] = -1
        return codes

    @classmethod
    def from_toml(
        cls,
        data: Mapping[str, Any],
        *,
        levels: int | Sequence[int],
        source: str,
        key_path: str,
    ) -> SegmentMap:
        """Build and check a map from its TOML table (`axes` and `[[segments]]`).

        Raises `SegmentMapError` (a `ConfigError`) listing every problem found.

        `levels` is the top score of every axis (one int for all, or one per axis); `source` and
        `key_path` say where the table came from, for error lines such as
        ``crm.toml: rfm.segment_map: cells R=1 FM=3, R=1 FM=4 get no segment``.
        """
        return _Builder(source, key_path).build(data, levels)


class _Builder:
    """Parses and checks a map table, collecting every problem before raising."""

    def __init__(self, source: str, key_path: str) -> None:
        self.source = source
        self.key_path = key_path
        self.problems: list[tuple[str, str]] = []

    def problem(self, message: str, sub_path: str = "") -> None:
        self.problems.append((sub_path, message))

    def fail(self) -> SegmentMapError:
        return SegmentMapError(self.source, self.key_path, self.problems)

    def build(self, data: Mapping[str, Any], levels: int | Sequence[int]) -> SegmentMap:
        if not isinstance(data, Mapping):
            self.problem(f"expected a table with {' and '.join(_MAP_KEYS)}, got {data!r}")
            raise self.fail()
        extra = sorted(set(data) - set(_MAP_KEYS))
        if extra:
            self.problem(
                f"unknown key {', '.join(map(repr, extra))} (expected one of: {', '.join(_MAP_KEYS)})"
            )
        axes = self._axes(data.get("axes"))
        raw_segments = data.get("segments")
        if not isinstance(raw_segments, list) or not raw_segments:
            self.problem(
                "expected a non-empty list of [[segments]] tables, each with name, description, "
                f"action and cells; got {raw_segments!r}",
                "segments",
            )
            raise self.fail()
        if axes is None:
            raise self.fail()
        top = self._levels(axes, levels)
        labels = [axis_label(a) for a in axes]
        segments: list[Segment] = []
        claims: dict[Cell, list[int]] = {}
        outside: dict[int, list[str]] = {}
        valid_cells: dict[int, set[Cell]] = {}
        for i, raw in enumerate(raw_segments):
            segment, patterns = self._segment(i, raw, [s.name for s in segments])
            segments.append(segment)
            valid_cells[i] = set()
            for j, pattern in enumerate(patterns):
                ranges = self._pattern(pattern, labels, top, f"segments[{i}].cells[{j}]")
                if ranges is None:
                    continue
                if any(lo < 1 or hi > n for (lo, hi), n in zip(ranges, top, strict=True)):
                    outside.setdefault(i, []).append(pattern)
                    continue
                for cell in itertools.product(*(range(lo, hi + 1) for lo, hi in ranges)):
                    if i not in claims.setdefault(cell, []):
                        claims[cell].append(i)
                    valid_cells[i].add(cell)
        grid_text = _grid_text(labels, top)
        self._check(segments, claims, outside, valid_cells, labels, top, grid_text)
        if self.problems:
            raise self.fail()
        order = itertools.product(*(range(1, n + 1) for n in top))
        return SegmentMap(
            axes=axes,
            levels=top,
            segments=tuple(segments),
            cells=tuple(claims[cell][0] for cell in order),
        )

    def _axes(self, raw: Any) -> tuple[str, ...] | None:
        if (
            not isinstance(raw, list)
            or not raw
            or not all(isinstance(a, str) and a.strip() for a in raw)
        ):
            self.problem(
                f'expected a non-empty list of metric names such as ["rfm.r", "rfm.fm"], got {raw!r}',
                "axes",
            )
            return None
        if len(set(raw)) != len(raw):
            self.problem(f"each axis may appear once, got {raw!r}", "axes")
            return None
        return tuple(raw)

    def _levels(self, axes: tuple[str, ...], levels: int | Sequence[int]) -> tuple[int, ...]:
        top = (levels,) * len(axes) if isinstance(levels, int) else tuple(levels)
        if len(top) != len(axes) or any(n < 1 for n in top):
            raise ValueError(f"levels {levels!r} do not fit the axes {axes!r}")
        return top

    def _segment(self, i: int, raw: Any, taken: list[str]) -> tuple[Segment, list[str]]:
        where = f"segments[{i}]"
        if not isinstance(raw, Mapping):
            self.problem(f"expected a table with {', '.join(_SEGMENT_KEYS)}, got {raw!r}", where)
            return Segment(f"#{i}"), []
        extra = sorted(set(raw) - set(_SEGMENT_KEYS))
        if extra:
            self.problem(
                f"unknown key {', '.join(map(repr, extra))} "
                f"(expected one of: {', '.join(_SEGMENT_KEYS)})",
                where,
            )
        name = raw.get("name")
        if not isinstance(name, str) or not name.strip():
            self.problem(
                f"expected a segment name (a non-empty string), got {name!r}", f"{where}.name"
            )
            name = f"#{i}"
        elif name in taken:
            self.problem(
                f"segment {name!r} is defined twice; list all its cells in one entry",
                f"{where}.name",
            )
        texts = []
        for key in ("description", "action"):
            value = raw.get(key, "")
            if not isinstance(value, str):
                self.problem(f"expected a string, got {value!r}", f"{where}.{key}")
                value = ""
            texts.append(value)
        cells = raw.get("cells")
        if isinstance(cells, str):
            cells = [cells]
        if not isinstance(cells, list) or not all(isinstance(c, str) for c in cells):
            self.problem(
                f'expected a list of cell patterns such as ["5:4-5", "4:5"], got {cells!r}',
                f"{where}.cells",
            )
            cells = []
        return Segment(name, texts[0], texts[1]), list(cells)

    def _pattern(
        self, pattern: str, labels: list[str], top: tuple[int, ...], where: str
    ) -> list[tuple[int, int]] | None:
        parts = pattern.split(":")
        ranges: list[tuple[int, int]] = []
        for part, level in zip(parts, top, strict=False):
            match = _PART.match(part)
            if match is None:
                break
            if match["star"]:
                ranges.append((1, level))
            else:
                low = int(match["low"])
                high = int(match["high"]) if match["high"] is not None else low
                if high < low:
                    break
                ranges.append((low, high))
        if len(ranges) != len(parts) or len(parts) != len(top):
            shape = ":".join(labels)
            self.problem(
                f"expected one part per axis ({shape}), each a score, an inclusive range a-b or *, "
                f"such as {_example(len(top))!r}; got {pattern!r}",
                where,
            )
            return None
        return ranges

    def _check(
        self,
        segments: list[Segment],
        claims: dict[Cell, list[int]],
        outside: dict[int, list[str]],
        valid_cells: dict[int, set[Cell]],
        labels: list[str],
        top: tuple[int, ...],
        grid_text: str,
    ) -> None:
        def name_of(cell: Cell) -> str:
            return " ".join(f"{label}={v}" for label, v in zip(labels, cell, strict=True))

        uncovered = []
        for cell in itertools.product(*(range(1, n + 1) for n in top)):
            owners = claims.get(cell, [])
            if not owners:
                uncovered.append(name_of(cell))
            elif len(owners) > 1:
                owner_names = [segments[i].name for i in owners]
                self.problem(f"cell {name_of(cell)} is claimed by {_quoted(owner_names)}")
        if uncovered:
            verb = "gets" if len(uncovered) == 1 else "get"
            noun = "cell" if len(uncovered) == 1 else "cells"
            self.problem(f"{noun} {', '.join(uncovered)} {verb} no segment")
        for i, segment in enumerate(segments):
            mine = valid_cells[i]
            bad = outside.get(i, [])
            if not mine:
                if bad:
                    noun = "cell" if len(bad) == 1 else "cells"
                    verb = "is" if len(bad) == 1 else "are"
                    reason = f"its {noun} {', '.join(map(repr, bad))} {verb} outside the grid {grid_text}"
                else:
                    reason = "it has no valid cell"
                self.problem(f"segment {segment.name!r} is unreachable: {reason}")
                continue
            for pattern in bad:
                self.problem(
                    f"segment {segment.name!r}: cell {pattern!r} is outside the grid {grid_text}"
                )
            others = sorted({j for cell in mine for j in claims[cell] if j != i})
            if others and all(len(claims[cell]) > 1 for cell in mine):
                names = [segments[j].name for j in others]
                self.problem(
                    f"segment {segment.name!r} has no cell of its own: each of its cells is also "
                    f"claimed by {_quoted(names).removeprefix('both ')}"
                )


def _grid_text(labels: list[str], top: tuple[int, ...]) -> str:
    if len(set(top)) == 1:
        return f"1..{top[0]}"
    return " x ".join(f"{label} 1..{n}" for label, n in zip(labels, top, strict=True))


def _example(axes: int) -> str:
    return ":".join(["5", "4-5", "*"][:axes] + ["*"] * max(0, axes - 3))
