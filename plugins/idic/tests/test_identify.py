"""Identification on stored customers (SQLite and PostgreSQL): planted duplicates found, merged
and undone; the command line."""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from itertools import combinations
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from crm_idic.identify import Identification, identify
from sqlalchemy import Engine

from crm.cli import cli
from crm.cli.app import App
from crm.core.config import parse_config
from crm.core.database import read_only_connection
from crm.core.demo import write_sample_data
from crm.core.importing import ImportOptions
from crm.core.project import Project

#: What the demo's crm.toml says about its made-up data: national phone numbers by country,
#: and plus-addressing at the example domains.
DEMO_IDENTIFY: dict[str, Any] = {
    "country_regions": {
        "Germany": "DE", "France": "FR", "United Kingdom": "GB", "United States": "US",
        "Netherlands": "NL", "Spain": "ES", "Italy": "IT", "Austria": "AT",
    },
    "email_domains": {d: {"plus_addressing": True} for d in ("example.com", "example.net", "example.org")},
}  # fmt: skip


def _project(engine: Engine, tmp_path: Path) -> Project:
    config = parse_config(
        {
            "database": {"url": f"sqlite:///{tmp_path / 'unused.db'}"},
            "plugins": {"enabled": ["idic"]},
            "idic": {"identify": DEMO_IDENTIFY, "identify_in_runs": False},
        }
    )
    return Project(config, engine=engine)


def _pairs(groups: Any) -> set[tuple[str, str]]:
    return {pair for group in groups for pair in combinations(sorted(group), 2)}


def _merged_pairs(found: Identification) -> set[tuple[str, str]]:
    c, ids = found.clusters, found.records.external_id
    groups: dict[int, set[str]] = defaultdict(set)
    for row in range(len(c)):
        if c.merge[row]:
            groups[int(c.cluster[row])] |= {str(ids[c.survivor[row]]), str(ids[c.member[row]])}
    return _pairs(groups.values())


def _true_pairs(truth_csv: Path) -> set[tuple[str, str]]:
    groups: dict[str, set[str]] = defaultdict(set)
    with truth_csv.open(encoding="utf-8") as f:
        for row in csv.DictReader(f):
            groups[row["same_as"]] |= {row["same_as"], row["customer_id"]}
    return _pairs(groups.values())


def test_planted_duplicates_are_found_at_the_promised_precision_and_recall(
    engine: Engine, tmp_path: Path
) -> None:
    sample = write_sample_data(tmp_path / "data", customers=4_000, seed=11)
    project = _project(engine, tmp_path)
    project.import_customers(sample.customers_csv, ImportOptions())
    with read_only_connection(engine) as connection:
        found = identify(connection, project.tables, project.options["idic"].identify)
    predicted, truth = _merged_pairs(found), _true_pairs(sample.duplicates_csv)
    assert sample.duplicates == 200 and len(truth) == 200
    hits = len(predicted & truth)
    precision, recall = hits / len(predicted), hits / len(truth)
    print(f"\nautomatic merges on {sample.customers} customers: precision {precision:.4f}, "
          f"recall {recall:.4f} ({hits} of {len(truth)} planted pairs, {len(predicted)} merged)")  # fmt: skip
    assert precision >= 0.98
    assert recall >= 0.90


CUSTOMERS = """customer_id,name,email,phone,country,city,birth_date,created_at
A1,Anna Weber,anna.weber@example.com,+49 30 1234567,Germany,Berlin,1980-05-17,2024-01-01T00:00:00
A2,WEBER Anna,Anna.Weber+shop@example.com,030 1234567,Germany,Berlin,,2025-01-01T00:00:00
H1,Paul Weber,paul.weber@example.org,+49 30 1234567,Germany,Berlin,1978-02-02,2024-06-01T00:00:00
N1,Lukas Brandt,lukas.brandt@example.net,+49 40 7654321,Germany,Hamburg,1990-09-09,2024-02-01T00:00:00
"""


