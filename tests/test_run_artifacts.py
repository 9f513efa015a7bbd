"""Run artifacts: attached through the scoring context, stored with the run, read back."""

from __future__ import annotations

import types
from typing import Any

import pytest
from sqlalchemy import Engine

from crm import Metric, ScorerSpec, hookimpl
from crm.core.config import parse_config
from crm.core.errors import PluginError
from crm.core.project import Project
from tests.test_docs import doc_sections, python_blocks


def docs_example() -> Any:
    """The scorer under "Run artifacts" in docs/plugins.md, as written there."""
    module = types.ModuleType("docs_artifact_example")
    exec(compile(python_blocks(doc_sections()["Run artifacts"])[0], "docs", "exec"), vars(module))
    return module.SpendQuantiles


def plugin_of(scorer: Any) -> Any:
    class Plugin:
        @hookimpl
        def register_scorers(self, register: Any) -> None:
            register(
                ScorerSpec(name="spend", factory=lambda _o: scorer(), metrics=(Metric("quartile"),))
            )

    return Plugin()


PURCHASES = [
    ("a", "2024-03-01T10:00:00", "1.00"),
    ("b", "2024-03-01T10:00:00", "2.00"),
    ("c", "2024-03-01T10:00:00", "3.00"),
    ("d", "2024-03-01T10:00:00", "4.00"),
    ("e", "2024-03-01T10:00:00", "5.00"),
]


def test_the_documented_artifact_is_stored_with_the_run_and_loaded_back(
    engine: Engine, seed: Any
) -> None:
    seed(engine, PURCHASES)
    project = Project(
        parse_config({}), extra_plugins=(("spend", plugin_of(docs_example())),), engine=engine
    )
    fresh = project.segment()
    # Quartiles of 100, 200, 300, 400, 500 cents (linear interpolation): 200, 300, 400.
    expected = {"quartiles_minor": [200.0, 300.0, 400.0], "customers": 5}
    assert fresh.artifacts == {"spend.cuts": expected}
    assert fresh.run_id is not None
    assert project.load_run(fresh.run_id).artifacts == {"spend.cuts": expected}
    assert project.load_run().scores["spend.quartile"].tolist() == [1.0, 2.0, 3.0, 4.0, 4.0]
    assert project.run_details(fresh.run_id).artifacts == {"spend.cuts": expected}


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("Bad Name", {}, r"artifact name 'Bad Name' must match"),
        ("card", {"when": object()}, r"artifact 'spend.card' is not JSON"),
        ("card", [float("inf")], r"artifact 'spend.card' is not JSON"),
    ],
)
def test_a_bad_artifact_is_the_plugins_error(
    tmp_path: Any, seed: Any, name: str, data: Any, message: str
) -> None:
    class Attaching:
        def score(self, context: Any) -> Any:
            context.attach_artifact(name, data)
            return {"quartile": context.facts.revenue_minor * 0.0}

    config = parse_config({"database": {"url": f"sqlite:///{tmp_path / 'crm.db'}"}})
    project = Project(config, extra_plugins=(("spend", plugin_of(Attaching)),))
    seed(project.engine, PURCHASES[:1])
    with pytest.raises(PluginError, match=message) as raised:
        project.segment()
    assert raised.value.plugin == "spend"
    assert project.runs() == []
    project.close()


def test_an_artifact_attached_twice_is_an_error(tmp_path: Any, seed: Any) -> None:
    class Twice:
        def score(self, context: Any) -> Any:
            context.attach_artifact("card", 1)
            context.attach_artifact("card", 2)
            return {"quartile": context.facts.revenue_minor * 0.0}

    config = parse_config({"database": {"url": f"sqlite:///{tmp_path / 'crm.db'}"}})
    project = Project(config, extra_plugins=(("spend", plugin_of(Twice)),))
    seed(project.engine, PURCHASES[:1])
    with pytest.raises(PluginError, match=r"artifact 'spend\.card' is attached twice"):
        project.segment()
    project.close()
