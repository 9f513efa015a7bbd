"""Fixtures for the crm-clv tests: crm's real-database fixture and the CDNOW 1/10 sample.

The CDNOW summary is built here with numpy only, independent of the plugin's SQL, so the model
tests check the models against published numbers and the SQL tests check the plugin's summary
against this one. Columns of CDNOW_sample.txt: master id, sample id, date YYYYMMDD, CDs, dollars.
Weeks are days / 7; several purchases on one day are one transaction; calibration to
1997-09-30 (week 39), holdout to 1998-06-30 (week 78), as in the papers.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from attrs import frozen
from crm_clv.summary import CustomerSummary
from numpy.typing import NDArray

from crm.testing import engine  # noqa: F401

DATA = Path(__file__).parent / "data"
CALIBRATION_END = np.datetime64("1997-09-30")
HOLDOUT_END = np.datetime64("1998-06-30")


@frozen
class Cdnow:
    summary: CustomerSummary
    holdout: NDArray[np.float64]  # repeat transactions (distinct days) in weeks 40-78
    first_day: NDArray[np.datetime64]
    holdout_days: NDArray[np.datetime64]  # holdout transaction days, one per (customer, day)


def load(rounded: bool = True) -> Cdnow:
    """The sample's summary; `rounded` rounds t_x, T and mean spend to two decimals.

    The rounded summary is the one Hardie's spreadsheets print and lifetimes ships
    (cdnow_customers_summary.csv), on which the reference fits were made: fits on it match the
    references to 1e-7, while the unrounded weeks move the fourth significant digit.
    """
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
    if rounded:
        t_x, T, spend = t_x.round(2), T.round(2), spend.round(2)
    return Cdnow(
        summary=CustomerSummary(x, t_x, T, spend),
        holdout=holdout,
        first_day=first,
        holdout_days=np.array(holdout_days, dtype="datetime64[D]"),
    )


@pytest.fixture(scope="session")
def cdnow_sample() -> Cdnow:
    return load()


@pytest.fixture(scope="session")
def reference() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((DATA / "lifetimes_reference_sample.json").read_text())
    return data
