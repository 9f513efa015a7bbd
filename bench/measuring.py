"""Measuring one process from outside: wall time and peak RSS of a command (GNU time at
/usr/bin/time), the median over several runs, and two commands run in turns so a drifting load
on a shared machine weighs on both alike. Used by run.py (and by identify.py, through run)."""

from __future__ import annotations

import os
import statistics
import subprocess
import tempfile
import time
from typing import Any


def measure(cmd: list[str], *, env: dict[str, str] | None = None) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one process.

    The RSS comes from GNU time run around the command: rusage from wait4 would also count the
    pages a forked child shares with this (large) parent before it execs.
    """
    with tempfile.NamedTemporaryFile("r", suffix=".rss") as rss:
        timed = ["/usr/bin/time", "-f", "%M", "-o", rss.name, *cmd]
        started = time.perf_counter()
        done = subprocess.run(
            timed,
            env={**os.environ, **(env or {})},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            check=False,
        )
        wall = time.perf_counter() - started
        if done.returncode != 0:
            raise SystemExit(f"failed: {' '.join(cmd)}\n{done.stderr}")
        return wall, int(rss.read().split()[-1]) / 1024


def median_of(runs: int, setup: Any, cmd: Any, env: Any = None) -> dict[str, float]:
    walls, peaks = [], []
    for _ in range(runs):
        args = setup() if setup else None
        wall, peak = measure(
            cmd(args) if callable(cmd) else cmd, env=env(args) if callable(env) else env
        )
        walls.append(wall)
        peaks.append(peak)
    return {"s": round(statistics.median(walls), 3), "rss_mb": round(max(peaks), 1)}


def interleaved(runs: int, first: list[str], second: list[str]) -> tuple[dict[str, float], ...]:
    """Medians of two commands run in turns (A B A B ...), so a load that drifts during the
    measurement (other jobs on a shared machine) weighs on both alike."""
    samples: tuple[list[tuple[float, float]], list[tuple[float, float]]] = ([], [])
    for _ in range(runs):
        samples[0].append(measure(first))
        samples[1].append(measure(second))
    return tuple(
        {
            "s": round(statistics.median(w for w, _ in taken), 3),
            "rss_mb": round(max(r for _, r in taken), 1),
        }
        for taken in samples
    )
