"""crm funnel against the single SQL statement a person would write, and DuckDB running it.

    python bench/funnel.py                       # 1M interactions, 100k customers, SQLite + PG
    python bench/funnel.py --rows 200000 --customers 20000 --no-postgresql

A seeded log (five steps: visit, e-mail open, stage prospect, stage opportunity, purchase; each
reached with probability 0.6 after an exponential delay of mean 6 days, plus untracked kinds and
repeats of tracked ones as noise) is written straight into crm's schema. Then, per backend,
median of --runs:
- `crm funnel` in process (`crm_funnel.api.funnel_steps`, ordered, 30-day window), and the
  `crm funnel --format json` command as a fresh process;
- the same funnel as one SQL statement, one self-join per step (`REFERENCE`), on the same
  database through the bare driver; and DuckDB running that statement on the same rows.
The per-step counts of crm and of the statement must be identical. Needs duckdb (bench only).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
PG_URL = os.environ.get("CRM_BENCH_POSTGRESQL_URL", "postgresql://postgres@127.0.0.1:5432/test")
AS_OF = date(2025, 1, 1)
START = np.datetime64("2023-01-01T00:00:00", "s")
STEPS = (("visit", None), ("email_open", None), ("stage_change", "prospect"),
         ("stage_change", "opportunity"), ("purchase", None))  # fmt: skip
NOISE_KINDS = (("visit", None), ("email_open", None), ("purchase", None), ("ticket", None),
               ("complaint", None), ("feedback", None))  # fmt: skip
P_NEXT, MEAN_DELAY_DAYS, WINDOW_DAYS = 0.6, 6.0, 30

FUNNEL_TOML = """
[funnel]
window_days = 30
steps = [
  { name = "visit", kinds = ["visit"] },
  { name = "read", kinds = ["email_open"] },
  { name = "prospect", stages = ["prospect"] },
  { name = "opportunity", stages = ["opportunity"] },
  { name = "purchase", kinds = ["purchase"] },
]
"""

REFERENCE = """
WITH e AS (
  SELECT customer_id, {epoch} AS t,
         CASE WHEN kind = 'visit' THEN 1
              WHEN kind = 'email_open' THEN 2
              WHEN kind = 'stage_change' AND stage = 'prospect' THEN 3
              WHEN kind = 'stage_change' AND stage = 'opportunity' THEN 4
              WHEN kind = 'purchase' THEN 5 END AS step
  FROM interaction
  WHERE occurred_at < {as_of}
    AND (kind IN ('visit', 'email_open', 'purchase')
         OR (kind = 'stage_change' AND stage IN ('prospect', 'opportunity')))
),
s1 AS (SELECT customer_id, MIN(t) AS t1 FROM e WHERE step = 1 GROUP BY customer_id),
s2 AS (SELECT s1.customer_id, s1.t1, MIN(e.t) AS t2 FROM s1 JOIN e
         ON e.customer_id = s1.customer_id AND e.step = 2 AND e.t >= s1.t1
        AND e.t <= s1.t1 + {window} GROUP BY s1.customer_id, s1.t1),
s3 AS (SELECT s2.customer_id, s2.t1, MIN(e.t) AS t3 FROM s2 JOIN e
         ON e.customer_id = s2.customer_id AND e.step = 3 AND e.t >= s2.t2
        AND e.t <= s2.t1 + {window} GROUP BY s2.customer_id, s2.t1),
s4 AS (SELECT s3.customer_id, s3.t1, MIN(e.t) AS t4 FROM s3 JOIN e
         ON e.customer_id = s3.customer_id AND e.step = 4 AND e.t >= s3.t3
        AND e.t <= s3.t1 + {window} GROUP BY s3.customer_id, s3.t1),
s5 AS (SELECT s4.customer_id, MIN(e.t) AS t5 FROM s4 JOIN e
         ON e.customer_id = s4.customer_id AND e.step = 5 AND e.t >= s4.t4
        AND e.t <= s4.t1 + {window} GROUP BY s4.customer_id)
