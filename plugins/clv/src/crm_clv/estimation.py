"""Maximum likelihood shared by every model: optimiser, convergence check, observed information.

Parameters are positive, so the optimiser works on their logarithms (unconstrained) and
minimises the mean negative log-likelihood per customer (a scale that does not grow with the
data, so one gradient tolerance fits CDNOW and a million customers alike). Standard errors come
from the observed information: the Hessian of the total log-likelihood at the optimum, taken in
the papers' parametrisation by central differences of the analytic gradient.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from attrs import frozen
from numpy.typing import NDArray
from scipy.optimize import minimize

FloatArray = NDArray[np.float64]
#: params -> (total log-likelihood, gradient of the total log-likelihood)
LogLikelihood = Callable[[FloatArray], tuple[float, FloatArray]]

#: Largest |gradient| of the mean log-likelihood (per unit of log-parameter) accepted as an
#: optimum; BFGS sometimes stops with "precision loss" right at the optimum, which this accepts.
GRADIENT_TOLERANCE = 1e-6


def as_params(values: object) -> FloatArray:
    """Parameters as a float64 vector (models accept lists, tuples or arrays)."""
    return np.asarray(values, dtype=np.float64)


class FitError(ValueError):
    """A fit that cannot be trusted: not converged, or not at a proper maximum."""


class InsufficientData(ValueError):
    """The data is too small for the model; the message says what is missing."""


@frozen
class Estimate:
    """The optimum: parameters, their covariance, the log-likelihood and how it was reached."""

    names: tuple[str, ...]
    params: FloatArray
    covariance: FloatArray
    log_likelihood: float
    converged: bool
    iterations: int

    @property
    def std_errors(self) -> FloatArray:
        return np.sqrt(np.diag(self.covariance))

    def as_dict(self) -> dict[str, float]:
        return dict(zip(self.names, self.params.tolist(), strict=True))

    def std_errors_dict(self) -> dict[str, float]:
        return dict(zip(self.names, self.std_errors.tolist(), strict=True))


def describe_fit(
    model: str, names: tuple[str, ...], params: FloatArray, estimate: Estimate | None
) -> dict[str, object]:
    """A model's `summary()`: its name and parameters and, for a fitted one, standard errors,
    log-likelihood and convergence (the `crm clv fit --format json` contract)."""
    out: dict[str, object] = {
        "model": model,
        "params": dict(zip(names, params.tolist(), strict=True)),
    }
    if estimate is not None:
        out["std_errors"] = estimate.std_errors_dict()
        out["log_likelihood"] = estimate.log_likelihood
        out["converged"] = estimate.converged
    return out


#: Above this many distinct rows, a fit first runs on a random subset of this size: its optimum
#: and inverse Hessian (the objective is a per-customer mean, so the curvature carries over)
#: start the full fit, which then needs a handful of iterations instead of dozens.
WARM_START_ROWS = 20_000


def _objective(
    log_likelihood: LogLikelihood, customers: float
) -> Callable[[FloatArray], tuple[float, FloatArray]]:
    scale = 1.0 / max(customers, 1.0)

    def objective(log_params: FloatArray) -> tuple[float, FloatArray]:
        params = np.exp(log_params)
        value, grad = log_likelihood(params)
        if not np.isfinite(value):
            return np.inf, np.zeros_like(log_params)
        return -value * scale, -grad * params * scale

    return objective


class _Reached(Exception):
    """Raised by an objective at a point whose gradient already meets the tolerance."""

    def __init__(self, log_params: FloatArray) -> None:
        super().__init__()
        self.log_params = log_params


def _minimize_until(
    objective: Callable[[FloatArray], tuple[float, FloatArray]],
    x0: FloatArray,
    gtol: float,
    options: dict[str, object],
) -> tuple[FloatArray, int, str]:
    """BFGS that also stops at the first *evaluated* point meeting `gtol`: (optimum,
    iterations, message).

    scipy tests the tolerance only at accepted points; near the optimum the objective is flat
    to rounding (1e-15), so line-search trials that already have a gradient of 1e-11 get
    rejected as "no decrease" and BFGS spends 40 more evaluations (Pareto/NBD, 200,000
    customers: 51 evaluations where 8 reach the optimum) before giving up with precision loss.
    """

    def watched(log_params: FloatArray) -> tuple[float, FloatArray]:
        value, grad = objective(log_params)
        if np.isfinite(value) and float(np.max(np.abs(grad))) <= gtol:
            raise _Reached(np.array(log_params, dtype=np.float64))
        return value, grad

    accepted = [0]

    def count(_: FloatArray) -> None:
        accepted[0] += 1

    try:
        result = minimize(watched, x0, jac=True, method="BFGS", options=options, callback=count)
    except _Reached as reached:
        return reached.log_params, accepted[0] + 1, "gradient tolerance reached"
    return result.x, int(result.nit), str(result.message)


def maximize(
    log_likelihood: LogLikelihood,
    start: Sequence[float],
    names: tuple[str, ...],
    customers: float,
    model: str,
    warm_start: tuple[LogLikelihood, float] | None = None,
    hessian: Callable[[FloatArray], FloatArray] | None = None,
    inverse_hessian: FloatArray | None = None,
) -> Estimate:
    """Maximise `log_likelihood` from `start`; a fit that does not converge raises `FitError`.

    `warm_start` is (log-likelihood of a subset, its customers): fitted first, roughly, to
    start the full fit near the optimum with a good inverse Hessian. `hessian` replaces the
    default (differences of the gradient), for a likelihood whose gradient is itself numerical.
    `inverse_hessian` (of the mean negative log-likelihood in log-parameters, positive
    definite) is BFGS's starting curvature at `start`, for a start already near the optimum.
    """
    x0 = np.log(np.asarray(start, dtype=np.float64))
    gtol = GRADIENT_TOLERANCE * 0.01
    options: dict[str, object] = {"gtol": gtol, "maxiter": 500}
    if inverse_hessian is not None:
        options["hess_inv0"] = inverse_hessian
    if warm_start is not None:
        # plain BFGS here: the full fit needs its inverse Hessian, which an early stop loses
        rough = minimize(
            _objective(*warm_start), x0, jac=True, method="BFGS", options={"gtol": 1e-5}
        )
        if np.all(np.isfinite(rough.x)):
            x0 = rough.x
            inverse = (rough.hess_inv + rough.hess_inv.T) / 2
            if np.all(np.linalg.eigvalsh(inverse) > 0):
                options["hess_inv0"] = inverse
    seen: dict[bytes, tuple[float, FloatArray]] = {}

    def remembered(params: FloatArray) -> tuple[float, FloatArray]:
        # the optimum is re-read below: at 200,000 customers one evaluation is ~0.5 s
        key = np.asarray(params, dtype=np.float64).tobytes()
        if key not in seen:
            seen.clear()
            seen[key] = log_likelihood(params)
        return seen[key]

    objective = _objective(remembered, customers)
    best_x, iterations, message = _minimize_until(objective, x0, gtol, options)
    params = np.exp(best_x)
    value, grad_total = remembered(params)
    grad = -grad_total * params / max(customers, 1.0)
    steepness = float(np.max(np.abs(grad)))
    converged = bool(np.all(np.isfinite(best_x))) and steepness < GRADIENT_TOLERANCE
    if not converged:
        raise not_converged(model, iterations, message, steepness)
    curvature = (
        hessian(params) if hessian is not None else hessian_of(log_likelihood, params, grad_total)
    )
    return Estimate(
        names=names,
        params=params,
        covariance=observed_covariance(curvature, model, names, params),
        log_likelihood=float(value),
        converged=converged,
        iterations=iterations,
    )


def not_converged(model: str, iterations: int, message: str, steepness: float) -> FitError:
    """The error for a fit that stopped short of the optimum (`steepness`: the largest
    |gradient| of the mean log-likelihood per log-parameter where it stopped)."""
    return FitError(
        f"{model}: the maximum likelihood fit did not converge after {iterations} "
        f"iterations ({message}); largest gradient {steepness:.3g}. "
        "The data may not support this model (too few repeat buyers, or a degenerate "
        "history); try another model or more data"
    )


def observed_covariance(
    curvature: FloatArray, model: str, names: tuple[str, ...], params: FloatArray
) -> FloatArray:
    """The inverse observed information, from the Hessian of the total log-likelihood at the
    optimum; `FitError` when the log-likelihood is not curved downwards there."""
    try:
        covariance = np.linalg.inv(-curvature)
    except np.linalg.LinAlgError:
        covariance = np.full_like(curvature, np.nan)
    if not (np.all(np.isfinite(covariance)) and np.all(np.diag(covariance) > 0)):
        raise FitError(
            f"{model}: the log-likelihood is not curved downwards at the optimum "
            f"({dict(zip(names, params.round(6).tolist(), strict=True))}): the parameters are "
            "not identified by this data"
        )
    return np.asarray((covariance + covariance.T) / 2, dtype=np.float64)


def subset_rows(count: int, seed: int = 0) -> NDArray[np.intp] | None:
    """Indices of a random subset of `count` rows for a warm start, or None when small."""
    if count <= 2 * WARM_START_ROWS:
        return None
    return np.sort(np.random.default_rng(seed).choice(count, WARM_START_ROWS, replace=False))


def hessian_of(
    log_likelihood: LogLikelihood, params: FloatArray, gradient: FloatArray
) -> FloatArray:
    """Hessian of the total log-likelihood by forward differences of its gradient (the
    gradient at `params` is given); symmetrised. Relative error about 1e-5: ample for
    standard errors."""
    k = len(params)
    hessian = np.empty((k, k))
    for i in range(k):
        step = 1e-5 * params[i]
        up = params.copy()
        up[i] += step
        hessian[i] = (log_likelihood(up)[1] - gradient) / step
    return (hessian + hessian.T) / 2


def hessian_from_values(value: Callable[[FloatArray], float], params: FloatArray) -> FloatArray:
    """Hessian by central second differences of the log-likelihood itself (33 evaluations for
    four parameters), for a likelihood whose gradient is numerical: differencing that gradient
    amplifies its noise (3.5 % off in Pareto/NBD's beta standard error on CDNOW), while these
    agree to 1e-4 between steps of 1e-3 and 1e-4 relative."""
    k = len(params)
    steps = 1e-3 * params
    base = value(params)

    def at(i: int, si: float, j: int, sj: float) -> float:
        moved = params.copy()
        moved[i] += si * steps[i]
        moved[j] += sj * steps[j]
        return value(moved)

    hessian = np.empty((k, k))
    for i in range(k):
        hessian[i, i] = (at(i, 1, i, 1) - 2 * base + at(i, -1, i, -1)) / (4 * steps[i] ** 2)
        for j in range(i + 1, k):
            mixed = at(i, 1, j, 1) - at(i, 1, j, -1) - at(i, -1, j, 1) + at(i, -1, j, -1)
            hessian[i, j] = hessian[j, i] = mixed / (4 * steps[i] * steps[j])
    return hessian


def numerical_gradient(
    value: Callable[[FloatArray], float], params: FloatArray, relative_step: float = 1e-6
) -> FloatArray:
    """Central-difference gradient, for a likelihood whose analytic gradient is not coded."""
    grad = np.empty(len(params))
    for i in range(len(params)):
        step = relative_step * params[i]
        up, down = params.copy(), params.copy()
        up[i] += step
        down[i] -= step
        grad[i] = (value(up) - value(down)) / (2 * step)
    return grad


_PRODUCT_SUMS = {2: "i,i->", 3: "i,i,i->"}


def product_sum(*factors: FloatArray) -> float:
    """sum_i of the product of two or three vectors' i-th entries, without temporaries.

    Not `a @ b`: numpy hands a long dot to OpenBLAS, which spreads it over its threads; on a
    loaded 2-core machine that costs 8-20 ms for 200,000 rows where einsum's own loop takes
    0.1 ms, and a likelihood pass takes a dozen such sums.
    """
    return float(np.einsum(_PRODUCT_SUMS[len(factors)], *factors))
