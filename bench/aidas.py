"""crm journey against the single SQL statement a person would write for the stage table.

    python bench/aidas.py                        # 1M interactions, 100k customers, SQLite + PG
    python bench/aidas.py --rows 200000 --customers 20000 --no-postgresql

A seeded log is written straight into crm's schema (the loader of bench/funnel.py): each
customer walks attention (campaign touch), interest (visit), desire (cart), action (purchase),
satisfaction (feedback), going on with probability 0.6 after a mean 6-day delay, plus repeats and
untracked kinds as noise (tickets, complaints, stage changes). The stage set is AIDAS with kinds
only (no repeat or `against` rules), so that one GROUP BY computes the same stage table:

    SELECT furthest, COUNT(*) FROM (SELECT customer_id, MAX(CASE ... END) AS furthest
      FROM interaction WHERE occurred_at < :as_of GROUP BY customer_id) GROUP BY furthest

Per backend, the minimum of --runs rounds taken in turns (so all see the same machine load):
`crm_aidas.api.journey_stages` in process (which also computes entry times, days to the next
stage, current stages and observed counts) on that set, the statement through the bare driver,
the statement that also returns each stage's first time (what days to the next stage need);
then crm with the shipped AIDAS set (satisfaction also by a repeat purchase within 90 days,
complaints and unresolved tickets against it) and the statement a person would write for that
table (bench/aidas_reference.py). The reached counts of crm and the first statement, and the
whole shipped-set table of crm and its statement, must be identical. The load average is taken
before and after.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from aidas_reference import stage_statement, stage_table  # noqa: E402
from funnel import load  # noqa: E402  (the funnel bench's loader)

PG_URL = os.environ.get("CRM_BENCH_POSTGRESQL_URL", "postgresql://postgres@127.0.0.1:5432/test")
AS_OF = date(2025, 1, 1)
START = np.datetime64("2023-01-01T00:00:00", "s")
STAGES = ("campaign_touch", "visit", "cart", "purchase", "feedback")
NOISE = (
    "visit", "campaign_touch", "purchase", "ticket", "complaint", "ticket_resolved",
    "stage_change", "email_sent",
)  # fmt: skip
P_NEXT, MEAN_DELAY_DAYS = 0.6, 6.0

AIDAS_TOML = """
[aidas]
stages = "bench"
[[aidas.sets.bench.stages]]
name = "attention"
kinds = ["campaign_touch"]
[[aidas.sets.bench.stages]]
name = "interest"
kinds = ["visit"]
[[aidas.sets.bench.stages]]
name = "desire"
kinds = ["cart"]
[[aidas.sets.bench.stages]]
name = "action"
kinds = ["purchase"]
[[aidas.sets.bench.stages]]
name = "satisfaction"
kinds = ["feedback"]
"""

STATEMENT = """
SELECT furthest, COUNT(*) FROM (
  SELECT customer_id,
         MAX(CASE WHEN kind = 'feedback' THEN 4 WHEN kind = 'purchase' THEN 3
                  WHEN kind = 'cart' THEN 2 WHEN kind = 'visit' THEN 1
                  WHEN kind = 'campaign_touch' THEN 0 END) AS furthest
  FROM interaction
  WHERE occurred_at < {as_of}
  GROUP BY customer_id
) f WHERE furthest IS NOT NULL GROUP BY furthest
"""
#: The statement a person would write for every column of the stage table: also the first time of
#: each stage, from which entry times and days to the next stage follow.
STATEMENT_WITH_TIMES = """
SELECT customer_id,
       MAX(CASE WHEN kind = 'feedback' THEN 4 WHEN kind = 'purchase' THEN 3
                WHEN kind = 'cart' THEN 2 WHEN kind = 'visit' THEN 1
                WHEN kind = 'campaign_touch' THEN 0 END) AS furthest,
       MIN(CASE WHEN kind = 'campaign_touch' THEN occurred_at END),
       MIN(CASE WHEN kind = 'visit' THEN occurred_at END),
       MIN(CASE WHEN kind = 'cart' THEN occurred_at END),
       MIN(CASE WHEN kind = 'purchase' THEN occurred_at END),
       MIN(CASE WHEN kind = 'feedback' THEN occurred_at END)
FROM interaction
WHERE occurred_at < {as_of}
GROUP BY customer_id
"""
AS_OF_LITERAL = {"sqlite": "'2025-01-01 00:00:00'", "postgresql": "TIMESTAMP '2025-01-01 00:00:00'"}


def fastest(runs: int, *fns: Any) -> list[tuple[float, Any]]:
    """Minimum wall time of each function over `runs` rounds, the functions run in turns: on a
    shared machine the minimum is the run least disturbed by other jobs."""
    walls: list[list[float]] = [[] for _ in fns]
    results: list[Any] = [None] * len(fns)
    for _ in range(runs):
        for n, fn in enumerate(fns):
            started = time.perf_counter()
            results[n] = fn()
            walls[n].append(time.perf_counter() - started)
    return [(round(min(w), 3), r) for w, r in zip(walls, results, strict=True)]


def generate(customers: int, rows: int, seed: int = 9) -> dict[str, np.ndarray]:
    """Columns of the log: customer (1-based), kind, stage (None), time (datetime64[s])."""
    rng = np.random.default_rng(seed)
    two_years = 730 * 86_400
    who = np.arange(1, customers + 1)
    t = rng.integers(0, two_years - 60 * 86_400, customers).astype(np.float64)
    alive = np.ones(customers, dtype=bool)
    parts_customer, parts_kind, parts_time = [], [], []
    for step, kind in enumerate(STAGES):
        if step:
            alive &= rng.random(customers) < P_NEXT
            t = t + rng.exponential(MEAN_DELAY_DAYS * 86_400, customers)
        parts_customer.append(who[alive])
        parts_kind.append(np.full(int(alive.sum()), kind, dtype=object))
        parts_time.append(t[alive])
    noise = rows - sum(p.size for p in parts_customer)
    parts_customer.append(rng.integers(1, customers + 1, noise))
    parts_kind.append(np.array(NOISE, dtype=object)[rng.integers(0, len(NOISE), noise)])
    parts_time.append(rng.random(noise) * two_years)
    customer = np.concatenate(parts_customer)
    seconds = np.minimum(np.concatenate(parts_time), two_years - 1).astype(np.int64)
    order = np.lexsort((seconds, customer))
    kind = np.concatenate(parts_kind)[order]
    stage = np.where(kind == "stage_change", "lead", None).astype(object)
    return {
        "customer": customer[order],
        "kind": kind,
        "stage": stage,
        "time": START + seconds[order].astype("timedelta64[s]"),
    }


def reached_from_sql(rows: Any) -> list[int]:
    by_stage = dict(rows)
    return [sum(n for k, n in by_stage.items() if k >= stage) for stage in range(len(STAGES))]


def crm_in_process(config: Path, stages: str | None = None) -> list[tuple[Any, ...]]:
    """`crm journey` in process: the stage table's rows."""
    from crm_aidas.api import journey_stages

    from crm.core.project import Project

    project = Project.open(config)
    try:
        return list(journey_stages(project, as_of=AS_OF, stages=stages).rows)
    finally:
        project.close()


