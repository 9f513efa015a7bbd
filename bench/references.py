"""The tools a user would use instead, each run as its own process by bench/run.py.

python bench/references.py sqlite-executemany CSV DB   plain sqlite3: csv rows -> executemany
python bench/references.py pg-copy CSV URL SCHEMA      PostgreSQL COPY of the CSV file
python bench/references.py sqlite-rfm DB AS_OF         the RFM statement on crm's SQLite db
python bench/references.py pg-rfm URL SCHEMA AS_OF     the same statement on PostgreSQL
"""

from __future__ import annotations

import csv
import sys

from reference_sql import rfm_statement


def sqlite_executemany(csv_path: str, db_path: str) -> None:
    import sqlite3

    con = sqlite3.connect(db_path)
    con.execute(
        "CREATE TABLE tx (customer_id VARCHAR(16), occurred_at DATETIME, amount NUMERIC(12, 2))"
    )
    with open(csv_path, newline="") as fh, con:
        rows = csv.reader(fh)
        next(rows)
        con.executemany("INSERT INTO tx VALUES (?, ?, ?)", rows)
    con.close()


def pg_connect(url: str, schema: str):  # type: ignore[no-untyped-def]
    import psycopg

    return psycopg.connect(url, options=f"-csearch_path={schema}")


def pg_copy(csv_path: str, url: str, schema: str) -> None:
    with pg_connect(url, schema) as con, con.cursor() as cur:
        cur.execute(
            "CREATE TABLE tx (customer_id VARCHAR(16), occurred_at TIMESTAMP, "
            "amount NUMERIC(12, 2))"
        )
        with (
            open(csv_path, "rb") as fh,
            cur.copy("COPY tx FROM STDIN WITH (FORMAT csv, HEADER true)") as copy,
        ):
            while data := fh.read(1 << 20):
                copy.write(data)


def sqlite_rfm(db_path: str, as_of: str) -> None:
    import sqlite3

    con = sqlite3.connect(db_path)
    rows = con.execute(rfm_statement("sqlite", as_of)).fetchall()
    print(len(rows), file=sys.stderr)


def pg_rfm(url: str, schema: str, as_of: str) -> None:
    with pg_connect(url, schema) as con:
        rows = con.execute(rfm_statement("postgresql", as_of)).fetchall()
    print(len(rows), file=sys.stderr)


STEPS = {
    "sqlite-executemany": sqlite_executemany,
    "pg-copy": pg_copy,
    "sqlite-rfm": sqlite_rfm,
    "pg-rfm": pg_rfm,
}

if __name__ == "__main__":
    STEPS[sys.argv[1]](*sys.argv[2:])