#: Four customers teach EM nothing: these m and u stand in for a model fitted on a large file.
MODEL = """
[idic.identify.fields.email]
m = {different = 0.02, similar = 0.18, same = 0.8}
u = {different = 0.998, similar = 0.0019, same = 0.0001}
[idic.identify.fields.phone]
m = {different = 0.05, same_tail = 0.15, same = 0.8}
u = {different = 0.999, same_tail = 0.0009, same = 0.0001}
[idic.identify.fields.name]
m = {different = 0.01, initials = 0.09, similar = 0.2, same = 0.7}
u = {different = 0.98, initials = 0.01, similar = 0.005, same = 0.005}
[idic.identify.fields.birth_date]
m = {different = 0.05, one_part = 0.15, same = 0.8}
u = {different = 0.99, one_part = 0.009, same = 0.001}
[idic.identify.fields.city]
m = {different = 0.05, similar = 0.05, same = 0.9}
u = {different = 0.9, similar = 0.05, same = 0.05}
"""


def _small_project(tmp_path: Path) -> tuple[Path, Project]:
    """Four customers: A2 is A1 written differently; H1 shares A1's phone and home (not A1)."""
    config = tmp_path / "crm.toml"
    config.write_text(
        f'[database]\nurl = "sqlite:///{tmp_path / "crm.db"}"\n[plugins]\nenabled = ["idic"]\n'
        '[idic.identify]\ndefault_region = "DE"\nrandom_pairs = 1000\n'
        '[idic.identify.email_domains."example.com"]\nplus_addressing = true\n' + MODEL
    )
    customers = tmp_path / "customers.csv"
    customers.write_text(CUSTOMERS)
    project = Project.open(config)
    project.import_customers(customers, ImportOptions())
    return config, project


def test_cli_identify_lists_evidence_merges_and_the_merge_undoes(tmp_path: Path) -> None:
    config, project = _small_project(tmp_path)
    project.close()
    runner = CliRunner()

    def run(*args: str) -> Any:
        return runner.invoke(cli, list(args), obj=App(config_path=config))

    listed = run("identify", "--format", "json")
    assert listed.exit_code == 0, listed.output
    rows = json.loads(listed.stdout)
    by_member = {row["customer_id"]: row for row in rows}
    a2 = by_member["A2"]
    assert (a2["survivor"], a2["decision"]) == ("A1", "merge")
    assert (a2["email"], a2["phone"], a2["name"], a2["birth_date"]) == (
        "same", "same", "same", "missing"
    )  # fmt: skip
    # log2(m/u) by hand: email 12.97 + phone 12.97 + name 7.13 + city 4.17, birth date missing
    assert a2["email_weight"] == pytest.approx(12.97, abs=0.01)
    assert a2["name_weight"] == pytest.approx(7.13, abs=0.01)
    assert a2["birth_date_weight"] == 0.0 and a2["weight"] >= 8.0
    # H1 shares the phone and the city, but its name differs: never an automatic merge
    assert by_member.get("H1", {"decision": "review"})["decision"] == "review"
    assert "N1" not in by_member
    table = run("identify")
    assert "email same" in table.stdout and "A2" in table.stdout

    merged = run("identify", "--merge")
    assert merged.exit_code == 0, merged.output
    assert "merged 1 cluster(s): 1 customer(s)" in merged.stderr
    after = json.loads(run("identify", "--format", "json").stdout)
    assert all("A2" not in (row["customer_id"], row["survivor"]) for row in after)
    assert all(row["decision"] == "review" for row in after)  # H1 at most, never merged
    undone = run("customers", "unmerge", "A2")
    assert undone.exit_code == 0, undone.output
    assert json.loads(run("identify", "--format", "json").stdout) == rows
    assert run("identify", "--min-weight", "3").exit_code == 2  # needs --merge
