"""The series behind Pareto/NBD's likelihood, G = sum_n (e)_n/(c)_n z^n, for many rows at once.

`crm_clv.pareto_series` writes Fader and Hardie's 2F1 through Euler's transformation as
(1-z)^(1-b1) G; here G and d ln G / de, d ln G / dc, d ln G / dz are summed. The terms are
positive and each at most z times the one before (e < c), so G lies in [1, 1/(1-z)].

The coefficients (e)_n/(c)_n depend on the parameters and the customer's x only, never on
t_x or T. So per evaluation a small table of them (and of the two weighted forms and the
n-weighted form that the gradient needs) is built once per distinct x, and every row's four
sums are that table times the row's powers of z: matrix products over blocks of rows, where
summing term by term costs a dozen numpy passes per term (at 200,000 simulated customers the
fit reaches z = 0.85: 230 terms). With many rows per x, the powers are z^0 .. z^31 and the
table is cut into blocks of 32 terms, combined by Horner's rule in z^32 (`_blocked_sums`);
with few (CDNOW), each row gathers its x's coefficients. Rows go in runs that need about as
many terms, which also keeps z^n clear of subnormal numbers. The term-by-term loop remains
for rows with z so close to 1 that the powers would need thousands of terms, and as the
independent check in the tests.
"""

from __future__ import annotations

import itertools

import numpy as np
from attrs import frozen
from numpy.typing import NDArray

from crm_clv.summary import distinct_rows

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.intp]
Sums = tuple[FloatArray, FloatArray, FloatArray, FloatArray]
TOLERANCE = 1e-17
MAX_TERMS = 100_000
#: Rows needing more terms than this (z above about 0.99) are summed term by term.
POWER_TERMS_LIMIT = 4096
#: Rows per block of one x: enough to amortise numpy's cost per call.
BLOCK_ROWS = 4096
#: Powers of z per block of terms (`_blocked_sums`).
BLOCK_WIDTH = 32
#: Multiply-adds per matrix product: OpenBLAS runs products above 4 x 65,536 on several
#: threads, which on a loaded 2-core machine wait for each other (50x slower, measured).
SINGLE_THREAD_WORK = 240_000
#: Coefficients per gathered block (terms x rows), when pairs gather their x's coefficients.
GATHER_ELEMENTS = 1 << 16
#: Average pairs per distinct x from which each x gets its own matrix products; below it,
#: pairs gather their x's coefficients (CDNOW: 23 distinct x over 1,016 rows).
PAIRS_PER_X = 256


@frozen
class SeriesRows:
    """The distinct (x, y) pairs of the rows (y: t_x or T), in summing order.

    `group` is each pair's index in `xs` (the distinct x); `inverse` maps every row to its
    pair. With many pairs per x (`starts` set: where each run of one x begins) pairs are
    sorted by x and then y, otherwise by y alone. Either way z = gap/(high+y) falls along a
    run of one x, so the terms a pair needs fall too and runs of similar need are contiguous.
    """

    x: FloatArray
    y: FloatArray
    group: IntArray
    xs: FloatArray
    starts: IntArray | None
    inverse: IntArray

    @classmethod
    def of(cls, x: FloatArray, y: FloatArray) -> SeriesRows:
        order, first_of, pair_of_row = distinct_rows(x, y)
        # distinct_rows sorts by a key that orders x, then y: the order the grouped sums want
        # (an order it misses only costs more runs, never a wrong sum)
        first = order[first_of]
        px, py = x[first], y[first]
        xs, group = np.unique(px, return_inverse=True)
        group = group.reshape(-1)
        if len(px) >= PAIRS_PER_X * len(xs):
            starts = np.flatnonzero(np.diff(group, prepend=-1))
            return cls(px, py, group, xs, starts, pair_of_row)
        by = np.argsort(py, kind="stable")
        position = np.empty(len(by), dtype=np.intp)
        position[by] = np.arange(len(by))
        return cls(px[by], py[by], group[by], xs, None, position[pair_of_row])


def terms_needed(z: FloatArray) -> FloatArray:
    """Terms after which the rest of every sum is below TOLERANCE of it. Each term is at most
    z times the one before and G >= 1; the gradient's sums start at z^1 and the last one
    weighs term n by n, so their tails from N on are below N z^(N-1) / (1-z)^2 of their
    first term: N solves that bound (first without the factor N, then with it), at least 2."""
    clipped = np.clip(z, 1e-300, 1 - 2.0**-53)
    log_z, log_room = np.log(clipped), np.log(TOLERANCE) + 2 * np.log1p(-clipped)
    first = np.maximum(log_room / log_z, 1.0)
    needed = np.maximum(np.ceil((log_room - np.log(first + 1)) / log_z) + 2, 2)
    return np.asarray(needed, dtype=np.float64)


def _coefficients(e: FloatArray, c: FloatArray, terms: int) -> FloatArray:
    """Per distinct x, for n < terms: (e)_n/(c)_n, times sum_{k<n} 1/(e+k), times
    sum_{k<n} 1/(c+k), and times n; shape (len(e), 4, terms)."""
    k = np.arange(terms - 1, dtype=np.float64)
    inv_e = 1.0 / (e[:, None] + k)
    inv_c = 1.0 / (c[:, None] + k)
    table = np.zeros((len(e), 4, terms))
    coef, sum_e, sum_c = table[:, 0], table[:, 1], table[:, 2]
    coef[:, 0] = 1.0
    np.cumprod((e[:, None] + k) * inv_c, axis=1, out=coef[:, 1:])
    np.cumsum(inv_e, axis=1, out=sum_e[:, 1:])
    np.cumsum(inv_c, axis=1, out=sum_c[:, 1:])
    sum_e *= coef
    sum_c *= coef
    table[:, 3] = coef * np.arange(terms)
    return table


