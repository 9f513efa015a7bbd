"""Maximum likelihood by trust-region Newton steps, for likelihoods with an analytic Hessian.

BFGS learns the curvature from gradients and needs one pass over the data per iteration plus
four more for the Hessian by differences. A model that codes its Hessian gets quadratic
convergence instead: from a warm start two or three passes reach the gradient tolerance, and
the Hessian of the last pass is the observed information, so the standard errors cost nothing
more. Like `estimation.maximize` the steps are taken in log-parameters on the mean negative
log-likelihood per customer; each step minimises the quadratic model within a trust region
(Moré and Sorensen's iteration on the eigen-decomposed Hessian), which keeps the method safe
far from the optimum, where the Hessian need not be positive definite.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from attrs import frozen

from crm_clv.estimation import (
    GRADIENT_TOLERANCE,
    Estimate,
    FitError,
    FloatArray,
    not_converged,
    observed_covariance,
)

#: params -> (total log-likelihood, its gradient, its Hessian), all in the papers' parameters
CurvedLogLikelihood = Callable[[FloatArray], tuple[float, FloatArray, FloatArray]]

#: Largest step, in log-parameters (a factor e**3 on one parameter), whatever the radius.
MAX_RADIUS = 3.0
MAX_ITERATIONS = 200
INITIAL_RADIUS = 1.0
#: A trust region this small (in log-parameters) means no step improves on rounding.
MIN_RADIUS = 1e-10


@frozen
class _Point:
    """The likelihood at one point, also on the optimiser's scale (log-parameters, mean
    negative log-likelihood per customer)."""

    log_params: FloatArray
    params: FloatArray
    value: float
    hessian: FloatArray
    objective: float
    slope: FloatArray
    curvature: FloatArray

    @classmethod
    def at(
        cls, log_likelihood: CurvedLogLikelihood, log_params: FloatArray, scale: float
    ) -> _Point:
        params = np.exp(log_params)
        with np.errstate(all="ignore"):
            value, grad, hessian = log_likelihood(params)
        # chain rule for p = exp(theta): d2l/dtheta2 = P H P + diag(P g)
        curvature = -(params[:, None] * hessian * params[None, :] + np.diag(grad * params))
        return cls(
            log_params,
            params,
            value,
            hessian,
            -value * scale,
            -grad * params * scale,
            curvature * scale,
        )

    @property
    def finite(self) -> bool:
        return bool(np.isfinite(self.objective) and np.all(np.isfinite(self.curvature)))

    def steepness(self) -> float:
        return float(np.max(np.abs(self.slope)))


def _trust_step(slope: FloatArray, curvature: FloatArray, radius: float) -> FloatArray:
    """argmin of g.s + s.H.s/2 over |s| <= radius: the Newton step when H is positive
    definite and the step fits, else (H + mu I)^-1 g with mu found by Newton's method on
    1/|s(mu)| = 1/radius (Moré and Sorensen 1983)."""
    eigenvalues, vectors = np.linalg.eigh(curvature)
    along = vectors.T @ slope
    lowest = float(eigenvalues[0])
    if lowest > 0:
        newton = along / eigenvalues
        if float(np.sqrt(newton @ newton)) <= radius:
            return np.asarray(-(vectors @ newton), dtype=np.float64)
    mu = max(0.0, -lowest) + 1e-12 * max(1.0, float(np.max(np.abs(eigenvalues))))
    for _ in range(30):
        shifted = eigenvalues + mu
        step = along / shifted
        length = float(np.sqrt(step @ step))
        if length <= radius * (1 + 1e-6):
            break
        mu += (length / radius - 1) * length**2 / float(np.sum(along**2 / shifted**3))
    if length < radius * 0.5 and lowest <= 0:
        # the hard case: the slope has no part along the lowest curvature; go that way too
        extra = np.sqrt(max(radius**2 - length**2, 0.0))
        step = step + extra * np.sign(along[0] or 1.0) * np.eye(len(slope))[0]
    return np.asarray(-(vectors @ step), dtype=np.float64)


def _descend(
    log_likelihood: CurvedLogLikelihood,
    log_params: FloatArray,
    customers: float,
    gtol: float,
    model: str,
) -> tuple[_Point, int, str]:
    """Trust-region Newton until the largest |slope| is at most `gtol` at an evaluated point,
    no step improves any more, or the iteration limit: (last point, accepted steps, why it
    stopped). Raises `FitError` only when the start itself cannot be evaluated."""
    scale = 1.0 / max(customers, 1.0)
    point = _Point.at(log_likelihood, log_params, scale)
    if not point.finite:
        raise FitError(f"{model}: the log-likelihood is not finite at the start {point.params}")
    radius, accepted = INITIAL_RADIUS, 0
    for _ in range(MAX_ITERATIONS):
        if point.steepness() <= gtol:
            return point, accepted, "gradient tolerance reached"
        if radius < MIN_RADIUS:
            return point, accepted, "no step improves the log-likelihood"
        step = _trust_step(point.slope, point.curvature, radius)
        predicted = float(point.slope @ step + 0.5 * step @ point.curvature @ step)
        trial = _Point.at(log_likelihood, point.log_params + step, scale)
        length = float(np.sqrt(step @ step))
        if not trial.finite:
            radius = 0.25 * length
            continue
        actual = trial.objective - point.objective
        ratio = actual / predicted if predicted < 0 else -1.0
        # next to the optimum the mean log-likelihood is flat to rounding (1e-16): a step
        # that does not raise it beyond rounding but flattens the slope is progress too
        rounding = abs(actual) <= 1e-13 * max(1.0, abs(point.objective))
        if ratio > 0.1 or (rounding and trial.steepness() < point.steepness()):
            point, accepted = trial, accepted + 1
            if ratio > 0.75 and length >= 0.9 * radius:
                radius = min(2 * radius, MAX_RADIUS)
            elif ratio < 0.25 and not rounding:
                radius = 0.25 * length
        else:
            radius = 0.25 * length
    return point, accepted, "iteration limit"


def maximize_newton(
    log_likelihood: CurvedLogLikelihood,
    start: Sequence[float],
    names: tuple[str, ...],
    customers: float,
    model: str,
    warm_start: tuple[CurvedLogLikelihood, float] | None = None,
) -> Estimate:
    """Maximise `log_likelihood` from `start`; a fit that does not converge raises `FitError`.

    `warm_start` is (log-likelihood of a subset, its customers): fitted first, to a looser
    tolerance, to start the full fit next to the optimum. The fit aims at a largest |slope|
    of GRADIENT_TOLERANCE / 100 and counts as converged below GRADIENT_TOLERANCE (where a
    step can no longer improve on rounding). The covariance is the inverse observed
    information at the optimum, from the analytic Hessian of the last evaluation.
    """
    log_params = np.log(np.asarray(start, dtype=np.float64))
    if warm_start is not None:
        subset, subset_customers = warm_start
        try:
            rough, _, _ = _descend(subset, log_params, subset_customers, GRADIENT_TOLERANCE, model)
            log_params = rough.log_params  # accepted steps only: no worse than the start
        except FitError:
            pass  # the full data may still support the model: start it from `start`
    best, iterations, message = _descend(
        log_likelihood, log_params, customers, GRADIENT_TOLERANCE * 0.01, model
    )
    if not best.steepness() < GRADIENT_TOLERANCE:
        raise not_converged(model, iterations, message, best.steepness())
    return Estimate(
        names=names,
        params=best.params,
        covariance=observed_covariance(best.hessian, model, names, best.params),
        log_likelihood=float(best.value),
        converged=True,
        iterations=iterations,
    )
