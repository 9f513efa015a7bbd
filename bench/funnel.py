"""crm funnel against the single SQL statement a person would write, and DuckDB running it.

    python bench/funnel.py                       # 1M interactions, 100k customers, SQLite + PG
    python bench/funnel.py --rows 200000 --customers 20000 --no-postgresql

A seeded log (five steps: visit, e-mail open, stage prospect, stage opportunity, purchase; each
reached with probability 0.6 after an exponential delay of mean 6 days, plus untracked kinds and
repeats of tracked ones as noise) is written straight into crm's schema. Then, per backend,
the minimum of --runs taken in turns (the machine is shared; the least disturbed run is the
closest to the true cost), with the load average printed:
- `crm funnel` in process (`crm_funnel.api.funnel_steps`, ordered, 30-day window), and the
  `crm funnel --format json` command as a fresh process;
- the same funnel as one SQL statement, one self-join per step (`per_step`: correlated
  subqueries on crm's index; and `REFERENCE`: CTE joins, SQLite only), on the same
  database through the bare driver; and DuckDB running that statement on the same rows.
The per-step counts of crm and of the statement must be identical. Needs duckdb (bench only).
"""

from __future__ import annotations

import argparse
import json
import os
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
#: The same funnel as a person would write it with crm's index on (kind, customer_id,
#: occurred_at): per step, a correlated subquery (a self-join) for the first event of the step
#: at or after the previous one and inside the window. Fast on all three databases.
STEP_SQL = (
    "i.kind = 'visit'",
    "i.kind = 'email_open'",
    "i.kind = 'stage_change' AND i.stage = 'prospect'",
    "i.kind = 'stage_change' AND i.stage = 'opportunity'",
    "i.kind = 'purchase'",
)
WINDOW_SQL = {
    "sqlite": "julianday(i.occurred_at) <= julianday(s.t1) + {days}",
    "postgresql": "i.occurred_at <= s.t1 + INTERVAL '{days} days'",
    "duckdb": "i.occurred_at <= s.t1 + INTERVAL '{days} days'",
}


def per_step(dialect: str) -> str:
    as_of = AS_OF_LITERAL[dialect]
    window = WINDOW_SQL[dialect].format(days=WINDOW_DAYS)
    parts = [
        f"s1 AS (SELECT i.customer_id, MIN(i.occurred_at) AS t1 FROM interaction i "
        f"WHERE {STEP_SQL[0]} AND i.occurred_at < {as_of} GROUP BY i.customer_id)"
    ]
    carried = "customer_id, t1"
    for k in range(2, len(STEP_SQL) + 1):
        keep = f" WHERE s.t{k - 1} IS NOT NULL" if k > 2 else ""
        parts.append(
            f"s{k} AS (SELECT {carried}, (SELECT MIN(i.occurred_at) FROM interaction i "
            f"WHERE i.customer_id = s.customer_id AND {STEP_SQL[k - 1]} "
            f"AND i.occurred_at >= s.t{k - 1} AND {window} AND i.occurred_at < {as_of}) "
            f"AS t{k} FROM s{k - 1} s{keep})"
        )
        carried += f", t{k}"
    counts = ", ".join(
        ["(SELECT COUNT(*) FROM s1)"] + [f"(SELECT COUNT(t{k}) FROM s{k})" for k in range(2, 6)]
    )
    return "WITH " + ",\n".join(parts) + f"\nSELECT {counts}"


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


def timed(runs: int, *fns: Any) -> list[tuple[float, Any]]:
    """Least wall time of each function, run in turns so that all see the same machine load."""
    walls: list[list[float]] = [[] for _ in fns]
    results: list[Any] = [None] * len(fns)
    for _ in range(runs):
        for n, fn in enumerate(fns):
            started = time.perf_counter()
            results[n] = fn()
            walls[n].append(time.perf_counter() - started)
    return [(round(min(w), 3), r) for w, r in zip(walls, results, strict=True)]


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


def sql_process(dialect: str, target: str, statement: str) -> list[int]:
    """The statement in a fresh Python process through the bare driver (vs the crm command)."""
    if dialect == "sqlite":
        code = "import sqlite3, sys; print(list(sqlite3.connect(sys.argv[1]).execute(sys.argv[2]).fetchone()))"
    else:
        code = (
            "import psycopg, sys; url, schema = sys.argv[1].split('#'); "
            "print(list(psycopg.connect(url, options='-csearch_path=' + schema)"
            ".execute(sys.argv[2]).fetchone()))"
        )
    done = subprocess.run([sys.executable, "-c", code, target, statement],
                          capture_output=True, text=True, check=True)  # fmt: skip
    return list(json.loads(done.stdout))


def bench(
    name: str, url: str, dialect: str, work: Path, runs: int, run_sql: Any, target: str,
    self_join: bool,
) -> dict[str, Any]:  # fmt: skip
    config = work / f"{name}.toml"
    config.write_text(
        f'[database]\nurl = "{url}"\n\n[plugins]\nenabled = ["funnel"]\n{FUNNEL_TOML}'
    )
    crm_in_process(config)  # warm the page cache and the imports, like a second run would
    statement = per_step(dialect)
    (crm_s, crm_counts), (sql_s, sql_counts) = timed(
        runs, lambda: crm_in_process(config), lambda: run_sql(statement)
    )
    (cli_s, cli_counts), (proc_s, proc_counts) = timed(
        runs, lambda: crm_process(config), lambda: sql_process(dialect, target, statement)
    )
    out: dict[str, Any] = {
        "backend": name, "crm_s": crm_s, "sql_s": sql_s, "ratio": round(crm_s / sql_s, 2),
        "crm_cli_s": cli_s, "sql_process_s": proc_s, "cli_ratio": round(cli_s / proc_s, 2),
        "counts": crm_counts,
        "identical": crm_counts == cli_counts == list(sql_counts) == proc_counts,
    }  # fmt: skip
    if self_join:
        ((cte_s, cte_counts),) = timed(1, lambda: run_sql(reference(dialect)))
        out |= {"cte_self_join_s": cte_s, "cte_identical": list(cte_counts) == crm_counts}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description="crm funnel benchmark (see module docstring)")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--no-postgresql", action="store_true")
    parser.add_argument("--work", type=Path, default=HERE / "data" / "funnel")
    args = parser.parse_args()
    load_at_start = [round(x, 2) for x in os.getloadavg()]
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

    results.append(
        bench(
            "SQLite", f"sqlite:///{db}", "sqlite", args.work, args.runs, sqlite_sql, str(db), True
        )
    )
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
        # The CTE self-join gets a nested-loop plan on PostgreSQL (30 s at 100k rows): left out.
        target = f"{PG_URL}#{schema}"
        results.append(
            bench("PostgreSQL", url, "postgresql", args.work, args.runs, pg_sql, target, False)
        )
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
    (duck_s, duck_counts), (duck_cte_s, duck_cte_counts) = timed(
        args.runs,
        lambda: tuple(duck.execute(per_step("duckdb")).fetchone() or ()),
        lambda: tuple(duck.execute(reference("duckdb")).fetchone() or ()),
    )
    duck_result = {"sql_s": duck_s, "cte_self_join_s": duck_cte_s, "counts": list(duck_counts),
                   "cte_counts": list(duck_cte_counts)}  # fmt: skip
    load_at_end = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps({"rows": args.rows, "customers": args.customers, "load_average": {"start": load_at_start, "end": load_at_end},
                      "results": results,
                      "duckdb": duck_result}, indent=2))  # fmt: skip


if __name__ == "__main__":
    main()
