"""crm against the tools a user would pick instead, measured side by side in one run.

    python bench/run.py                      # 1M purchases of 100k customers, SQLite + PostgreSQL
    python bench/run.py --rows 200000 --customers 20000 --no-postgresql

Every step is a fresh process (wall time and peak RSS of that process, median of --runs; needs
GNU time at /usr/bin/time):
- import: `crm import interactions` (validation on) vs plain sqlite3 executemany of the same CSV
  and vs PostgreSQL COPY; then a second `crm import` of the same file (it must add nothing);
- segment: `crm segment` (stores the run) and `crm segment --no-store` vs the same RFM written as
  one SQL statement over crm's own tables (bench/reference_sql.py), on the same database;
- memory: peak RSS of `crm import` on a file a quarter the size (flat means about equal);
- start-up: `crm --help`;
- storing a run: in one process, `Project.segment(store=False)` against `store_run` of its
  result, and the bytes a stored run takes per customer (dbstat / pg_total_relation_size).
Then crm's per-customer result is checked against the SQL statement's, customer by customer.
Targets (docs/performance.md): import <= 2x the bare reference, segment <= 1.3x the statement,
memory flat in file size, `crm --help` < 0.5 s, storing a run <= 20% of
scoring it and <= 20 bytes per customer.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

# measure is re-exported: identify.py imports it from here (`from run import CRM, measure`).
from measuring import interleaved, median_of
from measuring import measure as measure

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
CRM = str(BIN / "crm")
AS_OF = "2025-01-01"
PG_URL = os.environ.get("CRM_BENCH_POSTGRESQL_URL", "postgresql://postgres@127.0.0.1:5432/test")


def segment_pair(runs: int, config: Path) -> tuple[dict[str, float], ...]:
    """`crm segment` storing its run, and `--no-store`, in turns."""
    base = [CRM, "--config", str(config), "segment"]
    return interleaved(runs, [*base, "-f", "json"], [*base, "--no-store", "-f", "json"])


def project(directory: Path, url: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name in ("crm.db", "crm.db-wal", "crm.db-shm"):
        (directory / name).unlink(missing_ok=True)
    config = directory / "crm.toml"
    config.write_text(f'[database]\nurl = "{url}"\n\n[plugins]\nenabled = ["rfm"]\n')
    return config


def pg_schema(schema: str) -> None:
    import psycopg

    with psycopg.connect(PG_URL, autocommit=True) as con:
        con.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        con.execute(f"CREATE SCHEMA {schema}")


def pg_crm_url(schema: str) -> str:
    return (
        PG_URL.replace("postgresql://", "postgresql+psycopg://")
        + f"?options=-csearch_path%3D{schema}"
    )


def verify(config: Path, sql_rows: list[tuple[Any, ...]]) -> dict[str, Any]:
    """crm's per-customer RFM against the SQL statement's: the same numbers for everyone?"""
    from crm.core.project import Project

    p = Project.open(config)
    result = p.segment(store=False)
    rfm = next(o for o in result.outcomes if o.name == "rfm").segment_names()
    cols = [result.scores[f"rfm.{k}"] for k in ("recency", "frequency", "monetary", "r", "f", "m")]
    crm_rows = {
        cid: (*(int(c[i]) for c in cols), rfm[i])
        for i, cid in enumerate(result.facts.external_id.tolist())
    }
    p.close()
    expected = {row[0]: (*tuple(int(v) for v in row[1:7]), row[7]) for row in sql_rows}
    mismatches = sum(1 for k, v in expected.items() if crm_rows.get(k) != v)
    segments: dict[str, int] = {}
    for row in expected.values():
        segments[row[-1]] = segments.get(row[-1], 0) + 1
    return {
        "customers": len(expected),
        "mismatches": mismatches + abs(len(crm_rows) - len(expected)),
        "segments": dict(sorted(segments.items(), key=lambda kv: -kv[1])),
    }


RUN_TABLES = (
    "segmentation_run",
    "run_segmentation",
    "run_metric",
    "run_chunk",
    "run_column",
    "run_artifact",
)


def run_storage(config: Path, repeats: int = 5) -> dict[str, Any]:
    """In one process: `Project.segment(store=False)` against storing its result (median of
    `repeats`), and the bytes a stored run takes per customer (tables and indexes)."""
    from crm.core.project import Project
    from crm.core.runs import delete_runs, store_run

    p = Project.open(config)
    segment_s, store_s = [], []
    stored: list[int] = []
    for _ in range(repeats):
        started = time.perf_counter()
        result = p.segment(store=False)
        segment_s.append(time.perf_counter() - started)
        started = time.perf_counter()
        with p.engine.begin() as connection:
            stored.append(store_run(connection, result, p.config))
        store_s.append(time.perf_counter() - started)
    engine = p.engine
    with engine.begin() as connection:
        runs = connection.exec_driver_sql("SELECT count(*) FROM segmentation_run").scalar_one()
        customers = connection.exec_driver_sql(
            "SELECT sum(customers) FROM segmentation_run"
        ).scalar_one()
        names = ", ".join(f"'{name}'" for name in RUN_TABLES)
        if engine.dialect.name == "sqlite":
            connection.exec_driver_sql("PRAGMA wal_checkpoint(FULL)")
            used = connection.exec_driver_sql(
                "SELECT sum(pgsize) FROM dbstat WHERE name IN "
                f"(SELECT name FROM sqlite_master WHERE tbl_name IN ({names}))"
            ).scalar_one()
        else:
            used = connection.exec_driver_sql(
                "SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c "
                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                f"WHERE n.nspname = current_schema() AND c.relname IN ({names})"
            ).scalar_one()
        delete_runs(connection, stored)  # leave the database as the other steps found it
    p.close()
    segment = statistics.median(segment_s)
    store = statistics.median(store_s)
    return {
        "segment_s": round(segment, 3),
        "store_s": round(store, 3),
        "store_share": round(store / segment, 3),
        "runs": runs,
        "bytes_per_customer": round(int(used) / int(customers), 2),
        "mb_per_100k_customers": round(int(used) / int(customers) * 100_000 / 1e6, 2),
    }


def sqlite_rows(db: Path) -> list[tuple[Any, ...]]:
    import sqlite3

    sys.path.insert(0, str(HERE))
    from reference_sql import rfm_statement

    with sqlite3.connect(db) as con:
        return con.execute(rfm_statement("sqlite", AS_OF)).fetchall()


def bench_sqlite(csv: Path, small: Path, work: Path, runs: int) -> dict[str, Any]:
    py = sys.executable
    ref_db = work / "reference.sqlite"
    out: dict[str, Any] = {}

    def fresh_ref() -> None:
        ref_db.unlink(missing_ok=True)

    out["import_reference"] = median_of(
        runs,
        fresh_ref,
        [py, str(HERE / "references.py"), "sqlite-executemany", str(csv), str(ref_db)],
    )
    crm_dir = work / "crm-sqlite"
    config = project(crm_dir, "sqlite:///crm.db")
    import_cmd = [CRM, "--config", str(config), "import", "interactions", str(csv)]
    out["import_crm"] = median_of(runs, lambda: project(crm_dir, "sqlite:///crm.db"), import_cmd)
    out["reimport_crm"] = median_of(1, None, import_cmd)
    small_dir = work / "crm-small"
    small_cfg = project(small_dir, "sqlite:///crm.db")
    out["import_crm_quarter_file"] = median_of(
        1,
        lambda: project(small_dir, "sqlite:///crm.db"),
        [CRM, "--config", str(small_cfg), "import", "interactions", str(small)],
    )
    db = crm_dir / "crm.db"
    out["segment_reference"] = median_of(
        runs, None, [py, str(HERE / "references.py"), "sqlite-rfm", str(db), AS_OF]
    )
    out["segment_crm"], out["segment_crm_no_store"] = segment_pair(runs, config)
    out["help"] = median_of(5, None, [CRM, "--config", str(config), "--help"])
    out["check"] = verify(config, sqlite_rows(db))
    out["storage"] = run_storage(config)
    return out


def bench_postgresql(csv: Path, work: Path, runs: int) -> dict[str, Any]:
    py = sys.executable
    out: dict[str, Any] = {}
    out["import_reference"] = median_of(
        runs,
        lambda: pg_schema("bench_ref"),
        [py, str(HERE / "references.py"), "pg-copy", str(csv), PG_URL, "bench_ref"],
    )
    crm_dir = work / "crm-postgresql"
    url = pg_crm_url("bench_crm")
    config = project(crm_dir, url)
    import_cmd = [CRM, "--config", str(config), "import", "interactions", str(csv)]
    out["import_crm"] = median_of(runs, lambda: pg_schema("bench_crm"), import_cmd)
    out["reimport_crm"] = median_of(1, None, import_cmd)
    out["segment_reference"] = median_of(
        runs, None, [py, str(HERE / "references.py"), "pg-rfm", PG_URL, "bench_crm", AS_OF]
    )
    out["segment_crm"], out["segment_crm_no_store"] = segment_pair(runs, config)
    import psycopg

    sys.path.insert(0, str(HERE))
    from reference_sql import rfm_statement

    with psycopg.connect(PG_URL, options="-csearch_path=bench_crm") as con:
        rows = con.execute(rfm_statement("postgresql", AS_OF)).fetchall()
    out["check"] = verify(config, rows)
    out["storage"] = run_storage(config)
    return out


def ratio(a: dict[str, float], b: dict[str, float]) -> float:
    return round(a["s"] / b["s"], 2)


def report(results: dict[str, Any]) -> str:
    lines = [
        f"machine: {results['machine']}",
        f"data: {results['rows']:,} purchases of {results['customers']:,} customers ({results['csv_mb']} MB CSV)",
        "",
        "| backend | step | crm s | reference s | ratio | target | crm peak RSS MB |",
        "|---|---|---|---|---|---|---|",
    ]
    for backend in ("sqlite", "postgresql"):
        r = results.get(backend)
        if not r:
            continue
        ref_name = "sqlite3 executemany" if backend == "sqlite" else "COPY"
        rows = [
            (f"import (vs {ref_name})", r["import_crm"], r["import_reference"], "<= 2.0"),
            (
                "segment, run stored (vs one SQL statement)",
                r["segment_crm"],
                r["segment_reference"],
                "<= 1.3",
            ),
            (
                "segment --no-store (vs one SQL statement)",
                r["segment_crm_no_store"],
                r["segment_reference"],
                "<= 1.3",
            ),
        ]
        rows.append(
            (
                "segment, run stored (vs --no-store, in turns)",
                r["segment_crm"],
                r["segment_crm_no_store"],
                "<= 1.2",
            )
        )
        for step, crm, ref, target in rows:
            lines.append(
                f"| {backend} | {step} | {crm['s']} | {ref['s']} | {ratio(crm, ref)} | {target} | {crm['rss_mb']} |"
            )
        lines.append(
            f"| {backend} | re-import of the same file (adds nothing) | {r['reimport_crm']['s']} | | | | {r['reimport_crm']['rss_mb']} |"
        )
        st = r["storage"]
        lines.append(
            f"| {backend} | storing a run, in process (vs scoring it: {st['segment_s']} s) "
            f"| {st['store_s']} | {st['segment_s']} | {st['store_share']} | <= 0.2 | |"
        )
        lines.append(
            f"| {backend} | stored run size: {st['bytes_per_customer']} bytes per customer, "
            f"{st['mb_per_100k_customers']} MB per 100k (over {st['runs']} runs) | | | | "
            "<= 20 bytes | |"
        )
        check = r["check"]
        lines.append(
            f"| {backend} | check: per-customer RFM equal to the SQL statement's | {check['customers']:,} customers, {check['mismatches']} mismatches | | | | |"
        )
    s = results["sqlite"]
    lines += [
        "",
        f"memory: crm import peak RSS {s['import_crm']['rss_mb']} MB on the full file, "
        f"{s['import_crm_quarter_file']['rss_mb']} MB on a file a quarter the size",
        f"start-up: crm --help {s['help']['s']} s (target < 0.5 s)",
        f"segments (SQL statement): {json.dumps(s['check']['segments'])}",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description="crm benchmark (see module docstring)")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-postgresql", action="store_true")
    parser.add_argument("--work", type=Path, default=HERE / "data")
    args = parser.parse_args()

    args.work.mkdir(parents=True, exist_ok=True)
    csv = args.work / f"tx_{args.rows}.csv"
    small = args.work / f"tx_{args.rows // 4}.csv"
    # Generated in a child process, so this driver stays small while it measures the others.
    for path, customers, rows in (
        (csv, args.customers, args.rows),
        (small, max(args.customers // 4, 1), args.rows // 4),
    ):
        if not path.exists():
            subprocess.run(
                [
                    sys.executable,
                    str(HERE / "generate.py"),
                    "--customers",
                    str(customers),
                    "--rows",
                    str(rows),
                    "--out",
                    str(path),
                ],
                check=True,
            )
    results: dict[str, Any] = {
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
        "rows": args.rows,
        "customers": args.customers,
        "csv_mb": round(csv.stat().st_size / 1e6, 1),
        "sqlite": bench_sqlite(csv, small, args.work, args.runs),
    }
    if not args.no_postgresql:
        results["postgresql"] = bench_postgresql(csv, args.work, args.runs)
    (args.work / "results.json").write_text(json.dumps(results, indent=2))
    print(report(results))


if __name__ == "__main__":
    main()