def bench(name: str, url: str, dialect: str, work: Path, runs: int, run_sql: Any) -> dict[str, Any]:
    config = work / f"{name}.toml"
    config.write_text(f'[database]\nurl = "{url}"\n\n[plugins]\nenabled = ["aidas"]\n{AIDAS_TOML}')
    crm_in_process(config)  # warm the page cache and the imports, like a second run would
    statement = STATEMENT.format(as_of=AS_OF_LITERAL[dialect])
    with_times = STATEMENT_WITH_TIMES.format(as_of=AS_OF_LITERAL[dialect])
    shipped = stage_statement(dialect, "2025-01-01 00:00:00")
    load_before = os.getloadavg()
    timings = fastest(
        runs,
        lambda: crm_in_process(config),
        lambda: run_sql(statement),
        lambda: run_sql(with_times),
        lambda: crm_in_process(config, "aidas"),
        lambda: run_sql(shipped),
    )
    load_after = os.getloadavg()
    (crm_s, crm_rows), (sql_s, sql_rows), (times_s, _), (aidas_s, aidas_rows), (ref_s, ref_rows) = (
        timings
    )
    crm_counts = [row[1] for row in crm_rows]
    reference_table = stage_table(ref_rows)
    return {
        "backend": name, "crm_s": crm_s, "sql_s": sql_s, "ratio": round(crm_s / sql_s, 2),
        "sql_with_times_s": times_s, "ratio_with_times": round(crm_s / times_s, 2),
        "reached": crm_counts, "identical": crm_counts == reached_from_sql(sql_rows),
        "crm_shipped_aidas_s": aidas_s, "shipped_statement_s": ref_s,
        "ratio_shipped": round(aidas_s / ref_s, 2),
        "ratio_shipped_to_minimal": round(aidas_s / sql_s, 2),
        "shipped_table": aidas_rows,
        "shipped_identical": [tuple(row) for row in aidas_rows] == reference_table,
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in load_after],
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description="crm journey benchmark (see module docstring)")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--no-postgresql", action="store_true")
    parser.add_argument("--work", type=Path, default=HERE / "data" / "aidas")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="Keep the SQLite file and PostgreSQL schema of the previous run (and leave them).",
    )
    args = parser.parse_args()
    import sqlite3

    args.work.mkdir(parents=True, exist_ok=True)
    log = generate(args.customers, args.rows)
    db = args.work / "aidas.db"
    if not (args.reuse and db.exists()):
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
        load(f"sqlite:///{db}", log, args.customers)

    def sqlite_sql(statement: str) -> list[Any]:
        con = sqlite3.connect(db)
        try:
            return con.execute(statement).fetchall()
        finally:
            con.close()

    results = [bench("SQLite", f"sqlite:///{db}", "sqlite", args.work, args.runs, sqlite_sql)]
    if not args.no_postgresql:
        import psycopg

        schema = "bench_aidas"
        url = f"{PG_URL}?options=-csearch_path%3D{schema}"
        with psycopg.connect(PG_URL, autocommit=True) as con:
            found = con.execute(
                "SELECT 1 FROM information_schema.tables WHERE table_schema = %s"
                " AND table_name = 'interaction'",
                (schema,),
            ).fetchone()
        if not (args.reuse and found):
            with psycopg.connect(PG_URL, autocommit=True) as con:
                con.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
                con.execute(f"CREATE SCHEMA {schema}")
            load(url.replace("postgresql://", "postgresql+psycopg://"), log, args.customers)
            with psycopg.connect(PG_URL, options=f"-csearch_path={schema}", autocommit=True) as c:
                c.execute("VACUUM ANALYZE interaction")

        def pg_sql(statement: str) -> list[Any]:
            with psycopg.connect(PG_URL, options=f"-csearch_path={schema}") as con:
                return con.execute(statement).fetchall()

        pg = url.replace("postgresql://", "postgresql+psycopg://")
        results.append(bench("PostgreSQL", pg, "postgresql", args.work, args.runs, pg_sql))
        if not args.reuse:
            with psycopg.connect(PG_URL, autocommit=True) as con:
                con.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    print(
        json.dumps({"rows": args.rows, "customers": args.customers, "results": results}, indent=1)
    )


if __name__ == "__main__":
    main()
