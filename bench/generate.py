"""A seeded synthetic purchase log for the benchmark: customer_id, occurred_at, amount.

The shape follows the anchors in shared/bench (a web shop, not uniform noise): every customer buys
at least once, orders per customer are Pareto-like (1 + a multinomial draw over Lomax(1.3)
weights), each customer is active for an exponential span inside a two-year window, and amounts
are lognormal per customer. The same seed and sizes give byte-identical files.

    python bench/generate.py --customers 100000 --rows 1000000 --out bench/data/tx_1m.csv
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

WINDOW_START = np.datetime64("2023-01-01T00:00:00", "s")
WINDOW_END = np.datetime64("2025-01-01T00:00:00", "s")  # exclusive
AS_OF = "2025-01-01"


def generate(customers: int, rows: int, seed: int = 20240601) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    weights = rng.pareto(1.3, customers) + 1e-9
    weights = np.minimum(weights, np.quantile(weights, 0.9999))
    orders = 1 + rng.multinomial(rows - customers, weights / weights.sum())
    window = int((WINDOW_END - WINDOW_START).astype(np.int64))
    start = rng.integers(0, window, customers)
    span = np.minimum(rng.exponential(400 * 86400, customers).astype(np.int64), window - start)
    owner = np.repeat(np.arange(customers), orders)
    offset = (rng.random(rows) * np.maximum(span[owner], 1)).astype(np.int64)
    when = WINDOW_START + (start[owner] + offset).astype("timedelta64[s]")
    mu = rng.normal(3.6, 0.5, customers)
    cents = np.maximum(np.round(np.exp(rng.normal(mu[owner], 0.7)) * 100), 99).astype(np.int64)
    ids = rng.permutation(customers)[owner]
    order = np.argsort(when, kind="stable")
    return ids[order], when[order], cents[order]


def write_csv(path: Path, customers: int, rows: int, seed: int) -> None:
    ids, when, cents = generate(customers, rows, seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    id_text = np.char.add("C", np.char.zfill(ids.astype(str), 7))
    time_text = np.datetime_as_string(when, unit="s")
    amount_text = [f"{c // 100}.{c % 100:02d}" for c in cents.tolist()]
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write("customer_id,occurred_at,amount\n")
        for start in range(0, rows, 100_000):
            stop = start + 100_000
            out.writelines(
                f"{i},{t},{a}\n"
                for i, t, a in zip(
                    id_text[start:stop].tolist(),
                    time_text[start:stop].tolist(),
                    amount_text[start:stop],
                    strict=True,
                )
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=20240601)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    write_csv(args.out, args.customers, args.rows, args.seed)


if __name__ == "__main__":
    main()
