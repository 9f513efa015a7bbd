"""crm-aidas is an installed plugin of the `crm` entry-point group; its commands print data on
stdout in every format; its options fail with the key path; its report sections are there."""

from __future__ import annotations

import importlib.metadata
import json
import subprocess
import sys
import types
from pathlib import Path

import crm_aidas
import pluggy
import pytest
from click.testing import CliRunner
from crm_aidas.options import AidasOptions, shipped_sets

from crm import ConfigError
from crm.cli import cli
from crm.core import hooks
from crm.core.config import parse_config
from crm.core.database import ensure_schema, make_engine


def test_entry_point_names_the_package() -> None:
    found = [ep for ep in importlib.metadata.entry_points(group="crm") if ep.name == "aidas"]
    assert [(ep.value, ep.dist.name if ep.dist else None) for ep in found] == [
        ("crm_aidas", "crm-aidas")
    ]


def test_hook_implementations_match_the_crm_hook_specs() -> None:
    pm = pluggy.PluginManager(hooks.PROJECT_NAME)
    pm.add_hookspecs(hooks)
    pm.register(crm_aidas, "aidas")
    pm.check_pending()
    implemented = {caller.name for caller in pm.get_hookcallers(crm_aidas) or ()}
    assert implemented == {
        "register_stage_models", "register_scorers", "register_reports", "register_commands",
    }  # fmt: skip


def test_importing_the_plugin_imports_neither_numpy_nor_sqlalchemy() -> None:
    code = "import sys, crm_aidas; print('numpy' in sys.modules, 'sqlalchemy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False False"


def test_the_shipped_stage_sets() -> None:
    assert {name: s.names for name, s in shipped_sets().items()} == {
        "aidas": ("attention", "interest", "desire", "action", "satisfaction"),
        "aida": ("attention", "interest", "desire", "action"),
        "aidma": ("attention", "interest", "desire", "memory", "action"),
        "aisas": ("attention", "interest", "search", "action", "share"),
        "lifecycle": ("identify", "acquire", "retain", "grow"),
    }


def test_bad_options_name_their_key_path() -> None:
    table = {
        "stages": "nope",
        "attribution": "middle",
        "sets": {"mine": {"stages": [{"name": "a", "kinds": ["visit"]},
                                     {"name": "b", "repeat": {"of": "c"}}]}},
    }  # fmt: skip
    with pytest.raises(ConfigError) as caught:
        _structure(table)
    message = str(caught.value)
    assert "aidas.stages: no stage set 'nope'" in message
    assert "aidas.attribution: 'middle' is not one of last, first, linear" in message
    assert (
        "aidas.sets.mine.stages[1].repeat.of: 'c' is not an earlier stage (earlier: a)" in message
    )


def _structure(table: dict) -> AidasOptions:
    from crm.core.config import structure_options

    return structure_options(parse_config({"aidas": table}), "aidas", AidasOptions)


CONFIG = """
[database]
url = "sqlite:///crm.db"

[plugins]
enabled = ["aidas"]
"""


def test_commands_print_data_in_every_format(
    tmp_path: Path, logs: types.SimpleNamespace, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "crm.toml").write_text(CONFIG)
    engine = make_engine(f"sqlite:///{tmp_path / 'crm.db'}")
    ensure_schema(engine)
    logs.write_log(
        engine,
        [
            {"customer": "a", "kind": "campaign_touch", "day": 0, "campaign": "X"},
            {"customer": "a", "kind": "purchase", "day": 2, "amount": 500},
            {"customer": "b", "kind": "visit", "day": 1, "channel": "web"},
        ],
        campaigns=[{"id": "X", "name": "X", "starts_on": logs.day(0), "cost_minor": 100}],
    )
    engine.dispose()
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    done = runner.invoke(cli, ["journey", "--as-of", "2024-02-01", "-f", "json"])
    assert done.exit_code == 0, done.output
    rows = json.loads(done.stdout)
    assert [(r["stage"], r["reached"]) for r in rows] == [
        ("attention", 2), ("interest", 2), ("desire", 1), ("action", 1), ("satisfaction", 0),
    ]  # fmt: skip
    done = runner.invoke(cli, ["campaigns", "--as-of", "2024-02-01", "-f", "csv"])
    assert done.exit_code == 0, done.output
    # reach 1, no response, 1 conversion, revenue 5.00, cost 1.00: ROI (5 - 1) / 1 = 4
    assert done.stdout.splitlines()[1] == "X,,2024-01-01,1,0,0,1,5,1,4,1,"
    done = runner.invoke(cli, ["journey", "--by", "channel", "--as-of", "2024-02-01"])
    assert done.exit_code == 0 and "web" in done.stdout


def test_the_journey_report_has_its_sections_in_the_html_document(
    tmp_path: Path, logs: types.SimpleNamespace, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "crm.toml").write_text(CONFIG.replace('["aidas"]', '["aidas", "rfm"]'))
    engine = make_engine(f"sqlite:///{tmp_path / 'crm.db'}")
    ensure_schema(engine)
    logs.write_log(
        engine,
        [
            {"customer": "a", "kind": "campaign_touch", "day": 0, "campaign": "X"},
            {"customer": "a", "kind": "purchase", "day": 2, "amount": 500},
            {"customer": "b", "kind": "visit", "day": 1, "channel": "web"},
        ],
        campaigns=[{"id": "X", "name": "X", "starts_on": logs.day(0), "cost_minor": 100}],
    )
    engine.dispose()
    monkeypatch.chdir(tmp_path)
    done = CliRunner().invoke(cli, ["report", "journey", "--as-of", "2024-02-01", "-f", "json"])
    assert done.exit_code == 0, done.output
    tables = json.loads(done.stdout)
    campaign = next(rows for rows in tables.values() if rows and "roi" in rows[0])
    assert (campaign[0]["campaign"], campaign[0]["roi"]) == ("X", 4.0)
    out = tmp_path / "report.html"
    done = CliRunner().invoke(
        cli, ["report", "--as-of", "2024-02-01", "-f", "html", "-o", str(out)]
    )
    assert done.exit_code == 0, done.output
    html = out.read_text()
    for title in ("Journey stages", "Paths to action", "4C view", "Campaign ROI"):
        assert title in html
