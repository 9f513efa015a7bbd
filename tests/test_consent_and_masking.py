"""Consent per purpose (rule columns, profiling opt-out, campaign lists) and masking."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine

from crm.cli import cli
from crm.cli.app import App
from crm.cli.segment_command import run_line
from crm.core.config import parse_config
from crm.core.errors import ConfigError
from crm.core.facts import Facts
from crm.core.importing import ImportOptions
from crm.core.privacy.masking import Masker, PrivacyConfig
from tests.privacy_helpers import ERASED, load_people, make_project


def test_profiling_refusal_keeps_a_customer_out_of_scoring_and_runs(
    engine: Engine, tmp_path: Path
) -> None:
    project = make_project(engine, tmp_path)
    load_people(project, tmp_path)
    result = project.segment()
    # AB-3 said no to profiling; AB-1 was never asked (NULL), which does not exclude.
    assert sorted(result.facts.external_id.tolist()) == ["AB-1", "AB-2", ERASED["id"]]
    with engine.connect() as conn:
        facts = Facts.load(conn, project.tables, result.as_of)
        # Counts stay aligned with the customers left in the facts.
        assert facts.kind_counts()["purchase"].tolist() == [3, 1, 1]
    stored = project.load_run(result.run_id).facts.external_id.tolist()
    assert sorted(stored) == ["AB-1", "AB-2", ERASED["id"]]
    # Nobody is dropped silently: the run counts who was left out, and the CLI says so.
    assert result.refused_profiling == 1
    assert run_line(result).endswith("\n1 customer(s) left out: no consent to profiling")


def test_consent_flags_are_rule_columns(engine: Engine, tmp_path: Path) -> None:
    project = make_project(engine, tmp_path)
    load_people(project, tmp_path)
    result = project.segment(store=False)
    (mail,) = [o for o in result.outcomes if o.name == "mail"]
    by_id = dict(zip(result.facts.external_id.tolist(), mail.segment_names().tolist(), strict=True))
    assert by_id == {ERASED["id"]: "Mailable", "AB-1": "Mailable", "AB-2": "Not mailable"}


def test_a_channel_list_leaves_out_customers_without_consent(
    engine: Engine, tmp_path: Path
) -> None:
    project = make_project(engine, tmp_path)
    load_people(project, tmp_path)
    result = project.segment(store=False)
    sms = project.campaign_list(result, channel="sms")
    assert [row[0] for row in sms.table.rows] == [ERASED["id"], "AB-2"]
    assert sms.left_out == 1  # AB-1 (no sms consent); AB-3 was never scored
    email = project.campaign_list(result, {"mail": ["Mailable"]}, channel="email")
    assert sorted(row[0] for row in email.table.rows) == ["AB-1", ERASED["id"]]
    assert email.left_out == 0


def test_contact_details_are_masked_and_consent_applied(engine: Engine, tmp_path: Path) -> None:
    project = make_project(engine, tmp_path)
    load_people(project, tmp_path)
    result = project.segment(store=False)
    masked = project.campaign_list(result, with_contact=True)
    assert masked.table.columns[-3:] == ("name", "email", "phone")
    rows = {row[0]: row[-3:] for row in masked.table.rows}
    assert rows["AB-1"] == ("A*** L***", "a***@example.com", None)  # no phone or sms consent
    assert rows["AB-2"] == ("B*** R***", None, "***99")  # sms yes, email no
    assert project.audit_log(action="unmasked export") == []
    plain = project.campaign_list(result, channel="email", with_contact=True, unmask=True)
    assert {row[0]: row[-3:] for row in plain.table.rows}["AB-1"] == (
        "Ann Lee",
        "ann@example.com",
        None,
    )
    (entry,) = project.audit_log(action="unmasked export")
    assert entry.counts == {"customers": 2}


def test_the_profile_masks_personal_fields(engine: Engine, tmp_path: Path) -> None:
    project = make_project(engine, tmp_path, privacy={"fields": {"city": "drop"}})
    load_people(project, tmp_path)
    shown = project.customer_profile("AB-1").to_dict()["attributes"]
    assert shown["name"] == "A*** L***"
    assert shown["email"] == "a***@example.com"
    assert shown["phone"] == "***00"
    assert shown["birth_date"] == "1990"
    assert "city" not in shown
    assert project.customer_profile("AB-1", unmask=True).customer.email == "ann@example.com"


def test_the_hash_rule_is_keyed_and_stable() -> None:
    masker = Masker(PrivacyConfig(mask="hash"), secret=b"k" * 32)
    first = masker.mask("email", "ann@example.com")
    assert first == masker.mask("email", "ann@example.com")
    assert first != Masker(PrivacyConfig(mask="hash"), secret=b"j" * 32).mask(
        "email", "ann@example.com"
    )
    assert first.startswith("h:") and len(first) == 14 and "ann" not in first
    assert masker.mask("country", "UK") == "UK"  # not a personal field


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"mask": "blur"}, "privacy.mask: expected one of partial, hash, drop, got 'blur'"),
        ({"fields": {"shoe": "drop"}}, "privacy.fields: shoe: not a personal field"),
        ({"fields": {"email": "x"}}, "privacy.fields: email: expected one of partial"),
        ({"masks": "drop"}, "privacy: unknown key 'masks'"),
    ],
)
def test_bad_masking_rules_name_their_key_path(table: dict, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config({"privacy": table})
    assert message in str(caught.value)


def test_clear_empty_sets_stored_values_to_empty(engine: Engine, tmp_path: Path) -> None:
    project = make_project(engine, tmp_path)
    load_people(project, tmp_path)
    fix = tmp_path / "fix.csv"
    fix.write_text("customer_id,email,phone\nAB-1,,+1 555 0101\n", encoding="utf-8")
    kept = project.import_customers(fix, ImportOptions())
    cleared = project.import_customers(fix, ImportOptions(clear_empty=True))
    assert (kept.rows_updated, cleared.rows_updated) == (1, 1)
    customer = project.customer_profile("AB-1", unmask=True).customer
    assert (customer.email, customer.phone, customer.name) == (None, "+1 555 0101", "Ann Lee")


def test_the_cli_says_how_many_were_left_out(tmp_path: Path) -> None:
    (tmp_path / "crm.toml").write_text('[database]\nurl = "sqlite:///crm.db"\n', encoding="utf-8")
    app = App(config_path=tmp_path / "crm.toml")
    load_people(app.project, tmp_path)
    result = CliRunner().invoke(
        cli,
        ["segment", "--customers", "--channel", "sms", "--with-contact", "-f", "json"],
        obj=app,
    )
    assert result.exit_code == 0, result.output
    assert "1 customer(s) left out: no consent for sms" in result.stderr
    rows = json.loads(result.stdout)
    assert [(r["customer_id"], r["phone"]) for r in rows] == [
        (ERASED["id"], "***23"),
        ("AB-2", "***99"),
    ]
