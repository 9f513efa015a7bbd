"""The holdout check every run makes of its model (`[clv.validation]`).

The run holds out the last part of its data window: it fits the same model on the purchases
before the holdout and compares the predictions with what those customers did in the holdout
(`crm_clv.api.validate_split`, the split `crm clv validate` makes on demand). The result is the
run artifact `clv.validation`, so the report of a stored run shows that run's check; the
holdout error also goes in the model card. The fit that scores customers still uses the whole
window: the check says how well this model, fitted this way, predicted a period it did not see.

The default holdout is the CLV horizon (what the scores predict for), but at most half the
data window in whole weeks, so the calibration period is at least as long as the holdout. On
CDNOW (purchases 1997-01-01 to 1998-06-30) that is the papers' split: calibration to
1997-09-30, a holdout of 39 weeks.
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import Connection

from crm.core.schema import Tables
from crm_clv.options import ClvOptions

#: The shortest holdout the check makes: a week of tracking and a week of calibration.
MINIMUM_HOLDOUT_DAYS = 7


def holdout_days(window_days: int, options: ClvOptions) -> int | str:
    """The holdout length for a data window of `window_days` days, or why there is none."""
    chosen = options.validation.holdout_days
    if chosen is None:
        chosen = min(options.horizon_days, 7 * (window_days // 2 // 7))
        if chosen < MINIMUM_HOLDOUT_DAYS:
            return (
                f"the data window ({window_days} days) is too short for a holdout of at least "
                f"a week beside a calibration period as long"
            )
    if chosen >= window_days:
        return (
            f"[clv.validation] holdout_days = {chosen} leaves no calibration period in a data "
            f"window of {window_days} days"
        )
    return chosen


def run_validation(
    connection: Connection,
    tables: Tables,
    first_day: date,
    last_day: date,
    options: ClvOptions,
) -> dict[str, object]:
    """The artifact `clv.validation` for purchases from `first_day` to `last_day` (inclusive).

    When the data does not allow a check (too short a window, too few customers in the
    calibration period, a calibration fit that fails) it says why in `skipped`: the run goes
    on, as the check is about the model, not needed for the scores.
    """
    from crm_clv.api import validate_split
    from crm_clv.estimation import FitError, InsufficientData

    window_days = (last_day - first_day).days + 1
    length = holdout_days(window_days, options)
    if isinstance(length, str):
        return {"skipped": length}
    calibration_end = last_day - timedelta(days=length)
    split = {
        "calibration_end": calibration_end.isoformat(),
        "holdout_end": last_day.isoformat(),
        "holdout_days": length,
        "time_unit": options.time_unit,
    }
    try:
        validation = validate_split(connection, tables, calibration_end, last_day, options)
    except (FitError, InsufficientData) as error:
        return {**split, "skipped": f"the calibration fit to {calibration_end}: {error}"}
    return {**split, **validation.as_dict()}
