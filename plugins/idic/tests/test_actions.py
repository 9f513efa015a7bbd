"""Next-best-action rules read any score and any segmentation's segments, with the load-time
checks of crm.toml's rule segmentations, on small hand-made data (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, insert, select

from crm import ConfigError
from crm.core.config import parse_config
from crm.core.project import Project
from crm.core.schema import CustomerRow, InteractionRow

AS_OF = datetime(2025, 7, 1)
# Revenue: V 900.00, W 100.00, X nothing. ABC classes by value: V A, W B, X C.
SPEND = {"V": 90_000, "W": 10_000, "X": None}
BIG = {"default": "Small", "rules": [{"segment": "Big", "when": "revenue >= 500"}]}


def _seed(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(
            insert(CustomerRow),
            [{"external_id": e, "created_at": datetime(2024, 1, 1)} for e in SPEND],
        )
        ids = dict(conn.execute(select(CustomerRow.external_id, CustomerRow.id)).all())
        conn.execute(
            insert(InteractionRow),
            [
                {"customer_id": ids[who], "kind": "purchase", "occurred_at": datetime(2025, 6, 1),
                 "amount_minor": amount, "source_key": f"t{who}"}
                for who, amount in SPEND.items() if amount is not None
            ],
        )  # fmt: skip


def _project(engine: Engine, tmp_path: Path, rules: list[dict[str, Any]]) -> Project:
    config = parse_config(
        {
            "database": {"url": f"sqlite:///{tmp_path / 'unused.db'}"},
            "plugins": {"enabled": ["idic"]},
            "segmentations": {"big": BIG},
            "idic": {
                "identify_in_runs": False,
                "actions": {
                    "default": {"action": "Newsletter", "channel": "email"},
                    "rules": rules,
                },
            },
        }
    )
    return Project(config, engine=engine)


def _plan_problems(engine: Engine, tmp_path: Path, rules: list[dict[str, Any]]) -> list[str]:
    with pytest.raises(ConfigError) as info:
        _project(engine, tmp_path, rules).plan()
    return list(info.value.lines)


def test_actions_read_a_rule_segmentation_and_a_plugin_segmentation(
    engine: Engine, tmp_path: Path
) -> None:
    _seed(engine)
    rules = [
        {"action": "Call", "channel": "phone", "priority": 30, "when": 'big == "Big"'},
        {"action": "Text", "channel": "sms", "priority": 20,
         "when": ['idic_abcd in ["A", "B"]', "revenue >= 50"]},
    ]  # fmt: skip
    project = _project(engine, tmp_path, rules)
    order = [s.name for s in project.plan().segmenters]
    assert order.index("idic_action") > order.index("big")  # registered before it, runs after
    assert order.index("idic_action") > order.index("idic_abcd")
    result = project.segment(store=False, as_of=AS_OF.date())
    (action,) = [o for o in result.outcomes if o.name == "idic_action"]
    # V is Big (900): Call, though it also matches Text. W (100, class B: ABCD A or B) gets
    # Text. X (class C, nothing spent) matches neither: the default.
    assert dict(zip(result.facts.external_id, action.segment_names(), strict=True)) == {
        "V": "Call [phone]",
        "W": "Text [sms]",
        "X": "Newsletter [email]",
    }


def test_an_unknown_segment_or_score_in_an_action_rule_names_its_key_path(
    engine: Engine, tmp_path: Path
) -> None:
    rules = [
        {"action": "Low", "channel": "email", "priority": 1, "when": "idic.valeu >= 1"},
        {"action": "High", "channel": "email", "priority": 9, "when": ['big == "Bgi"']},
    ]
    first, second = _plan_problems(engine, tmp_path, rules)
    # In the file's order, not in priority order (High is checked first).
    assert second.startswith(
        "crm.toml: idic.actions.rules[0].when: unknown column 'idic.valeu'; "
        "did you mean 'idic.value'?"
    )
    assert first == (
        "crm.toml: idic.actions.rules[1].when: segmentation 'big' has no segment 'Bgi'; "
        "did you mean 'Big'? (its segments: 'Big', 'Small')"
    )


def test_an_unreachable_action_rule_names_both_rules_as_written(
    engine: Engine, tmp_path: Path
) -> None:
    rules = [
        {
            "action": "A",
            "channel": "email",
            "priority": 1,
            "when": ['big == "Big"', "revenue >= 9"],
        },
        {"action": "B", "channel": "email", "priority": 2, "when": 'big == "Big"'},
    ]
    (line,) = _plan_problems(engine, tmp_path, rules)
    assert line == (
        "crm.toml: idic.actions.rules[0]: the rule for 'A [email]' can never match: rules[1] "
        "(segment 'B [email]') comes first and matches every customer it would match"
    )


def test_a_when_that_is_neither_a_string_nor_a_list_of_strings_is_an_option_error(
    engine: Engine, tmp_path: Path
) -> None:
    rules = [{"action": "A", "channel": "email", "priority": 1, "when": 5}]
    with pytest.raises(ConfigError, match=r"idic\.actions\.rules\[0\]\.when: .*string"):
        _project(engine, tmp_path, rules).options  # noqa: B018
