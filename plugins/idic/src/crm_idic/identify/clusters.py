"""From scored pairs to clusters: transitive, but guarded against chaining.

Linking every pair above the merge weight and taking connected components would chain: A-B and
B-C merge A with C though nothing links them (two namesakes joined through one ambiguous record).
The guard: each cluster's centre is its survivor (the earliest created record), and a member
stays only if it links to the centre itself at or above the merge weight. Members that do not
are taken out and clustered again among themselves, round by round. A component larger than
`max_cluster_size` goes to review whole. Pairs from `review_weight` up to the merge weight, and
merge-weight pairs the guard split, are grouped (connected components again) for review.

Everything is numpy over edge arrays: label propagation with pointer jumping for components.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from attrs import frozen

if TYPE_CHECKING:
    from numpy.typing import NDArray

    Index = NDArray[np.int64]

MAX_ROUNDS = 20


@frozen
class Clusters:
    """One row per non-survivor member: its cluster, the survivor, the decision, the pair shown.

    Positions index the records; `pair` indexes the candidate pairs (the member's link to the
    survivor, or its strongest link in the group when there is none), or -1.
    """

    cluster: Index
    member: Index
    survivor: Index
    pair: Index
    merge: NDArray[np.bool_]

    def __len__(self) -> int:
        return int(self.member.shape[0])


def components(n: int, left: Index, right: Index) -> Index:
    """Component label (smallest position in it) per record; isolated records label themselves."""
    labels = np.arange(n, dtype=np.int64)
    if left.size == 0:
        return labels
    while True:
        low = np.minimum(labels[left], labels[right])
        new = labels.copy()
        np.minimum.at(new, left, low)
        np.minimum.at(new, right, low)
        while True:  # pointer jumping: follow labels to their own label
            jumped = new[new]
            if np.array_equal(jumped, new):
                break
            new = jumped
        if np.array_equal(new, labels):
            return labels
        labels = new


def _centres(labels: Index, nodes: Index, rank: Index) -> Index:
    """Per node, the node of lowest `rank` in its component."""
    order = nodes[np.lexsort((rank[nodes], labels[nodes]))]
    first = np.r_[True, labels[order][1:] != labels[order][:-1]]
    centre_of_label = np.full(labels.size, -1, dtype=np.int64)
    centre_of_label[labels[order[first]]] = order[first]
    return centre_of_label[labels]


def guarded_clusters(
    n: int, left: Index, right: Index, rank: Index, max_size: int
) -> tuple[Index, NDArray[np.bool_]]:
    """Survivor per record (-1: in no merge cluster) and which edges ended inside a cluster."""
    survivor = np.full(n, -1, dtype=np.int64)
    live = np.ones(left.size, dtype=bool)
    oversized = np.zeros(n, dtype=bool)
    for _ in range(MAX_ROUNDS):
        a, b = left[live], right[live]
        if a.size == 0:
            break
        labels = components(n, a, b)
        nodes = np.unique(np.r_[a, b])
        sizes = np.bincount(labels[nodes], minlength=n)
        big = sizes[labels] > max_size
        oversized[nodes[big[nodes]]] = True
        centre = _centres(labels, nodes, rank)
        keep = np.zeros(n, dtype=bool)
        to_centre_a = centre[a] == b  # edge a - centre
        to_centre_b = centre[b] == a
        keep[a[to_centre_a]] = True
        keep[b[to_centre_b]] = True
        keep[centre[nodes[keep[nodes]]]] = True
        keep &= ~big
        survivor[keep] = centre[keep]
        # Edges touching a kept or oversized record are settled; the rest go another round.
        settled = keep[left] | keep[right] | oversized[left] | oversized[right]
        live &= ~settled
    inside = (survivor[left] >= 0) & (survivor[left] == survivor[right])
    return survivor, inside


def cluster_rows(
    n: int,
    left: Index,
    right: Index,
    weight: NDArray[np.float64],
    rank: Index,
    merge_weight: float,
    review_weight: float,
    max_size: int,
    mergeable: NDArray[np.bool_] | None = None,
) -> Clusters:
    """`mergeable`: pairs allowed to merge automatically (the others go to review at most)."""
    allowed = np.ones(left.size, dtype=bool) if mergeable is None else mergeable
    strong = np.flatnonzero((weight >= merge_weight) & allowed)
    survivor, inside = guarded_clusters(n, left[strong], right[strong], rank, max_size)
    merged_pairs = np.zeros(left.size, dtype=bool)
    merged_pairs[strong[inside]] = True

    # Review works on merge clusters as units: each record stands for its cluster's survivor.
    unit = np.where(survivor >= 0, survivor, np.arange(n))
    review_edges = np.flatnonzero((weight >= review_weight) & ~merged_pairs)
    ra, rb = unit[left[review_edges]], unit[right[review_edges]]
    apart = ra != rb
    review_edges, ra, rb = review_edges[apart], ra[apart], rb[apart]
    review_labels = components(n, ra, rb)
    review_nodes = np.unique(np.r_[ra, rb])
    review_survivor = np.full(n, -1, dtype=np.int64)
    if review_nodes.size:
        review_survivor[review_nodes] = _centres(review_labels, review_nodes, rank)[review_nodes]

    key = left * n + right  # the candidate pairs are sorted by this key

    def link(member: Index, centre: Index, among: NDArray[np.int64]) -> Index:
        """The pair (member, centre) if scored, else the member's strongest pair in `among`."""
        low, high = np.minimum(member, centre), np.maximum(member, centre)
        found = np.searchsorted(key, low * n + high)
        found = np.minimum(found, max(key.size - 1, 0))
        hit = key.size > 0
        pair = np.where(hit & (key[found] == low * n + high), found, -1) if hit else found
        missing = np.flatnonzero(pair < 0)
        if missing.size and among.size:
            ends = np.r_[unit[left[among]], unit[right[among]]]
            edge = np.r_[among, among]
            order = np.lexsort((-weight[edge], ends))
            ends, edge = ends[order], edge[order]
            first = np.r_[True, ends[1:] != ends[:-1]]
            best = dict(zip(ends[first].tolist(), edge[first].tolist(), strict=True))
            pair[missing] = [best.get(m, -1) for m in member[missing].tolist()]
        return pair.astype(np.int64)

    merge_members = np.flatnonzero((survivor >= 0) & (survivor != np.arange(n)))
    review_members = np.flatnonzero((review_survivor >= 0) & (review_survivor != np.arange(n)))
    members = np.r_[merge_members, review_members]
    centres = np.r_[survivor[merge_members], review_survivor[review_members]]
    pairs = np.r_[
        link(merge_members, survivor[merge_members], strong[inside]),
        link(review_members, review_survivor[review_members], review_edges),
    ]
    is_merge = np.r_[np.ones(merge_members.size, bool), np.zeros(review_members.size, bool)]
    # Cluster numbers: merge clusters first, then review groups, each by survivor position.
    group_key = np.where(is_merge, centres, centres + n)
    order = np.lexsort((members, group_key))
    _, cluster = np.unique(group_key[order], return_inverse=True)
    return Clusters(
        cluster=cluster.astype(np.int64) + 1,
        member=members[order],
        survivor=centres[order],
        pair=pairs[order],
        merge=is_merge[order],
    )
