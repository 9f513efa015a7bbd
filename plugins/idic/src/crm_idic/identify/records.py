"""The customers to compare, as normalised columns and integer codes (one row per customer).

Loaded with one SELECT (merged customers left out: they live on in their survivor), normalised
once per customer, then every text column becomes an int64 code column (-1: missing), so that
blocking and exact comparisons are numpy operations on integers.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING, Any

import numpy as np
from attrs import frozen
from sqlalchemy import Connection, exists, select

from crm.core.schema import Tables
from crm_idic.identify.normalise import (
    name_words,
    normalise_email,
    normalise_phone,
    normalise_place,
    region_prefixes,
)

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from crm_idic.options import IdentifyOptions

    Codes = NDArray[np.int64]
    Texts = NDArray[np.object_]

PHONE_TAIL_DIGITS = 7
_NOT_DIGIT = re.compile(r"\D+")


def codes_of(values: Sequence[Any]) -> Codes:
    """Equal values get equal non-negative codes, None gets -1.

    The code is the value's 63-bit hash (this process's): factorising a million strings through
    a dict cost 2.4 s per column here, hashing 0.1 s. Two distinct values of a million share a
    code with a chance of about 10^-7, which would only add a candidate pair to compare.
    """
    count = len(values)
    hashes = np.fromiter(map(hash, values), dtype=np.int64, count=count)
    codes: Codes = hashes & np.int64(0x7FFF_FFFF_FFFF_FFFF)
    codes[np.fromiter((v is None for v in values), dtype=bool, count=count)] = -1
    return codes


@frozen
class Records:
    """Normalised customers, aligned by position (ascending database key)."""

    customer_id: NDArray[np.int64]
    external_id: Texts
    created_order: NDArray[np.int64]  # rank by created_at, then key: survivors come first
    raw: dict[str, Texts]  # the values as stored, for the evidence shown
    email: Texts
    name: Texts  # sorted folded words, joined by spaces
    name_written: Texts  # folded words in the order written
    city: Texts
    codes: dict[str, Codes]
    birth_ymd: NDArray[np.int64]  # (n, 3): year, month, day; -1 where unknown

    def __len__(self) -> int:
        return int(self.customer_id.shape[0])


def load_rows(connection: Connection, tables: Tables, postcode_key: str) -> list[Any]:
    c, alias = tables.customer, tables.customer_alias
    query = (
        select(
            c.c.id,
            c.c.external_id,
            c.c.created_at,
            c.c.name,
            c.c.email,
            c.c.phone,
            c.c.country,
            c.c.city,
            c.c.birth_date,
            c.c.attributes[postcode_key].as_string(),
        )
        .where(~exists().where(alias.c.merged_customer_id == c.c.id))
        .order_by(c.c.id)
    )
    return list(connection.execute(query).all())


def _phone_normaliser(options: IdentifyOptions) -> Any:
    default = region_prefixes(options.default_region) if options.default_region else (None, None)
    by_country = {k: region_prefixes(v) for k, v in options.country_regions.items()}

    def phone(raw: str | None, country: str | None) -> str | None:
        code, trunk = by_country.get(country, default) if country else default
        return normalise_phone(raw, code, trunk)

    return phone


def _birth_parts(values: Sequence[Any]) -> NDArray[np.int64]:
    parts = np.full((len(values), 3), -1, dtype=np.int64)
    for row, value in enumerate(values):
        if value is None:
            continue
        day = value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
        parts[row] = (day.year, day.month, day.day)
    return parts


def _names(raw: Sequence[str | None]) -> tuple[list[Any], list[Any], list[Any], list[Any]]:
    """Per customer: sorted words, words as written, the longest word, the sorted initials.

    Words repeat across customers far more than whole names, so each distinct written word
    is folded once (`name_words` on a word), which makes this loop several times faster.
    """
    folded: dict[str, tuple[str, ...]] = {}
    sorted_names: list[Any] = []
    written: list[Any] = []
    longest: list[Any] = []
    initials: list[Any] = []
    for value in raw:
        words: list[str] = []
        for token in (value or "").split():
            parts = folded.get(token)
            if parts is None:
                parts = folded[token] = name_words(token)
            words.extend(parts)
        if not words:
            sorted_names.append(None)
            written.append(None)
            longest.append(None)
            initials.append(None)
            continue
        ordered = sorted(words)
        sorted_names.append(" ".join(ordered))
        written.append(" ".join(words))
        longest.append(max(ordered, key=len))
        initials.append("".join(word[0] for word in ordered))
    return sorted_names, written, longest, initials


def text(values: Sequence[Any]) -> Texts:
    return np.array(values, dtype=object)


def build_records(rows: Sequence[Any], options: IdentifyOptions) -> Records:
    columns = list(zip(*rows, strict=True)) if rows else [()] * 10
    ids, external, created, names, emails, phones, countries, cities, born, postcodes = columns
    rules = options.email_rules()
    email = [normalise_email(e, rules) for e in emails]
    email_local = [None if e is None else e.rpartition("@")[0] for e in email]
    email_digits = [None if e is None else _NOT_DIGIT.sub("", e) for e in email_local]
    phone_of = _phone_normaliser(options)
    phone = [phone_of(p, k) for p, k in zip(phones, countries, strict=True)]
    tail = [
        None if p is None or len(p) < PHONE_TAIL_DIGITS else p[-PHONE_TAIL_DIGITS:] for p in phone
    ]
    name, name_written, surname, initials = _names(names)
    places: dict[Any, str | None] = {}
    city = [places[x] if x in places else places.setdefault(x, normalise_place(x)) for x in cities]
    postcode = [None if p is None else (p.replace(" ", "").upper() or None) for p in postcodes]
    birth = _birth_parts(born)
    birth_key = np.where(
        birth[:, 0] >= 0, birth[:, 0] * 10_000 + birth[:, 1] * 100 + birth[:, 2], -1
    )
    order = np.lexsort((np.array(ids, dtype=np.int64), np.array(created, dtype="datetime64[us]")))
    created_order = np.empty(len(ids), dtype=np.int64)
    created_order[order] = np.arange(len(ids))
    return Records(
        customer_id=np.array(ids, dtype=np.int64),
        external_id=text(external),
        created_order=created_order,
        raw={
            "email": text(emails),
            "phone": text(phones),
            "name": text(names),
            "birth_date": text([None if b is None else str(b)[:10] for b in born]),
            "city": text(cities),
            "postcode": text(postcodes),
        },
        email=text(email),
        name=text(name),
        name_written=text(name_written),
        city=text(city),
        codes={
            "email": codes_of(email),
            "email_local": codes_of(email_local),
            "email_digits": codes_of(email_digits),
            "phone": codes_of(phone),
            "phone_tail": codes_of(tail),
            "name": codes_of(name),
            "surname": codes_of(surname),
            "initials": codes_of(initials),
            "birth_date": birth_key.astype(np.int64),
            "city": codes_of(city),
            "postcode": codes_of(postcode),
        },
        birth_ymd=birth,
    )
