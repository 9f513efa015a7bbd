"""CLV benchmark: crm-clv against lifetimes 0.11.3 on the same summary data, in one run.

    python bench/clv.py [--lifetimes-python /path/to/venv/bin/python] [--customers 200000]
                        [--models bgnbd,pareto_nbd,gamma_gamma] [--large-repeats 3]

crm-clv runs in this interpreter; lifetimes (never a dependency of crm) runs in a venv of its
own, built from ../shared/bench/requirements-lifetimes-current.txt, fed the very same
(x, t_x, T, spend) arrays through an .npz file. Fits: CDNOW (the 2,357-customer sample, weeks,
calibration to 1997-09-30) and customers simulated from BG/NBD with the published parameters;
then scoring a million customers (every prediction, intervals included). Timings are
in-process wall clock after one warm-up, minimum and median of --repeats runs on CDNOW and of
--large-repeats runs on the simulated set (both sides alike); results go to stdout.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "plugins" / "clv" / "tests"))

from conftest import load  # noqa: E402
from crm_clv.bgnbd import BgNbd  # noqa: E402
from crm_clv.gamma_gamma import GammaGamma  # noqa: E402
from crm_clv.pareto_nbd import ParetoNbd  # noqa: E402
from crm_clv.summary import CustomerSummary  # noqa: E402
from crm_clv.valuation import Valuation, predict  # noqa: E402
from test_simulated import BG_TRUTH, simulate_bgnbd, simulate_spend  # noqa: E402

LIFETIMES = r"""
import json, sys, time, statistics, warnings
warnings.simplefilter("ignore")
import numpy as np, pandas as pd
from lifetimes import BetaGeoFitter, GammaGammaFitter, ParetoNBDFitter
data = np.load(sys.argv[1]); repeats, large = int(sys.argv[2]), int(sys.argv[3])
models = sys.argv[4].split(","); out = {}
def timed(fn, n):
    fn(); ts = []
    for _ in range(n):
        t = time.perf_counter(); m = fn(); ts.append(time.perf_counter() - t)
    return min(ts), statistics.median(ts), m
def pnbd(x, tx, T):
    np.random.seed(0)
    return ParetoNBDFitter().fit(x, tx, T)
for name in ("cdnow", "simulated"):
    x, tx, T, m = (data[f"{name}_{k}"] for k in ("x", "t_x", "T", "m"))
    rep = x > 0
    fits = {
        "bgnbd": lambda: BetaGeoFitter().fit(x, tx, T),
        "pareto_nbd": lambda: pnbd(x, tx, T),
        "gamma_gamma": lambda: GammaGammaFitter().fit(x[rep], m[rep]),
    }
    for model in models:
        fastest, median, fitted = timed(fits[model], repeats if name == "cdnow" else large)
        out[f"{name} {model}"] = {
            "seconds": fastest, "median": median,
            "params": {k: float(v) for k, v in fitted.params_.items()},
        }
print(json.dumps(out))
"""


def timed(fn: Callable[[], Any], repeats: int) -> tuple[float, float, Any]:
    """(fastest, median, last result) of `repeats` runs after a warm-up."""
    result = fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), statistics.median(times), result


def datasets(customers: int) -> dict[str, CustomerSummary]:
    cdnow = load().summary
    rng = np.random.default_rng(0)
    sim = simulate_bgnbd(rng, customers, BG_TRUTH, T_max=39.0)
    spend = simulate_spend(rng, sim.x, np.array([6.0, 4.0, 15.0]))
    return {"cdnow": cdnow, "simulated": CustomerSummary(sim.x, sim.t_x, sim.T, spend)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--lifetimes-python", default=None)
    parser.add_argument("--customers", type=int, default=200_000)
    parser.add_argument("--score", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--large-repeats", type=int, default=3)
    parser.add_argument("--models", default="bgnbd,pareto_nbd,gamma_gamma")
    args = parser.parse_args()
    models = args.models.split(",")
    data = datasets(args.customers)
    ours: dict[str, dict[str, Any]] = {}
    for name, summary in data.items():
        n = args.repeats if name == "cdnow" else args.large_repeats
        assert summary.mean_spend is not None
        fits: dict[str, Callable[[], Any]] = {
            "bgnbd": lambda s=summary: BgNbd.fit(s),
            "pareto_nbd": lambda s=summary: ParetoNbd.fit(s),
            "gamma_gamma": lambda s=summary: GammaGamma.fit(s.x, s.mean_spend),
        }
        for model in models:
            seconds, median, fitted = timed(fits[model], n)
            ours[f"{name} {model}"] = {
                "seconds": seconds,
                "median": median,
                "params": dict(zip(fitted.names, fitted.params.tolist(), strict=True)),
            }
            print(
                f"crm-clv   {name:9} {model:11} {seconds:8.3f} s (median {median:.3f})  "
                f"{ours[f'{name} {model}']['params']}"
            )
    theirs: dict[str, dict[str, Any]] = {}
    if args.lifetimes_python:
        with tempfile.TemporaryDirectory() as folder:
            arrays = {}
            for name, s in data.items():
                assert s.mean_spend is not None
                arrays.update(
                    {
                        f"{name}_x": s.x,
                        f"{name}_t_x": s.t_x,
                        f"{name}_T": s.T,
                        f"{name}_m": np.nan_to_num(s.mean_spend),
                    }
                )
            path = Path(folder) / "data.npz"
            np.savez(path, **arrays)
            script = Path(folder) / "lt.py"
            script.write_text(LIFETIMES)
            done = subprocess.run(
                [
                    args.lifetimes_python,
                    str(script),
                    str(path),
                    str(args.repeats),
                    str(args.large_repeats),
                    args.models,
                ],
                check=True,
                capture_output=True,
                text=True,
            )
            theirs = json.loads(done.stdout)
        print()
        print("fastest (median) seconds of the repeats; ratio of the fastest")
        print(
            f"{'data':9} {'model':11} {'crm-clv s':>18} {'lifetimes s':>17} {'ratio':>7}  "
            "max rel. param diff"
        )
        for key, mine in ours.items():
            other = theirs[key]
            diff = max(
                abs(mine["params"][k] - other["params"][k]) / abs(other["params"][k])
                for k in mine["params"]
            )
            name, model = key.split()
            print(
                f"{name:9} {model:11} {mine['seconds']:8.4f} ({mine['median']:7.4f}) "
                f"{other['seconds']:8.3f} ({other['median']:6.3f}) "
                f"{other['seconds'] / mine['seconds']:6.1f}x  {diff:.1e}"
            )
    # scoring a million customers: day-granular histories (what the SQL summary produces)
    rng = np.random.default_rng(1)
    big = simulate_bgnbd(rng, args.score, BG_TRUTH, T_max=104.0)
    days = CustomerSummary(
        big.x,
        np.floor(big.t_x * 7) / 7,
        np.ceil(big.T * 7) / 7,
        simulate_spend(rng, big.x, np.array([6.0, 4.0, 15.0])),
    )
    model = BgNbd.fit(data["cdnow"])
    spend = GammaGamma.fit(data["cdnow"].x, data["cdnow"].mean_spend)  # type: ignore[arg-type]
    start = time.perf_counter()
    predict(model, days, Valuation(), spend)
    print(
        f"\nscoring {args.score:,} customers (BG/NBD + Gamma-Gamma, 12 discount steps, "
        f"intervals): {time.perf_counter() - start:.2f} s"
    )


if __name__ == "__main__":
    main()
