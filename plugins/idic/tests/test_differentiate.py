"""Differentiate, interact, customize and the IDIC view on small hand-made data."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from crm_idic.customize import action_list, idic_tables, missing_steps
from crm_idic.differentiate import abc_classes, abcd, key_accounts, pareto_share, percentile_rank
from sqlalchemy import Engine, insert, select

from crm.core.config import parse_config
from crm.core.database import read_only_connection
from crm.core.project import Project
from crm.core.schema import CustomerRow, InteractionRow


def test_abc_classes_by_cumulative_share() -> None:
    # total 100: 50 (before it 0) A, 30 (50%) A, 10 (80%: not below) B, 5 (90%) B, 5 (95%) C
    value = np.array([5.0, 50.0, 0.0, 10.0, 30.0, 5.0])
    assert abc_classes(value, (0.8, 0.15, 0.05)).tolist() == [2, 1, 3, 2, 1, 3]


def test_pareto_share_and_key_accounts() -> None:
    value = np.array([40.0, 20, 10, 10, 5, 5, 4, 3, 2, 1])
    assert pareto_share(value, 0.2) == pytest.approx(0.6)  # top 2 of 10 bring 60 of 100
    assert key_accounts(value, 2, 10.0).tolist() == [True] * 4 + [False] * 6


def test_percentile_rank_counts_half_the_ties_and_abcd_cells() -> None:
    assert percentile_rank(np.array([1.0, 2, 2, 3, np.nan]))[:4].tolist() == [
        0.125,
        0.5,
        0.5,
        0.875,
    ]
    cells = abcd(np.array([1, 2, 3, 3]), np.array([0.9, 0.1, 0.7, np.nan]), 0.5)
    assert cells.tolist() == [1, 2, 3, 4]


AS_OF = datetime(2025, 7, 1)


def _seed(engine: Engine) -> None:
    customers = [
        ("V", "Vera", "vera@example.com", True, None),  # big spender, e-mail consent
        ("W", "Walt", "walt@example.com", False, True),  # no e-mail consent, sms yes
        ("X", "Xena", None, None, None),  # never asked
    ]
    with engine.begin() as conn:
        conn.execute(
            insert(CustomerRow),
            [
                {"external_id": e, "name": n, "email": m, "consent_email": ce, "consent_sms": cs,
                 "created_at": datetime(2024, 1, 1)}
                for e, n, m, ce, cs in customers
            ],
        )  # fmt: skip
        ids = dict(conn.execute(select(CustomerRow.external_id, CustomerRow.id)).all())
        events = [
            ("V", "purchase", datetime(2025, 6, 27, 12), 90_000),  # 3.5 days before
            ("V", "complaint", datetime(2025, 3, 28, 12), None),  # 94.5 days before
            ("W", "purchase", datetime(2025, 6, 27, 12), 10_000),
            ("X", "visit", datetime(2024, 6, 27, 12), None),  # over a year ago
        ]
        conn.execute(
            insert(InteractionRow),
            [
                {"customer_id": ids[who], "kind": kind, "occurred_at": when,
                 "amount_minor": amount, "source_key": f"t{n}"}
                for n, (who, kind, when, amount) in enumerate(events)
            ],
        )  # fmt: skip


RULES: dict[str, Any] = {
    "default": {"action": "Newsletter", "channel": "email"},
    "rules": [
        {"action": "Thank you", "channel": "email", "priority": 10, "when": ["idic.abc == 1"]},
        {"action": "Text offer", "channel": "sms", "priority": 20, "when": ["revenue >= 100"]},
    ],
}


def _project(engine: Engine, tmp_path: Path, **idic: Any) -> Project:
    config = parse_config(
        {
            "database": {"url": f"sqlite:///{tmp_path / 'unused.db'}"},
            "plugins": {"enabled": ["idic"]},
            "idic": {"identify_in_runs": False, "actions": RULES, **idic},
        }
    )
    project = Project(config, engine=engine)
    project.config = config
    return project


def test_engagement_actions_consent_and_the_idic_view(
    engine: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _seed(engine)
    project = _project(engine, tmp_path)
    result = project.segment(store=False, as_of=AS_OF.date())
    assert "clv plugin is not enabled" in capsys.readouterr().err
    scores = result.scores
    ids = result.facts.external_id.tolist()
    assert ids == ["V", "W", "X"]
    # purchase 3 x 0.5^(3.5/90); complaint -2 x 0.5^(94.5/90); a visit 1 x 0.5^(367.5/90)
    expected_v = 3 * 0.5 ** (3.5 / 90) - 2 * 0.5 ** (94.5 / 90)
    assert scores["idic.engagement"].tolist() == pytest.approx(
        [expected_v, 3 * 0.5 ** (3.5 / 90), 0.5 ** (367.5 / 90)]
    )
    assert scores["idic.value"].tolist() == [900.0, 100.0, 0.0]
    assert scores["idic.abc"].tolist() == [1.0, 2.0, 3.0]  # 900 of 1000 is A; W crosses 0.9
    with read_only_connection(engine) as connection:
        found = action_list(result, connection, project.tables, project.options["idic"])
        missing = missing_steps(result, connection, project.tables, project.options["idic"])
    rows = {row[0]: row for row in found.table.rows}
    # V: "Text offer" (priority 20) beats "Thank you"; V never said yes to sms: left out.
    # W: revenue 100 -> Text offer by sms, consent yes. X: default newsletter, never asked.
    assert set(rows) == {"W"}
    assert rows["W"][4:6] == ("sms", "Text offer")
    assert found.without_consent == {"sms": 1, "email": 1}
    aggregate, per_customer = idic_tables(result, missing)
    assert {row[0]: row[1] for row in aggregate.rows} == {
        "identify": "not run", "differentiate": 0, "interact": 1, "customize": 1,
    }  # fmt: skip
    assert per_customer.rows[2][-1] == "interact customize"  # X: old visit, default action


def test_unreachable_action_rule_fails_at_load_time(engine: Engine, tmp_path: Path) -> None:
    from crm import ConfigError

    rules = {
        "rules": [
            {"action": "A", "channel": "email", "priority": 2, "when": ["revenue >= 10"]},
            {"action": "B", "channel": "email", "priority": 1, "when": ["revenue >= 10"]},
        ]
    }
    project = _project(engine, tmp_path, actions=rules)
    with pytest.raises(ConfigError, match="can never match"):
        project.plan()


def test_clv_measure_without_the_clv_plugin_is_a_config_error(
    engine: Engine, tmp_path: Path
) -> None:
    from crm import ConfigError

    project = _project(engine, tmp_path, value={"measure": "clv"})
    with pytest.raises(ConfigError, match=r"idic\.value\.measure: 'clv' needs the clv plugin"):
        project.registry  # noqa: B018


def test_report_sections_show_tiers_with_value_shares(engine: Engine, tmp_path: Path) -> None:
    from crm_idic.report import matrix_section, value_section

    _seed(engine)
    project = _project(engine, tmp_path)
    run = project.segment(store=False, as_of=AS_OF.date())
    value = value_section(run, project.options["idic"])
    text, curve, table = value.blocks
    assert table.rows == (("A", 1, 0.3333, 900.0, 0.9), ("B", 1, 0.3333, 100.0, 0.1),
                          ("C", 1, 0.3333, 0.0, 0.0))  # fmt: skip
    assert "top 20% of customers bring 90.0% of the value" in text.text  # 1 of 3 customers
    assert curve.series[0].values[-1] == 100.0
    cells = {row[0]: row[2] for row in matrix_section(run).blocks[1].rows}
    assert sum(cells.values()) == 3


def test_cli_actions_mask_contact_fields_unless_unmask_which_is_audited(tmp_path: Path) -> None:
    import json

    import tomli_w
    from click.testing import CliRunner

    from crm.cli import cli
    from crm.cli.app import App
    from crm.core.audit import entries
    from crm.core.database import ensure_schema, make_engine

    config = tmp_path / "crm.toml"
    config.write_text(
        tomli_w.dumps(
            {
                "database": {"url": f"sqlite:///{tmp_path / 'crm.db'}"},
                "plugins": {"enabled": ["idic"]},
                "idic": {"identify_in_runs": False, "actions": RULES},
            }
        )
    )
    engine = make_engine(f"sqlite:///{tmp_path / 'crm.db'}")
    ensure_schema(engine)
    _seed(engine)

    def run(*args: str) -> Any:
        return CliRunner().invoke(cli, list(args), obj=App(config_path=config))

    masked = run("actions", "--format", "json")
    assert masked.exit_code == 0, masked.output
    assert "1 customer(s) left out: no consent for email" in masked.stderr
    (row,) = json.loads(masked.stdout)
    assert (row["customer_id"], row["name"], row["email"]) == ("W", "W***", "w***@example.com")
    plain = json.loads(run("actions", "--unmask", "--format", "json").stdout)
    assert plain[0]["email"] == "walt@example.com"
    with engine.connect() as conn:
        assert [e.counts for e in entries(conn, action="unmasked export")] == [{"customers": 1}]
    assert json.loads(run("actions", "--channel", "email", "--format", "json").stdout) == []
    summary = json.loads(run("idic", "--format", "json").stdout)
    assert [s["step"] for s in summary] == ["identify", "differentiate", "interact", "customize"]
