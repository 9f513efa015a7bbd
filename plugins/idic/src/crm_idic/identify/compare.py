"""Agreement levels of candidate pairs, field by field, as one int8 column per field.

Exact agreement is a comparison of integer codes; similarity scores come from rapidfuzz's
`process.cpdist`, which scores aligned lists of strings pairwise in C++, and only for the pairs
that are neither missing nor exactly equal. Levels are defined in `crm_idic.identify.fields`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
from rapidfuzz import process
from rapidfuzz.distance import JaroWinkler, Levenshtein

from crm_idic.identify.fields import FIELD_LEVELS, FIELDS

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from crm_idic.identify.records import Records

    Levels = NDArray[np.int8]
    Index = NDArray[np.int64]

NAME_SIMILAR = 0.93
EMAIL_SIMILAR = 0.9
CITY_SIMILAR = 0.88
MISSING = -1


def _similarity(
    texts: NDArray[np.object_], left: Index, right: Index, scorer: Callable[..., Any]
) -> NDArray[np.float32]:
    if left.size == 0:
        return np.empty(0, dtype=np.float32)
    scores: NDArray[np.float32] = process.cpdist(
        texts[left].tolist(), texts[right].tolist(), scorer=scorer, dtype=np.float32
    )
    return scores


def _exact(codes: NDArray[np.int64], left: Index, right: Index) -> tuple[Levels, Any, Any]:
    a, b = codes[left], codes[right]
    missing = (a < 0) | (b < 0)
    level = np.where(missing, MISSING, 0).astype(np.int8)
    return level, missing, (a == b) & ~missing


def _graded(
    records: Records, field: str, texts: NDArray[np.object_], left: Index, right: Index,
    scorer: Callable[..., Any], cut: float, also: Any = None,
) -> Levels:  # fmt: skip
    """same (top level) / similar (score >= cut, or `also`) / different / missing."""
    level, missing, same = _exact(records.codes[field], left, right)
    top = len(FIELD_LEVELS[field]) - 1
    level[same] = top
    rest = np.flatnonzero(~missing & ~same)
    similar = _similarity(texts, left[rest], right[rest], scorer) >= cut
    if also is not None:
        similar |= also[rest]
    level[rest[similar]] = top - 1
    return level


def _name(records: Records, left: Index, right: Index) -> Levels:
    codes = records.codes
    level, missing, same = _exact(codes["name"], left, right)
    level[same] = 3
    rest = np.flatnonzero(~missing & ~same)
    a, b = left[rest], right[rest]
    # Sorted words forgive swapped first and last names; the written order forgives a typo
    # in a first letter (which moves the word in the sorted order).
    score = np.maximum(
        _similarity(records.name, a, b, JaroWinkler.normalized_similarity),
        _similarity(records.name_written, a, b, JaroWinkler.normalized_similarity),
    )
    initials = np.flatnonzero(codes["initials"][a] == codes["initials"][b])
    contained = _words_contained(records, a[initials], b[initials])
    level[rest[initials[contained]]] = 1
    level[rest[score >= NAME_SIMILAR]] = 2
    return level


def _words_contained(records: Records, left: Index, right: Index) -> NDArray[np.bool_]:
    """Whether the whole words (two letters or more) of one name all occur in the other: "J.
    Smith" and "John Smith" yes, "John Smith" and "Jane Smith" no. Checked in Python, only for
    the pairs whose initials already agree."""
    names = records.name
    out = np.empty(left.size, dtype=bool)
    for k, (a, b) in enumerate(zip(names[left].tolist(), names[right].tolist(), strict=True)):
        wa = {w for w in a.split() if len(w) > 1}
        wb = {w for w in b.split() if len(w) > 1}
        out[k] = wa <= wb or wb <= wa
    return out


def _birth_date(records: Records, left: Index, right: Index) -> Levels:
    a, b = records.birth_ymd[left], records.birth_ymd[right]
    missing = (a[:, 0] < 0) | (b[:, 0] < 0)
    equal = a == b
    agree = equal.sum(axis=1)
    swapped = equal[:, 0] & (a[:, 1] == b[:, 2]) & (a[:, 2] == b[:, 1])
    level = np.zeros(left.size, dtype=np.int8)
    level[(agree == 2) | swapped] = 1
    level[agree == 3] = 2
    level[missing] = MISSING
    return level


def _phone(records: Records, left: Index, right: Index) -> Levels:
    level, missing, same = _exact(records.codes["phone"], left, right)
    tail = records.codes["phone_tail"]
    same_tail = (tail[left] == tail[right]) & (tail[left] >= 0) & ~missing
    level[same_tail] = 1
    level[same] = 2
    return level


def _email(records: Records, left: Index, right: Index) -> Levels:
    local = records.codes["email_local"]
    same_local = local[left] == local[right]
    level = _graded(
        records, "email", records.email, left, right,
        Levenshtein.normalized_similarity, EMAIL_SIMILAR, same_local,
    )  # fmt: skip
    # Mail providers number namesakes (anna.weber, anna.weber2): addresses that differ in
    # their digits belong to different people, however similar the rest.
    digits = records.codes["email_digits"]
    level[(level == 1) & (digits[left] != digits[right])] = 0
    return level


def _postcode(records: Records, left: Index, right: Index) -> Levels:
    level, _, same = _exact(records.codes["postcode"], left, right)
    level[same] = 1
    return level


def compare(records: Records, left: Index, right: Index) -> Levels:
    """(pairs x fields) agreement levels, fields in the order of `FIELDS`."""
    by_field = {
        "email": _email,
        "phone": _phone,
        "name": _name,
        "birth_date": _birth_date,
        "city": lambda r, a, b: _graded(
            r, "city", r.city, a, b, JaroWinkler.normalized_similarity, CITY_SIMILAR
        ),
        "postcode": _postcode,
    }
    out = np.empty((left.size, len(FIELDS)), dtype=np.int8)
    for column, field in enumerate(FIELDS):
        out[:, column] = by_field[field](records, left, right)
    return out
