"""Candidate pairs: customers who agree exactly on every key of at least one blocking rule.

All pairs of a million customers would be 5 * 10^11 comparisons; a block of customers sharing
an e-mail address holds a handful. Each rule's key is an int64 combined from the key columns'
codes; sorting by it puts every block in one run, and the pairs of all blocks of one size are
made at once from a (blocks x size) index matrix. Blocks above `max_block_size` are skipped and
counted: a value shared by that many customers (a shop's own phone number) identifies nobody.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
from attrs import frozen

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from crm_idic.identify.records import Records


@frozen
class Pairs:
    """Candidate pairs as positions into the records, `left < right`, sorted and unique."""

    left: NDArray[np.int64]
    right: NDArray[np.int64]
    skipped_blocks: int
    skipped_customers: int
    #: Per blocking rule, the positions (into left/right) of the pairs that rule produced.
    by_rule: tuple[NDArray[np.int64], ...] = ()

    def __len__(self) -> int:
        return int(self.left.shape[0])


def rule_key(records: Records, rule: Sequence[str]) -> NDArray[np.int64]:
    """One int64 per customer combining the rule's key codes; -1 if any key is missing."""
    key = np.zeros(len(records), dtype=np.int64)
    missing = np.zeros(len(records), dtype=bool)
    for name in rule:
        codes = records.codes[name]
        missing |= codes < 0
        # Re-code to 0..k-1 so the product stays far from int64 overflow.
        _, dense = np.unique(codes, return_inverse=True)
        key = key * (int(dense.max(initial=0)) + 1) + dense
        _, key = np.unique(key, return_inverse=True)
        key = key.astype(np.int64)
    key[missing] = -1
    return key


def block_pairs(
    key: NDArray[np.int64], max_block_size: int
) -> tuple[NDArray[np.int64], NDArray[np.int64], int, int]:
    """(left, right) positions of every pair sharing a key, and the blocks/customers skipped."""
    present = np.flatnonzero(key >= 0)
    order = present[np.argsort(key[present], kind="stable")]
    sorted_key = key[order]
    starts = np.flatnonzero(np.r_[True, sorted_key[1:] != sorted_key[:-1]]) if order.size else order
    sizes = np.diff(np.r_[starts, order.size])
    lefts, rights = [], []
    too_big = sizes > max_block_size
    for size in np.unique(sizes[(sizes >= 2) & ~too_big]):
        block_starts = starts[sizes == size]
        members = order[block_starts[:, None] + np.arange(size)]  # (blocks, size)
        a, b = np.triu_indices(int(size), k=1)
        lefts.append(members[:, a].ravel())
        rights.append(members[:, b].ravel())
    if not lefts:
        empty = np.empty(0, dtype=np.int64)
        return empty, empty, int(too_big.sum()), int(sizes[too_big].sum())
    return (
        np.concatenate(lefts),
        np.concatenate(rights),
        int(too_big.sum()),
        int(sizes[too_big].sum()),
    )


def candidate_pairs(records: Records, rules: Sequence[Sequence[str]], max_block_size: int) -> Pairs:
    n = len(records)
    keys = []
    skipped_blocks = skipped_customers = 0
    for rule in rules:
        left, right, blocks, customers = block_pairs(rule_key(records, rule), max_block_size)
        skipped_blocks += blocks
        skipped_customers += customers
        low, high = np.minimum(left, right), np.maximum(left, right)
        keys.append(low * n + high)
    unique = np.unique(np.concatenate(keys)) if keys else np.empty(0, dtype=np.int64)
    by_rule = tuple(np.searchsorted(unique, np.unique(k)).astype(np.int64) for k in keys)
    size = max(n, 1)
    return Pairs(unique // size, unique % size, skipped_blocks, skipped_customers, by_rule)
