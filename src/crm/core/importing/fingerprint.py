"""The identity of an imported interaction, which makes re-importing a file add nothing.

Every interaction row stores a `source_key`, unique in the database:

* ``x:<interaction_id>`` when the file gives the row an `interaction_id` (your id of the event);
* otherwise ``f:<fingerprint>:<n>``. The fingerprint is the BLAKE2s hash (16-byte digest, 32
  lower-case hex digits) of the UTF-8 text of the row's normalised fields, in this order and
  joined by the unit separator U+001F:

  ``customer_id, kind, occurred_at, amount, channel, campaign, stage, order_id``

  where `customer_id` is the customer's external id as imported (surrounding spaces removed),
  `kind` the lower-case kind, `occurred_at` the UTC time written ``YYYY-MM-DD HH:MM:SS.ffffff``,
  `amount` the integer number of cents, and a missing value is the empty text.
  `n` is the occurrence number of that exact content in the file: 1 for the first row (by line)
  with this fingerprint, 2 for the second, and so on.

So two identical rows in one file (the same customer buying the same thing twice at the same
time) stay two interactions, and a re-import of the file yields the same keys and adds nothing.
The same event written differently (``12.3`` or ``12.30``; ``2024-03-31T12:00:00+02:00`` or
``2024-03-31 10:00:00``) has the same fingerprint. A later, longer export of the same history
adds only what is new: a third identical row gets ``n = 3``. Columns that feed no field (UCI's
StockCode, say) are not part of the fingerprint, and neither is the line number.

An existing key is never overwritten: interactions are events, and a row whose key is already
present counts as already present even if another column (one outside the fingerprint) changed.
`n` is computed in SQL over the staged file (ROW_NUMBER() OVER (PARTITION BY fingerprint ORDER
BY line)), never in a Python dict, so memory does not grow with the file.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import partial
from hashlib import blake2s
from operator import methodcaller
from typing import Any

#: The normalised fields a fingerprint covers, in hashing order.
FINGERPRINT_FIELDS = (
    "customer_id",
    "kind",
    "occurred_at",
    "amount",
    "channel",
    "campaign",
    "stage",
    "order_id",
)
SEPARATOR = "\x1f"

_digest: Callable[[bytes], Any] = partial(blake2s, digest_size=16)
_hexdigest = methodcaller("hexdigest")


def fingerprints(columns: Iterable[Iterable[str]]) -> list[str]:
    """The fingerprint of each row, from one iterable of texts per field of FINGERPRINT_FIELDS.

    C loops end to end (join, encode, hash, hex), because it runs once per imported row.
    """
    texts = map(SEPARATOR.join, zip(*columns, strict=False))
    return list(map(_hexdigest, map(_digest, map(str.encode, texts))))


def texts(values: list[Any]) -> list[str] | list[Any]:
    """A column of values as the texts a fingerprint hashes: None is empty, numbers in digits."""
    if None in values:
        return ["" if value is None else str(value) for value in values]
    if values and not isinstance(values[0], str):
        return list(map(str, values))
    return values