def _powers(z: FloatArray, terms: int) -> FloatArray:
    """z^0 .. z^(terms-1) for every row; shape (terms, rows)."""
    powers = np.empty((terms, len(z)))
    powers[0] = 1.0
    # one multiply per power: numpy's cumprod along axis 0 walks each column with a stride
    # and is several times slower
    for n in range(1, terms):
        np.multiply(powers[n - 1], z, out=powers[n])
    return powers


def _blocked_sums(coefficients: FloatArray, z: FloatArray) -> FloatArray:
    """The four sums sum_n coefficients[f, n] z^n for rows sharing one x; shape (4, rows).

    With n = qK + k, sum_n C_n z^n = sum_q (z^K)^q sum_k C_(qK+k) z^k: one product of the
    (4q, K) coefficients with K powers, then Horner in z^K over q: the arithmetic of a
    (4, N) by (N, rows) product on N/K times less memory. Every term is positive, so the
    order of summation changes nothing beyond rounding.
    """
    terms = coefficients.shape[1]
    width = BLOCK_WIDTH if terms > BLOCK_WIDTH else terms
    blocks = -(-terms // width)
    padded = np.zeros((4, blocks * width))
    padded[:, :terms] = coefficients
    grouped = padded.reshape(4 * blocks, width)
    powers = _powers(z, width)
    inner = np.empty((4 * blocks, len(z)))
    columns = max(1, SINGLE_THREAD_WORK // (4 * blocks * width))
    for lo in range(0, len(z), columns):
        hi = lo + columns
        np.matmul(grouped, powers[:, lo:hi], out=inner[:, lo:hi])
    inner = inner.reshape(4, blocks, len(z))
    if blocks == 1:
        return inner[:, 0]
    step = powers[width - 1] * z
    acc = inner[:, blocks - 1].copy()
    for q in range(blocks - 2, -1, -1):
        acc *= step
        acc += inner[:, q]
    return acc


def _runs(needed: FloatArray, starts: IntArray | None) -> list[tuple[int, int]]:
    """Contiguous (start, stop) runs of one x whose needs lie within a factor 2 (grouped), or
    of any x within a factor 8 (gathered: few rows, so fewer runs matter more than waste;
    z^n stays above 1e-140)."""
    band = np.ceil(np.log2(needed) / (1 if starts is not None else 3))
    cuts = np.flatnonzero(np.diff(band)) + 1
    if starts is not None:
        cuts = np.union1d(cuts, starts[1:])
    bounds = [0, *cuts.tolist(), len(needed)]
    return [(a, b) for a, b in itertools.pairwise(bounds) if b > a]


def series(e: FloatArray, c: FloatArray, z: FloatArray, rows: SeriesRows) -> Sums:
    """ln G, d ln G / de, d ln G / dc, d ln G / dz for every pair of `rows` (z per pair, e and
    c per distinct x)."""
    sums = np.empty((4, len(z)))
    needed = terms_needed(z)
    by_terms = needed > POWER_TERMS_LIMIT
    table = _coefficients(e, c, int(np.max(needed, where=~by_terms, initial=2)))
    for start, stop in _runs(needed, rows.starts):
        terms = int(needed[start:stop].max())
        if terms > POWER_TERMS_LIMIT:
            continue
        if rows.starts is not None:
            for lo in range(start, stop, BLOCK_ROWS):
                hi = min(lo + BLOCK_ROWS, stop)
                sums[:, lo:hi] = _blocked_sums(table[rows.group[lo], :, :terms], z[lo:hi])
        else:
            step = max(1, GATHER_ELEMENTS // terms)
            for lo in range(start, stop, step):
                hi = min(lo + step, stop)
                coefficients = table[rows.group[lo:hi], :, :terms]
                sums[:, lo:hi] = np.einsum("rfn,nr->fr", coefficients, _powers(z[lo:hi], terms))
    if by_terms.any():
        loop = np.flatnonzero(by_terms)
        group = rows.group[loop]
        sums[:, loop] = sum_by_terms(e[group], c[group], z[loop])
    total = sums[0]
    with np.errstate(invalid="ignore", divide="ignore"):
        by_z = np.where(z > 0, sums[3] / (z * total), (e / c)[rows.group])
    return np.log(total), sums[1] / total, -sums[2] / total, by_z


def sum_by_terms(e: FloatArray, c: FloatArray, z: FloatArray) -> FloatArray:
    """G and its three weighted sums (as in `_coefficients`), term by term until each row's
    terms fall below TOLERANCE of its sum; shape (4, rows)."""
    out = np.zeros((4, len(z)))
    out[0] = 1.0
    active = np.flatnonzero(z > 0)
    ea, ca, za = e[active], c[active], z[active]
    term = np.ones(len(active))
    sum_e = np.zeros(len(active))  # sum_{k<n} 1/(e+k)
    sum_c = np.zeros(len(active))
    acc = out[:, active]
    n = 0
    while len(active) and n < MAX_TERMS:
        inv_e, inv_c = 1.0 / (ea + n), 1.0 / (ca + n)
        term *= (ea + n) * inv_c * za
        sum_e += inv_e
        sum_c += inv_c
        n += 1
        acc[0] += term
        acc[1] += term * sum_e
        acc[2] += term * sum_c
        acc[3] += n * term
        if n % 8 == 0:
            done = term < TOLERANCE * acc[0]
            if done.any():
                out[:, active[done]] = acc[:, done]
                keep = ~done
                active, term, sum_e, sum_c = active[keep], term[keep], sum_e[keep], sum_c[keep]
                ea, ca, za, acc = ea[keep], ca[keep], za[keep], acc[:, keep]
    out[:, active] = acc
    return out
