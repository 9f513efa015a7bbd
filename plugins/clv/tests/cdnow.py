"""The CDNOW 1/10 sample as the papers summarise it (weeks, calibration to 1997-09-30).

Read with numpy only, independent of the plugin's SQL, so the model tests check the models
against published numbers and the SQL tests check the summary against this hand-written one.
Columns of CDNOW_sample.txt: master id, sample id, date YYYYMMDD, CDs, dollars.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from attrs import frozen
from crm_clv.summary import CustomerSummary
from numpy.typing import NDArray

DATA = Path(__file__).parent / "data"
CALIBRATION_END = np.datetime64("1997-09-30")
HOLDOUT_END = np.datetime64("1998-06-30")


@frozen
class Cdnow:
    summary: CustomerSummary
    holdout: NDArray[np.float64]  # repeat transactions (distinct days) in weeks 40-78
    first_day: NDArray[np.datetime64]
    holdout_days: NDArray[np.datetime64]  # holdout transaction days, one per (customer, day)


def load() -> Cdnow:
    raw = np.loadtxt(DATA / "CDNOW_sample.txt", usecols=(0, 1, 2), dtype=np.int64)
    customer = raw[:, 1]
    days = np.array([f"{d // 10000}-{d // 100 % 100:02d}-{d % 100:02d}" for d in raw[:, 2]])
    day = days.astype("datetime64[D]")
    dollars = np.loadtxt(DATA / "CDNOW_sample.txt", usecols=4)
    ids = np.unique(customer)
    n = len(ids)
    x = np.zeros(n)
    t_x = np.zeros(n)
    T = np.zeros(n)
    spend = np.full(n, np.nan)
    holdout = np.zeros(n)
    first = np.empty(n, dtype="datetime64[D]")
    holdout_days: list[np.datetime64] = []
    for i, c in enumerate(ids):
        mine = customer == c
        d, v = day[mine], dollars[mine]
        distinct = np.unique(d)
        first[i] = distinct[0]
        cal = distinct[distinct <= CALIBRATION_END]
        x[i] = len(cal) - 1
        t_x[i] = (cal[-1] - cal[0]).astype(float) / 7
        T[i] = (CALIBRATION_END - cal[0]).astype(float) / 7
        later = distinct[(distinct > CALIBRATION_END) & (distinct <= HOLDOUT_END)]
        holdout[i] = len(later)
        holdout_days.extend(later)
        if x[i] > 0:
            # mean value of the repeat transactions: a day's purchases are one transaction
            per_day = np.array([v[d == k].sum() for k in cal[1:]])
            spend[i] = per_day.mean()
    return Cdnow(
        summary=CustomerSummary(x, t_x, T, spend),
        holdout=holdout,
        first_day=first,
        holdout_days=np.array(holdout_days, dtype="datetime64[D]"),
    )
