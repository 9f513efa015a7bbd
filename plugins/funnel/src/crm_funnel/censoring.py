"""Weights that undo right-censoring: deals still open when the history ends.

A deal whose outcome is not known yet is not missing at random: if lost deals take longer to
close than won ones (they often do: a lost deal is closed when someone gives up on it), the deals
that closed soon after entering a stage are mostly wins, and the share won among the closed deals
overstates P(win). Inverse probability of censoring weighting (Robins and Rotnitzky 1992; for
scores, Graf et al. 1999) fixes this: each closed deal counts 1 / G(T-), where T is how long it
took to close from the time origin and G the Kaplan-Meier estimate of the chance of still being
watched T after the origin (the open deals are the censored ones, at how long they have been
watched). A deal that closed after a long time stands for the deals entered too recently to have
closed yet. With no open deal every weight is 1 and the plain share comes back.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from numpy.typing import NDArray


def censoring_weights(
    duration: NDArray[np.int64], closed: NDArray[np.bool_]
) -> NDArray[np.float64]:
    """1 / G(T-) for each closed entry, 0 for an open one (`duration`: seconds watched).

    G is the Kaplan-Meier survival of the censoring times (the open entries' durations); a close
    tied with a censoring counts as happening first, the usual convention, so G is taken just
    before the close.
    """
    weights = np.zeros(duration.shape[0], dtype=np.float64)
    if not closed.any():
        return weights
    if closed.all():
        weights[:] = 1.0
        return weights
    ordered = np.sort(duration)
    censored_at, censored = np.unique(duration[~closed], return_counts=True)
    at_risk = ordered.size - np.searchsorted(ordered, censored_at, side="left")
    still_watched = np.cumprod(1.0 - censored / at_risk)  # G just after each censoring time
    before = np.searchsorted(censored_at, duration[closed], side="left")  # censorings < T
    survival = np.where(before > 0, still_watched[np.maximum(before - 1, 0)], 1.0)
    # A close always has itself at risk after the censorings before it, so survival > 0.
    weights[closed] = 1.0 / survival
    return weights


def effective_size(weights: NDArray[np.float64]) -> float:
    """Kish's effective sample size (sum w)^2 / sum w^2: n when every weight is equal."""
    total = float(weights.sum())
    return total * total / float(np.square(weights).sum()) if total > 0 else 0.0