SELECT (SELECT COUNT(*) FROM s1), (SELECT COUNT(*) FROM s2), (SELECT COUNT(*) FROM s3),
       (SELECT COUNT(*) FROM s4), (SELECT COUNT(*) FROM s5)
"""
EPOCH = {
    "sqlite": "CAST(strftime('%s', occurred_at) AS INTEGER)",
    "postgresql": "CAST(FLOOR(EXTRACT(EPOCH FROM occurred_at)) AS BIGINT)",
    "duckdb": "epoch(occurred_at)",
}
AS_OF_LITERAL = {
    "sqlite": "'2025-01-01 00:00:00'",
    "postgresql": "TIMESTAMP '2025-01-01 00:00:00'",
    "duckdb": "TIMESTAMP '2025-01-01 00:00:00'",
}


def reference(dialect: str) -> str:
    return REFERENCE.format(
        epoch=EPOCH[dialect], as_of=AS_OF_LITERAL[dialect], window=WINDOW_DAYS * 86_400
    )


def generate(customers: int, rows: int, seed: int = 8) -> dict[str, np.ndarray]:
    """Columns of the log: customer (1-based), kind, stage (or None), time (datetime64[s])."""
    rng = np.random.default_rng(seed)
    two_years = 730 * 86_400
    parts_customer, parts_step, parts_time = [], [], []
    who = np.arange(1, customers + 1)
    t = rng.integers(0, two_years - 60 * 86_400, customers).astype(np.float64)
    alive = np.ones(customers, dtype=bool)
    for step in range(len(STEPS)):
        if step:
            alive &= rng.random(customers) < P_NEXT
            t = t + rng.exponential(MEAN_DELAY_DAYS * 86_400, customers)
        parts_customer.append(who[alive])
        parts_step.append(np.full(int(alive.sum()), step))
        parts_time.append(t[alive])
    journey = sum(p.size for p in parts_customer)
    noise = rows - journey
    parts_customer.append(rng.integers(1, customers + 1, noise))
    parts_step.append(len(STEPS) + rng.integers(0, len(NOISE_KINDS), noise))
    parts_time.append(rng.random(noise) * two_years)
    customer = np.concatenate(parts_customer)
    code = np.concatenate(parts_step)
    seconds = np.minimum(np.concatenate(parts_time), two_years - 1).astype(np.int64)
    order = np.lexsort((seconds, customer))
    labels = (*STEPS, *NOISE_KINDS)
    kinds = np.array([k for k, _ in labels], dtype=object)
    stages = np.array([s for _, s in labels], dtype=object)
    return {
        "customer": customer[order],
        "kind": kinds[code[order]],
        "stage": stages[code[order]],
        "time": START + seconds[order].astype("timedelta64[s]"),
    }


def load(url: str, log: dict[str, np.ndarray], customers: int) -> None:
    """Straight into crm's schema: the bench measures the funnel, not the importer."""
    from sqlalchemy import insert

    from crm.core.database import ensure_schema, make_engine
    from crm.core.schema import CustomerRow, InteractionRow

    engine = make_engine(url)
    ensure_schema(engine)
    created = START.astype(object)
    with engine.begin() as conn:
        conn.execute(
            insert(CustomerRow),
            [
                {"id": i, "external_id": f"C{i:07d}", "created_at": created}
                for i in range(1, customers + 1)
            ],
        )
        times = log["time"].astype(object)
        step = 200_000
        for lo in range(0, log["customer"].size, step):
            conn.execute(
                insert(InteractionRow),
                [
                    {"customer_id": int(c), "kind": k, "stage": s, "occurred_at": t, "source_key": f"b:{lo + n}"}
                    for n, (c, k, s, t) in enumerate(zip(
                        log["customer"][lo : lo + step].tolist(), log["kind"][lo : lo + step],
                        log["stage"][lo : lo + step], times[lo : lo + step], strict=True))
                ],
            )  # fmt: skip
    engine.dispose()


def timed(runs: int, fn: Any) -> tuple[float, Any]:
    walls, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = fn()
        walls.append(time.perf_counter() - started)
    return round(statistics.median(walls), 3), result


