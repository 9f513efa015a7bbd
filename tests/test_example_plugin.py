"""The example in-house plugin (examples/crm-churn-risk), installed for real.

The package is built and installed with pip into a temporary folder, and `crm` runs in a
subprocess with that folder on PYTHONPATH: the plugin is found through its entry point in the
`crm` group by importlib.metadata, exactly as a company's plugin installed from its own index.

Hand-computed expectations, analysis date 2024-02-20 (whole UTC days):

    A  purchases 2024-01-01, 01-11, 01-21: mean gap 20 / 2 = 10 days; 30 days since the last
       purchase: overdue 30 / 10 = 3.0 >= 2.0                         -> Churn risk
    B  purchases 2024-01-01, 02-10: mean gap 40 days; 10 days since: 10 / 40 = 0.25 -> Stable
    C  one purchase (no gap: overdue empty), two complaints >= 2      -> Churn risk
    D  one complaint, no purchase                                     -> no churn segment
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "crm-churn-risk"
AS_OF = "2024-02-20"

PURCHASES = """\
customer_id,occurred_at,amount
A,2024-01-01T10:00:00Z,10.00
A,2024-01-11T09:30:00Z,12.50
A,2024-01-21T15:45:00Z,8.00
B,2024-01-01T10:00:00Z,40.00
B,2024-02-10T10:00:00Z,35.00
C,2024-02-01T10:00:00Z,20.00
"""

COMPLAINTS = """\
customer_id,occurred_at
C,2024-02-05T10:00:00Z
C,2024-02-06T10:00:00Z
D,2024-02-07T10:00:00Z
"""


def crm_command() -> list[str]:
    """The `crm` console script of the running environment (what users type)."""
    script = Path(sys.executable).parent / "crm"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from crm.cli import main; main()"]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """examples/crm-churn-risk built with hatchling and installed into a folder of its own."""
    target = tmp_path_factory.mktemp("site-packages")
    installed = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "--disable-pip-version-check",
            "--quiet",
            "--target",
            str(target),
            str(EXAMPLE),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert installed.returncode == 0, installed.stderr
    assert (target / "crm_churn_risk" / "__init__.py").exists()
    return target


def run_crm(site: Path, project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # No CRM_* variable of the calling shell may redirect the config, database or plugins.
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRM_")}
    env["PYTHONPATH"] = str(site)
    return subprocess.run(
        [*crm_command(), *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def write_config(project: Path, database: Path, enabled: list[str], churn: str = "") -> None:
    (project / "crm.toml").write_text(
        f'[database]\nurl = "sqlite:///{database}"\n\n'
        f"[plugins]\nenabled = {json.dumps(enabled)}\n"
        + (f"\n[churn]\n{churn}\n" if churn else ""),
        encoding="utf-8",
    )


@pytest.fixture(scope="module")
def database(site: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite database with the hand-made purchases and complaints, imported by `crm import`."""
    project = tmp_path_factory.mktemp("import")
    database = project / "crm.db"
    write_config(project, database, ["rfm"])
    (project / "purchases.csv").write_text(PURCHASES, encoding="utf-8")
    (project / "complaints.csv").write_text(COMPLAINTS, encoding="utf-8")
    for args in (
        ("import", "interactions", "purchases.csv"),
        ("import", "interactions", "complaints.csv", "--kind", "complaint"),
    ):
        imported = run_crm(site, project, *args)
        assert imported.returncode == 0, imported.stderr
    return database


def segment_rows(site: Path, project: Path) -> tuple[list[str], dict[str, dict[str, str]]]:
    done = run_crm(site, project, "segment", "--customers", "--format", "csv", "--as-of", AS_OF)
    assert done.returncode == 0, done.stderr
    reader = csv.DictReader(io.StringIO(done.stdout))
    rows = {row["customer_id"]: row for row in reader}
    return list(reader.fieldnames or ()), rows


def test_crm_plugins_lists_the_example_as_third_party_with_version_and_hooks(
    site: Path, database: Path, tmp_path: Path
) -> None:
    write_config(tmp_path, database, ["rfm"])
    listed = run_crm(site, tmp_path, "plugins", "--format", "json")
    assert listed.returncode == 0, listed.stderr
    plugins = {item["name"]: item for item in json.loads(listed.stdout)}

    churn = plugins["churn"]
    assert churn["origin"] == "third-party"
    assert churn["version"] == "0.1.0"
    assert churn["enabled"] is False
    assert churn["hooks"] == ["register_reports", "register_scorers", "register_segmentations"]
    assert churn["error"] == ""
    assert plugins["rfm"]["origin"] == "built-in"
    assert plugins["rfm"]["enabled"] is True


def test_segment_without_the_plugin_enabled_has_no_churn_columns(
    site: Path, database: Path, tmp_path: Path
) -> None:
    write_config(tmp_path, database, ["rfm"])
    columns, rows = segment_rows(site, tmp_path)
    assert "rfm" in columns
    assert "rfm.r" in columns
    assert not [c for c in columns if c == "churn" or c.startswith("churn.")]
    assert set(rows) == {"A", "B", "C", "D"}


def test_enabling_the_plugin_adds_its_segmentation_and_scores(
    site: Path, database: Path, tmp_path: Path
) -> None:
    write_config(tmp_path, database, ["rfm", "churn"])
    columns, rows = segment_rows(site, tmp_path)
    assert {"rfm", "rfm.r", "churn", "churn.overdue", "churn.complaints"} <= set(columns)

    churn = {
        cid: (r["churn"], r["churn.overdue"], r["churn.complaints"]) for cid, r in rows.items()
    }
    assert churn == {
        "A": ("Churn risk", "3", "0"),
        "B": ("Stable", "0.25", "0"),
        "C": ("Churn risk", "", "2"),
        "D": ("", "", "1"),
    }


def test_the_threshold_option_reaches_the_plugin(
    site: Path, database: Path, tmp_path: Path
) -> None:
    # A is 3.0 gaps overdue: at risk from 2.0 gaps on, stable with a threshold of 3.5.
    write_config(tmp_path, database, ["rfm", "churn"], churn="threshold = 3.5")
    _, rows = segment_rows(site, tmp_path)
    assert rows["A"]["churn"] == "Stable"
    assert rows["C"]["churn"] == "Churn risk"


def test_a_bad_threshold_is_a_configuration_error_naming_the_key(
    site: Path, database: Path, tmp_path: Path
) -> None:
    write_config(tmp_path, database, ["rfm", "churn"], churn='threshold = "x"')
    done = run_crm(site, tmp_path, "segment", "--customers", "--format", "csv")
    assert done.returncode == 2, done.stderr
    assert "churn.threshold" in done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout == ""


def test_the_plugins_own_tests_pass() -> None:
    """Run as its author would, from its folder (its pyproject puts src/ on the path): they build a
    Project with the plugin as an extra plugin, as docs/plugins.md "Testing your plugin" shows."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRM_")}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
        cwd=EXAMPLE,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
