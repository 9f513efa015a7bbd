"""Newton-like steps whose curvature is the outer product of the rows' scores (BHHH).

For a likelihood that is a sum over customers, sum_i w_i s_i s_i' (s_i: the gradient of
customer i's own log-likelihood) estimates minus the Hessian and comes free with every
evaluation, so each step costs one evaluation where BFGS has to learn the curvature over
dozens. The steps converge only linearly, so they bring a fit near the optimum (Pareto/NBD
on CDNOW from (1, 1, 1, 1): largest mean gradient 6e-4 after 10 evaluations, where BFGS
needs 34 to converge), and the outer product there is the starting inverse Hessian of the
BFGS that finishes the fit (7 evaluations from there).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
#: params -> (total log-likelihood, its gradient, scores: (parameters, rows))
WithScores = Callable[[FloatArray], tuple[float, FloatArray, FloatArray]]


def approach(
    log_likelihood: WithScores,
    start: Sequence[float] | FloatArray,
    weight: FloatArray,
    tolerance: float = 1e-3,
    max_steps: int = 40,
) -> tuple[FloatArray, FloatArray | None]:
    """Steps in log-parameters until the largest |gradient| of the mean log-likelihood is
    below `tolerance`: (parameters, inverse outer product per customer in log-parameters,
    or None where it is not positive definite). Stops early, without error, where a step
    finds no increase (the optimiser after it decides about convergence)."""
    customers = max(float(weight.sum()), 1.0)
    x = np.log(np.asarray(start, dtype=np.float64))
    value, grad, scores = log_likelihood(np.exp(x))
    if not np.isfinite(value):
        return np.exp(x), None
    inverse = None
    for _ in range(max_steps):
        params = np.exp(x)
        slope = grad * params / customers
        inverse = _inverse_outer(scores * params[:, None], weight, customers)
        if inverse is None or float(np.max(np.abs(slope))) < tolerance:
            break
        step = inverse @ slope
        length = 1.0
        for _ in range(20):
            trial = log_likelihood(np.exp(x + length * step))
            if np.isfinite(trial[0]) and trial[0] >= value + 1e-4 * length * customers * (
                slope @ step
            ):
                break
            length /= 2
        else:
            break
        x = x + length * step
        value, grad, scores = trial
    return np.exp(x), inverse


def _inverse_outer(scores: FloatArray, weight: FloatArray, customers: float) -> FloatArray | None:
    outer = np.einsum("kn,n,jn->kj", scores, weight, scores) / customers
    return positive_definite_inverse(outer)


def positive_definite_inverse(matrix: FloatArray) -> FloatArray | None:
    """The inverse of `matrix` made symmetric, itself symmetric; None where it does not exist
    or is not positive definite (no usable curvature for a quasi-Newton step)."""
    try:
        inverse = np.linalg.inv((matrix + matrix.T) / 2)
    except np.linalg.LinAlgError:
        return None
    inverse = (inverse + inverse.T) / 2
    if not (np.all(np.isfinite(inverse)) and np.all(np.linalg.eigvalsh(inverse) > 0)):
        return None
    return inverse
