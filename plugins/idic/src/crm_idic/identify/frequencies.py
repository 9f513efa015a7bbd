"""Term-frequency adjustment: agreeing on a rare value is stronger evidence than on a common one.

The model's u for a field's top level ("same") is an average over all values: the chance that
two different people agree on whatever value they hold. Two records that share "Anna Müller"
(held by one customer in 500 of the demo's) are less surely one person than two that share "Noor
Bos" (one in 1,800), and an e-mail address shared by twenty customers (a family's, a shop's)
says less than one only the two records hold. As in Splink's term-frequency adjustments, a pair
that agrees exactly gets, on top of the field's partial weight log2(m_same / u_same),

    log2(u_typical / u_value)

where `u_value` is the chance that another customer, picked at random, holds the value agreed on
(holders - 1 over customers with a value - 1), and `u_typical` is the same chance for the value a
typical agreeing pair shares (the mean of `u_value` over all pairs that agree on the field, each
value weighted by its holders x (holders - 1) pairs). The adjustment is thus centred: it moves
weight from common values to rare ones without changing the field's average evidence, which
EM's m and the random pairs' u set. (Splink uses u_same itself as the reference; u_same counts
pairs that cannot agree, customers whose value nobody else has, so next to the frequency of a
value that two records do share it would lower every exact agreement on a near-unique field
like e-mail by several bits at a few thousand customers.) Other levels keep their weight, as in
Splink's defaults.

Frequencies come from one `np.unique` over each field's integer codes, per customer, and cost
a fraction of a second at a million customers.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import TYPE_CHECKING

import numpy as np
from attrs import frozen

from crm_idic.identify.fields import FIELD_LEVELS, FIELDS

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from crm_idic.identify.records import Records

#: The code column that decides each field's top level (equal codes: "same").
SAME_CODES: Mapping[str, str] = {
    "email": "email",
    "phone": "phone",
    "name": "name",
    "birth_date": "birth_date",
    "city": "city",
    "postcode": "postcode",
}


@frozen
class Frequencies:
    """Per field: `of_customer` (the share of the other customers with a value who hold the
    customer's own, NaN where it is missing) and `typical` (its mean over agreeing pairs)."""

    of_customer: Mapping[str, NDArray[np.float64]]
    typical: Mapping[str, float]
    #: The chance that two distinct customers, both with a value, hold the same one: the u of
    #: the top level, counted over all pairs instead of sampled.
    agreement: Mapping[str, float]

    def only(self, fields: Collection[str]) -> Frequencies:
        """The frequencies of `fields` alone (the fields to adjust)."""
        return Frequencies(
            {f: v for f, v in self.of_customer.items() if f in fields},
            {f: v for f, v in self.typical.items() if f in fields},
            {f: v for f, v in self.agreement.items() if f in fields},
        )


def value_frequencies(records: Records, fields: Collection[str]) -> Frequencies:
    of_customer: dict[str, NDArray[np.float64]] = {}
    typical: dict[str, float] = {}
    agreement: dict[str, float] = {}
    for field in fields:
        codes = records.codes[SAME_CODES[field]]
        present = codes >= 0
        frequency = np.full(codes.size, np.nan)
        holders = int(present.sum())
        if holders >= 2:
            _, inverse, counts = np.unique(codes[present], return_inverse=True, return_counts=True)
            frequency[present] = (counts[inverse] - 1) / (holders - 1)
            others = (counts - 1).astype(np.float64)
            pairs = counts * others  # ordered pairs of distinct holders, per value
            if pairs.sum() > 0:
                typical[field] = float((pairs * others).sum() / ((holders - 1) * pairs.sum()))
            agreement[field] = float(pairs.sum() / (holders * (holders - 1.0)))
        of_customer[field] = frequency
    return Frequencies(of_customer, typical, agreement)


def with_exact_agreement(
    u: Mapping[str, NDArray[np.float64]], frequencies: Frequencies
) -> dict[str, NDArray[np.float64]]:
    """`u` with each field's top level replaced by the exact agreement rate (the other levels
    scaled to keep the sum 1).

    Random pairs estimate the same quantity, but 300,000 of them cannot see a rate below about
    one in 600,000 (the half pseudo-observation a level never seen gets): at a million customers
    agreeing on an e-mail address, which two random customers do about once in fifteen million
    pairs, would weigh 5 bits too little. Counting is exact and costs nothing: the value counts
    are the term frequencies' own."""
    out = dict(u)
    for field, rate in frequencies.agreement.items():
        if rate <= 0:
            continue  # nobody shares a value: keep the sample's finite estimate
        sampled = np.asarray(u[field], dtype=np.float64)
        top = sampled.size - 1
        rest = sampled[:top] * (1 - rate) / max(sampled[:top].sum(), 1e-300)
        out[field] = np.r_[rest, rate]
    return out


def adjustments(
    levels: NDArray[np.int8], left: NDArray[np.int64], frequencies: Frequencies
) -> NDArray[np.float64]:
    """(pairs x fields) log2(u_typical / u_value) for pairs at a field's top level, else 0:
    what the term frequency adds to the model's partial weight."""
    out = np.zeros(levels.shape, dtype=np.float64)
    for column, field in enumerate(FIELDS):
        frequency = frequencies.of_customer.get(field)
        typical = frequencies.typical.get(field)
        if frequency is None or typical is None:
            continue
        top = len(FIELD_LEVELS[field]) - 1
        same = np.flatnonzero(levels[:, column] == top)
        # Both records hold the value, so it has at least two holders: never 0.
        out[same, column] = np.log2(typical / frequency[left[same]])
    return out
