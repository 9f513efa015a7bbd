"""Rules read other segmentations' segments: a segmentation's name is a text column of its
segment names, checked at load time (unknown segmentation or segment, with a did-you-mean),
and a segmentation runs after the ones it reads (a cycle is an error)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine

from crm.core.config import parse_config
from crm.core.errors import ConfigError
from crm.core.project import Project
from crm.core.segmentation_order import run_order
from tests.conftest import BigSpendersPlugin, SpendPlugin

# Totals: a 1,000.00 (DE), b 150.00 (FR), c 10.00 (DE); d never purchased (DE).
PURCHASES = [
    ("a", "2024-03-01T10:00:00", "1000.00"),
    ("b", "2024-03-02T10:00:00", "150.00"),
    ("c", "2024-03-03T10:00:00", "10.00"),
]
CUSTOMERS = {
    "a": {"country": "DE"},
    "b": {"country": "FR"},
    "c": {"country": "DE"},
    "d": {"country": "DE"},
}


def project_of(engine: Engine, segmentations: dict[str, Any]) -> Project:
    config = parse_config({"plugins": {"enabled": []}, "segmentations": segmentations})
    plugins = (("spend", SpendPlugin()), ("size", BigSpendersPlugin()))
    return Project(config, extra_plugins=plugins, engine=engine)


def segments_of(project: Project) -> dict[str, dict[str, Any]]:
    result = project.segment(store=False)
    ids = list(result.facts.external_id)
    return {
        outcome.name: dict(zip(ids, outcome.segment_names(), strict=True))
        for outcome in result.outcomes
    }


def problems(engine: Engine, segmentations: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as info:
        project_of(engine, segmentations).plan()
    return list(info.value.lines)


# `offer` comes first in the file but reads `tier`, which reads the plugin segmentation `size`.
READERS: dict[str, Any] = {
    "offer": {
        "default": "none",
        "rules": [
            {"segment": "DE top", "when": ['tier == "Top"', 'country == "DE"']},
            {"segment": "other top", "when": 'tier in ["Top"]'},
            {"segment": "small", "when": 'size != "Big"'},
        ],
    },
    "tier": {
        "default": "Rest",
        "rules": [{"segment": "Top", "when": ['size == "Big"', "revenue >= 500"]}],
    },
}


def test_a_rule_reads_the_segments_of_another_rule_and_of_a_plugin_segmentation(
    engine: Engine, seed: Any
) -> None:
    seed(engine, PURCHASES, CUSTOMERS)
    project = project_of(engine, READERS)
    assert [s.name for s in project.plan().segmenters] == ["size", "tier", "offer"]
    got = segments_of(project)
    # size: a and b spent 100 or more; tier: only a also spent 500; d has no purchases, so
    # BigSpenders puts it in Small (its spend is 0).
    assert got["size"] == {"a": "Big", "b": "Big", "c": "Small", "d": "Small"}
    assert got["tier"] == {"a": "Top", "b": "Rest", "c": "Rest", "d": "Rest"}
    assert got["offer"] == {"a": "DE top", "b": "none", "c": "small", "d": "small"}


def test_a_segment_the_segmentation_does_not_have_is_a_load_error_with_a_hint(
    engine: Engine,
) -> None:
    lines = problems(
        engine,
        {"offer": {"rules": [{"segment": "x", "when": 'size in ["Big", "Smal"]'}]}},
    )
    assert lines == [
        "crm.toml: segmentations.offer.rules[0].when: segmentation 'size' has no segment "
        "'Smal'; did you mean 'Small'? (its segments: 'Big', 'Small')"
    ]


def test_an_unknown_segmentation_is_an_unknown_column_with_a_hint(engine: Engine) -> None:
    (line,) = problems(engine, {"offer": {"rules": [{"segment": "x", "when": 'sise == "Big"'}]}})
    assert line.startswith(
        "crm.toml: segmentations.offer.rules[0].when: unknown column 'sise'; did you mean 'size'?"
    )


def test_a_segmentation_column_holds_text(engine: Engine) -> None:
    (line,) = problems(engine, {"offer": {"rules": [{"segment": "x", "when": "size >= 1"}]}})
    assert "'size' holds text" in line


def test_segmentations_that_read_each_other_are_an_error_naming_the_cycle(
    engine: Engine,
) -> None:
    cycle = {
        "a": {"rules": [{"segment": "A", "when": 'b == "B"'}]},
        "b": {"rules": [{"segment": "B", "when": 'a == "A"'}]},
    }
    assert problems(engine, cycle) == [
        "segmentations 'a' -> 'b' -> 'a' read each other's segments; one of them must read "
        "scores instead"
    ]
    own = {"a": {"default": "A", "rules": [{"segment": "B", "when": 'a == "A"'}]}}
    assert problems(engine, own) == ["segmentations 'a' -> 'a' reads its own segments"]


def test_run_order_keeps_the_given_order_where_nothing_depends() -> None:
    assert run_order(["x", "y", "z"], {"x": ["z"], "y": ["country"]}) == ["z", "x", "y"]
    assert run_order(["x", "y"], {}) == ["x", "y"]
