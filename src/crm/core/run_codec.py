"""Compact, lossless encodings of a stored run's columns (customer keys, segment codes, scores).

A run is stored in chunks of `CHUNK_SIZE` customers (sorted by key), one blob per column and chunk,
so one customer's scores are read by decoding one chunk, never the whole run.

Scores are float64 in memory; stored, each chunk of a column takes the narrowest encoding that
gives back the same float64 values (NaN included):

- `i1`/`i2`/`i4`/`i8`: every finite value is a whole number (RFM scores, days, counts, money in
  cents): little-endian integers of the narrowest width, the width's minimum standing for NaN;
- `f4`: every value survives float64 -> float32 -> float64 unchanged;
- `f8`: anything else, bit for bit.

So a reloaded run is identical to the fresh one (no rounding to what is shown today, which a later
display rule could need more of), and still small: RFM's seven metrics cost about 5.6 bytes per
customer. Every blob is byte-shuffled (the k-th byte of every value together: the high bytes of
small integers are runs of zeros) and then zlib-compressed; customer keys are delta-encoded first.
"""

from __future__ import annotations

import zlib
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from numpy.typing import NDArray

#: Customers per chunk: one customer's read decodes this many values per column (microseconds);
#: the per-blob overhead (zlib header, row) stays far below a byte per customer.
CHUNK_SIZE = 16_384
#: Measured on simulated RFM scores of 100k customers: level 1 takes 0.034 s for 5.56 bytes per
#: customer, level 6 (zlib's default) 0.129 s for 5.31: 4x the time for 5% less space.
ZLIB_LEVEL = 1

_INTEGER_WIDTHS = (("i1", np.int8), ("i2", np.int16), ("i4", np.int32), ("i8", np.int64))
_LARGEST_EXACT_INTEGER = 2.0**53


def _pack(values: NDArray[np.generic]) -> bytes:
    raw = np.ascontiguousarray(values)
    width = raw.dtype.itemsize
    if width > 1:  # byte shuffle: all lowest bytes, then all next bytes, ...
        raw = raw.view(np.uint8).reshape(-1, width).T
    return zlib.compress(raw.tobytes(), ZLIB_LEVEL)


def _unpack(blob: bytes, dtype: np.dtype[np.generic], count: int) -> NDArray[np.generic]:
    raw = np.frombuffer(zlib.decompress(blob), dtype=np.uint8)
    width = dtype.itemsize
    if width > 1:
        raw = raw.reshape(width, count).T.copy()
    return raw.view(dtype).reshape(count)


def _integer_encoding(values: NDArray[np.float64]) -> tuple[str, type[np.signedinteger]] | None:
    finite = values[~np.isnan(values)]
    if finite.size and (
        not np.isfinite(finite).all()
        or np.abs(finite).max() >= _LARGEST_EXACT_INTEGER
        or (finite != np.round(finite)).any()
        or np.signbit(finite[finite == 0]).any()  # -0.0 would come back as 0.0
    ):
        return None
    low = finite.min() if finite.size else 0.0
    high = finite.max() if finite.size else 0.0
    for name, dtype in _INTEGER_WIDTHS:
        info = np.iinfo(dtype)
        if info.min < low and high <= info.max:  # info.min is kept free for NaN
            return name, dtype
    return None


def encode_scores(values: NDArray[np.float64]) -> tuple[str, bytes]:
    """The encoding name and the blob of one chunk of one score column."""
    values = np.asarray(values, dtype=np.float64)
    integer = _integer_encoding(values)
    if integer is not None:
        name, dtype = integer
        nan = np.isnan(values)
        ints = np.where(nan, 0, values).astype(dtype)
        ints[nan] = np.iinfo(dtype).min
        return name, _pack(ints.astype(np.dtype(dtype).newbyteorder("<")))
    single = values.astype(np.float32)
    if np.array_equal(single.astype(np.float64), values, equal_nan=True):
        return "f4", _pack(single.astype("<f4"))
    return "f8", _pack(values.astype("<f8"))


def decode_scores(encoding: str, blob: bytes, count: int) -> NDArray[np.float64]:
    if encoding in ("f4", "f8"):
        return _unpack(blob, np.dtype("<" + encoding), count).astype(np.float64)
    dtype = np.dtype("<" + encoding)
    ints = _unpack(blob, dtype, count)
    out = ints.astype(np.float64)
    out[ints == np.iinfo(dtype).min] = np.nan
    return out


def encode_codes(codes: NDArray[np.int64], segments: int) -> tuple[str, bytes]:
    """Segment codes (-1 for "no segment"): int8 up to 127 segments, int16 beyond."""
    name = "i1" if segments <= 127 else "i2" if segments <= 32_767 else "i4"
    return name, _pack(np.asarray(codes).astype("<" + name))


def decode_codes(encoding: str, blob: bytes, count: int) -> NDArray[np.int64]:
    return _unpack(blob, np.dtype("<" + encoding), count).astype(np.int64)


def encode_integers(values: NDArray[np.int64]) -> tuple[str, bytes]:
    """Exact int64 facts (purchases, revenue in minor units), in the narrowest width."""
    values = np.asarray(values, dtype=np.int64)
    low = int(values.min()) if values.size else 0
    high = int(values.max()) if values.size else 0
    for name, dtype in _INTEGER_WIDTHS:
        info = np.iinfo(dtype)
        if info.min <= low and high <= info.max:
            return name, _pack(values.astype("<" + name))
    raise AssertionError("unreachable: int64 holds every int64")  # pragma: no cover


def decode_integers(encoding: str, blob: bytes, count: int) -> NDArray[np.int64]:
    return _unpack(blob, np.dtype("<" + encoding), count).astype(np.int64)


def encode_keys(keys: NDArray[np.int64]) -> bytes:
    """Ascending customer keys: the first key, then the gaps (mostly 1), packed and compressed."""
    keys = np.asarray(keys, dtype=np.int64)
    gaps = np.diff(keys, prepend=np.int64(0))
    name, blob = encode_integers(gaps)
    return name.encode() + b":" + blob


def decode_keys(blob: bytes, count: int) -> NDArray[np.int64]:
    name, _, packed = blob.partition(b":")
    return np.cumsum(decode_integers(name.decode(), packed, count), dtype=np.int64)
