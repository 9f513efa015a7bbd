"""`crm identify` on a million customers, against the SQL a user would write instead.

    python bench/identify.py                       # 1,000,000 customers + planted duplicates
    python bench/identify.py --customers 100000

Customers come from the demo generator (`crm.core.demo.people`, with the duplicates and
households of `crm.core.demo.duplicates`), written as one CSV and imported with `crm import
customers` into a fresh SQLite database. Then, each as a fresh process (wall time, peak RSS):

- `crm identify --format csv` (load, normalise, block, compare, EM, cluster, print), with the
  term-frequency adjustment (the default) and without it (`term_frequencies = []`, the plain
  Fellegi-Sunter model), interleaved `--repeats` times;
- `crm segment --no-store` with identification in runs, reading the search `crm identify` left
  in the cache;
- the reference: the exact-match deduplication a user writes in SQL without a linkage tool, one
  GROUP BY over lower(email) and one over the phone digits, on the same database (it finds
  only duplicates whose e-mail or phone is written identically).

Precision and recall of the automatic merges against the planted truth are printed for both.
Target (docs/performance.md): `crm identify` under 2 minutes for 1,000,000 customers.
"""

from __future__ import annotations

import argparse
import csv
import os
import sqlite3
import sys
import tempfile
import time
from collections import defaultdict
from datetime import date
from itertools import combinations
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from run import CRM, measure  # noqa: E402

from crm.cli.demo_command import DEMO_IDENTIFY  # noqa: E402
from crm.core.demo.duplicates import plant_duplicates  # noqa: E402
from crm.core.demo.people import draw_people  # noqa: E402

REFERENCE_SQL = (
    "SELECT group_concat(external_id) FROM customer WHERE email IS NOT NULL "
    "GROUP BY lower(email) HAVING count(*) > 1",
    "SELECT group_concat(external_id) FROM customer WHERE phone IS NOT NULL "
    "GROUP BY replace(replace(replace(phone, ' ', ''), '-', ''), '+', '') HAVING count(*) > 1",
)


def write_customers(directory: Path, n: int, seed: int) -> tuple[Path, dict[str, str]]:
    rng = np.random.default_rng(seed)
    people = draw_people(rng, n, date(2026, 6, 30), 2)
    planted = plant_duplicates(np.random.default_rng([seed, 1]), people)
    total = n + planted.source.size
    ids = [f"CUST-{i:07d}" for i in range(1, total + 1)]
    created = (np.datetime64("2024-07-01T00:00:00") + rng.integers(0, 63_000_000, total)).astype(
        str
    )
    path = directory / "customers.csv"
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(("customer_id", "name", "email", "phone", "country", "city", "birth_date", "created_at"))  # fmt: skip
        for who in (people, planted.people):
            offset = 0 if who is people else n
            rows = zip(
                ids[offset : offset + len(who.name)], who.name, who.email, who.phone,
                who.country.tolist(), who.city.tolist(), who.birth_date,
                created[offset : offset + len(who.name)].tolist(), strict=True,
            )  # fmt: skip
            writer.writerows(rows)
    truth = {
        ids[n + k]: ids[int(source)]
        for k, (source, same) in enumerate(zip(planted.source, planted.duplicate, strict=True))
        if same
    }
    return path, truth


def score(groups: list[set[str]], truth: dict[str, str]) -> tuple[float, float, int]:
    predicted = {p for g in groups for p in combinations(sorted(g), 2)}
    by_original: dict[str, set[str]] = defaultdict(set)
    for dup, original in truth.items():
        by_original[original] |= {dup, original}
    true = {p for g in by_original.values() for p in combinations(sorted(g), 2)}
    hits = len(predicted & true)
    return hits / max(len(predicted), 1), hits / max(len(true), 1), len(predicted)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=20261201)
    parser.add_argument("--repeats", type=int, default=1, help="interleaved runs of each model")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        os.environ["CRM_CACHE_DIR"] = str(directory / "cache")  # the commands inherit it
        started = time.perf_counter()
        customers, truth = write_customers(directory, args.customers, args.seed)
        print(
            f"generated {args.customers:,} + planted rows in {time.perf_counter() - started:.1f} s"
        )
        import tomli_w

        def write_config(name: str, **idic: object) -> Path:
            path = directory / name
            path.write_text(
                tomli_w.dumps(
                    {
                        "database": {"url": "sqlite:///crm.db"},
                        "plugins": {"enabled": ["idic"]},
                        "idic": {"identify": DEMO_IDENTIFY, **idic},
                    }
                )
            )
            return path

        config = write_config("crm.toml", identify_in_runs=False)
        # The reference model of the same run: Fellegi-Sunter without term frequencies.
        plain = write_config(
            "crm-plain.toml",
            identify_in_runs=False,
            identify={**DEMO_IDENTIFY, "term_frequencies": []},
        )
        seconds, rss = measure([CRM, "-c", str(config), "import", "customers", str(customers)])
        print(f"crm import customers: {seconds:.1f} s, {rss:.0f} MB")
        best: dict[str, float] = {}
        for repeat in range(args.repeats):  # interleaved, so a drifting load weighs on both
            for label, path in (("term frequencies", config), ("plain", plain)):
                out = directory / "identify.csv"
                seconds, rss = measure(
                    [CRM, "-c", str(path), "identify", "--format", "csv", "-o", str(out)]
                )
                best[label] = min(best.get(label, seconds), seconds)
                groups: dict[str, set[str]] = defaultdict(set)
                with out.open(encoding="utf-8") as f:
                    for row in csv.DictReader(f):
                        if row["decision"] == "merge":
                            groups[row["cluster"]] |= {row["customer_id"], row["survivor"]}
                precision, recall, merged = score(list(groups.values()), truth)
                print(
                    f"[{repeat + 1}] crm identify ({label}): {seconds:.1f} s, {rss:.0f} MB; "
                    f"precision {precision:.4f}, recall {recall:.4f} ({merged:,} pairs merged, "
                    f"{len(truth):,} planted); load {os.getloadavg()[0]:.1f}"
                )
        print(
            f"best of {args.repeats}: term frequencies {best['term frequencies']:.1f} s, plain "
            f"{best['plain']:.1f} s, ratio {best['term frequencies'] / best['plain']:.3f}"
        )
        seconds = best["term frequencies"]
        # `crm segment` with identification in runs: `crm identify` above left the search in
        # the cache, so the run reads it instead of searching again.
        measure([CRM, "-c", str(config), "identify", "--format", "csv", "-o", str(out)])
        in_runs = write_config("crm-in-runs.toml")
        seconds_run, rss_run = measure([CRM, "-c", str(in_runs), "segment", "--no-store"])
        print(f"crm segment, identification from the cache: {seconds_run:.1f} s, {rss_run:.0f} MB")
        started = time.perf_counter()
        connection = sqlite3.connect(directory / "crm.db")
        reference = [
            set(row[0].split(",")) for sql in REFERENCE_SQL for row in connection.execute(sql)
        ]
        reference_seconds = time.perf_counter() - started
        precision, recall, merged = score(reference, truth)
        print(
            f"reference SQL (exact e-mail or phone): {reference_seconds:.1f} s; precision "
            f"{precision:.4f}, recall {recall:.4f} ({merged:,} pairs)"
        )
        print(f"ratio crm identify / reference: {seconds / reference_seconds:.1f}")


if __name__ == "__main__":
    main()