def crm_in_process(config: Path) -> list[int]:
    from crm_funnel.api import funnel_steps

    from crm.core.project import Project

    project = Project.open(config)
    try:
        return [row[1] for row in funnel_steps(project, as_of=AS_OF).rows]
    finally:
        project.close()


def crm_process(config: Path) -> list[int]:
    done = subprocess.run(
        [str(BIN / "crm"), "--config", str(config), "funnel", "--as-of", str(AS_OF), "-f", "json"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return [row["customers"] for row in json.loads(done.stdout)]


def bench(name: str, url: str, dialect: str, work: Path, runs: int, run_sql: Any) -> dict[str, Any]:
    config = work / f"{name}.toml"
    config.write_text(
        f'[database]\nurl = "{url}"\n\n[plugins]\nenabled = ["funnel"]\n{FUNNEL_TOML}'
    )
    crm_s, crm_counts = timed(runs, lambda: crm_in_process(config))
    cli_s, cli_counts = timed(runs, lambda: crm_process(config))
    sql_s, sql_counts = timed(runs, lambda: run_sql(reference(dialect)))
    return {
        "backend": name, "crm_s": crm_s, "crm_cli_s": cli_s, "sql_s": sql_s,
        "ratio": round(crm_s / sql_s, 2), "cli_ratio": round(cli_s / sql_s, 2),
        "counts": crm_counts, "identical": crm_counts == cli_counts == list(sql_counts),
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description="crm funnel benchmark (see module docstring)")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-postgresql", action="store_true")
    parser.add_argument("--work", type=Path, default=HERE / "data" / "funnel")
    args = parser.parse_args()
    import sqlite3

    import duckdb

    args.work.mkdir(parents=True, exist_ok=True)
    log = generate(args.customers, args.rows)
    results = []
    db = args.work / "funnel.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    load(f"sqlite:///{db}", log, args.customers)

    def sqlite_sql(statement: str) -> tuple[Any, ...]:
        con = sqlite3.connect(db)
        try:
            return tuple(con.execute(statement).fetchone())
        finally:
            con.close()

    results.append(bench("SQLite", f"sqlite:///{db}", "sqlite", args.work, args.runs, sqlite_sql))
    if not args.no_postgresql:
        import psycopg

        schema = "bench_funnel"
        with psycopg.connect(PG_URL, autocommit=True) as con:
            con.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
            con.execute(f"CREATE SCHEMA {schema}")
        url = f"{PG_URL}?options=-csearch_path%3D{schema}"
        load(url.replace("postgresql://", "postgresql+psycopg://"), log, args.customers)

        def pg_sql(statement: str) -> tuple[Any, ...]:
            with psycopg.connect(PG_URL, options=f"-csearch_path={schema}") as con:
                row = con.execute(statement).fetchone()
                assert row is not None
                return tuple(row)

        with psycopg.connect(PG_URL, options=f"-csearch_path={schema}", autocommit=True) as con:
            con.execute("ANALYZE")
        results.append(bench("PostgreSQL", url, "postgresql", args.work, args.runs, pg_sql))
    # The same rows, loaded once into an in-memory DuckDB table (DuckDB reads a dict of numpy
    # arrays directly); only the statement is timed.
    duck = duckdb.connect()
    frame = {"customer_id": log["customer"], "kind": log["kind"].astype(str),
             "stage": np.array([s or "" for s in log["stage"]]), "occurred_at": log["time"]}  # fmt: skip
    duck.register("frame", frame)
    duck.execute(
        "CREATE TABLE interaction AS SELECT customer_id, kind, NULLIF(stage, '') AS stage, "
        "occurred_at FROM frame"
    )
    duck_s, duck_counts = timed(
        args.runs, lambda: tuple(duck.execute(reference("duckdb")).fetchone() or ())
    )
    print(json.dumps({"rows": args.rows, "customers": args.customers, "results": results,
                      "duckdb": {"sql_s": duck_s, "counts": list(duck_counts)}}, indent=2))  # fmt: skip


if __name__ == "__main__":
    main()
