"""A crm import in a process of its own, for the crash and concurrency tests.

Run as ``python import_worker.py JOB.json``. The job names the database (a URL and, for
PostgreSQL, the schema), the files to import and when to stop and talk to the test on stdout:

- ``wait_for_go``: print ``ready`` once the schema is ensured, then wait for a line on stdin
  (so several workers start importing together);
- ``pause_at_half``: print ``half`` when half of the first file is read, then block on stdin
  (the test SIGKILLs the process there: the import's transaction is open, rows are staged);
- ``announce_store``: print ``storing`` just before the staged rows are written, and go on
  (the test SIGKILLs the process somewhere in the final statements);
- ``always_bulk``: take the bulk path (indexes and foreign keys dropped and rebuilt) whatever
  the size, as the largest imports do.

On success it prints one JSON line: the reports' (rows_read, rows_added, customers_created).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any


def main(job_path: str) -> None:
    from crm.core.database import ensure_schema, make_engine
    from crm.core.importing import ImportOptions, import_customers, import_interactions
    from crm.core.importing import interactions as interactions_module

    job: dict[str, Any] = json.loads(Path(job_path).read_text())
    connect_args = {"options": f"-csearch_path={job['schema']}"} if job.get("schema") else None
    engine = make_engine(job["url"], connect_args=connect_args)
    ensure_schema(engine)
    if job.get("always_bulk"):
        interactions_module.is_bulk = lambda *_args: True  # type: ignore[assignment]
    if job.get("announce_store"):
        original = interactions_module.InteractionLoader.store

        def store(self: Any, *args: Any) -> Any:
            print("storing", flush=True)
            return original(self, *args)

        interactions_module.InteractionLoader.store = store  # type: ignore[method-assign]
    if job.get("wait_for_go"):
        print("ready", flush=True)
        sys.stdin.readline()
    paused = False

    def progress(done: int, total: int) -> None:
        nonlocal paused
        if job.get("pause_at_half") and not paused and done * 2 >= total:
            paused = True
            print("half", flush=True)
            sys.stdin.readline()  # blocks until the test kills this process

    reports = []
    for target, path in job["files"]:
        options = ImportOptions(batch_size=job.get("batch_size", 10_000))
        run = import_customers if target == "customers" else import_interactions
        report = run(engine, Path(path), options, progress)
        reports.append((report.rows_read, report.rows_added, report.customers_created))
    engine.dispose()
    print(json.dumps(reports), flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
