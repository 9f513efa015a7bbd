"""`crm clv fit` and `crm clv validate` as library calls on a database connection.

The CLI only parses and renders; everything here is callable from Python with a connection
(read-only is enough) and the Core tables, e.g. `project.engine` and `project.tables`.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import numpy as np
from sqlalchemy import Connection, and_, func, select

from crm.core.facts import as_of_moment
from crm.core.schema import Tables
from crm_clv.fitting import TRANSACTION_MODELS, requirements_of
from crm_clv.gamma_gamma import GammaGamma
from crm_clv.history import _day_number, load_history, profiled_purchases
from crm_clv.options import ClvOptions
from crm_clv.validation import Validation, validate

FIT_MODELS = ("bgnbd", "pareto_nbd", "gamma_gamma")


def fit_report(
    connection: Connection,
    tables: Tables,
    calibration_end: date,
    model: str,
    options: ClvOptions,
) -> dict[str, Any]:
    """The stable `crm clv fit --format json` object (see plugins/clv/README.md)."""
    history = load_history(connection, tables, calibration_end + timedelta(days=1))
    summary = history.summary(options.days_per_unit)
    needed = requirements_of(options)
    warnings: tuple[str, ...] = ()
    fitted: Any
    if model == "gamma_gamma":
        assert summary.mean_spend is not None
        # spend in currency units, as the papers report v
        fitted = GammaGamma.fit(summary.x, summary.mean_spend / 100, requirements=needed)
        warnings = fitted.warnings
        customers = int(np.count_nonzero(summary.x > 0)) - fitted.excluded
    else:
        fitted = TRANSACTION_MODELS[model].fit(summary, requirements=needed)
        customers = len(summary)
    estimate = fitted.estimate
    assert estimate is not None
    return {
        "model": model,
        "time_unit": options.time_unit,
        "calibration_end": calibration_end.isoformat(),
        "params": estimate.as_dict(),
        "std_errors": estimate.std_errors_dict(),
        "log_likelihood": estimate.log_likelihood,
        "customers": customers,
        "converged": estimate.converged,
        "warnings": list(warnings),
    }


def _holdout_times(
    connection: Connection,
    tables: Tables,
    calibration_end: date,
    holdout_end: date,
    days_per_unit: float,
) -> np.ndarray:
    """Times after the calibration end of the cohort's holdout transactions (one per
    customer and day), in the model's unit; one row per day comes back from SQL."""
    i = tables.interaction
    day = _day_number(i.c.occurred_at, connection.dialect.name)
    holdout_start = as_of_moment(calibration_end + timedelta(days=1))
    # the cohort (first purchase in the calibration period) by a window over each customer's
    # purchases, not a join: PostgreSQL planned the join as a nested loop (seconds for CDNOW)
    purchases = (
        select(
            day.label("day"),
            i.c.customer_id,
            i.c.occurred_at,
            func.min(i.c.occurred_at).over(partition_by=i.c.customer_id).label("first"),
        )
        .where(
            and_(
                profiled_purchases(tables),
                i.c.occurred_at < as_of_moment(holdout_end + timedelta(days=1)),
            )
        )
        .subquery("purchases")
    )
    per_day = (
        select(purchases.c.day, purchases.c.customer_id)
        .where(and_(purchases.c.occurred_at >= holdout_start, purchases.c.first < holdout_start))
        .group_by(purchases.c.day, purchases.c.customer_id)
        .subquery("per_day")
    )
    rows = connection.execute(
        select(per_day.c.day, func.count()).group_by(per_day.c.day).order_by(per_day.c.day)
    ).all()
    if not rows:
        return np.zeros(0)
    days, counts = np.array(rows, dtype=np.float64).T
    end = (calibration_end - date(1970, 1, 1)).days
    return np.repeat((days - end) / days_per_unit, counts.astype(np.int64))


def last_purchase_day(connection: Connection, tables: Tables) -> date | None:
    i = tables.interaction
    latest = connection.execute(
        select(func.max(i.c.occurred_at)).where(profiled_purchases(tables))
    ).scalar()
    if latest is None:
        return None
    return latest.date() if hasattr(latest, "date") else date.fromisoformat(str(latest)[:10])


def validate_split(
    connection: Connection,
    tables: Tables,
    calibration_end: date,
    holdout_end: date,
    options: ClvOptions,
) -> Validation:
    """Fit `options.model` on purchases to `calibration_end` (inclusive), compare with
    `(calibration_end, holdout_end]`."""
    if holdout_end <= calibration_end:
        raise ValueError(
            f"--holdout-end {holdout_end} must be after --calibration-end {calibration_end}"
        )
    history = load_history(connection, tables, calibration_end + timedelta(days=1))
    summary = history.summary(options.days_per_unit)
    model = TRANSACTION_MODELS[options.model].fit(summary, requirements=requirements_of(options))
    later = load_history(
        connection,
        tables,
        holdout_end + timedelta(days=1),
        since=calibration_end + timedelta(days=1),
    )
    counts = np.zeros(len(summary))
    position = np.searchsorted(history.customer_id, later.customer_id)
    known = (position < len(history.customer_id)) & (
        history.customer_id[np.minimum(position, len(history.customer_id) - 1)] == later.customer_id
    )
    counts[position[known]] = later.transactions[known]
    length = (holdout_end - calibration_end).days / options.days_per_unit
    times = _holdout_times(connection, tables, calibration_end, holdout_end, options.days_per_unit)
    return validate(model, summary, counts, length, times, week=7 / options.days_per_unit)
