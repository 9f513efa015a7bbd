"""Normalising the fields people write differently: e-mail, phone, names and places.

Each function maps one raw value to a comparable one, or None when nothing usable is left; they
run once per customer (about 2 microseconds each), never per pair.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from crm_idic.options import EmailDomainRule

_NOT_DIGIT = re.compile(r"\D+")
_NOT_WORD = re.compile(r"[^0-9a-z]+")
#: Letters NFKD leaves whole; their usual Latin transliteration.
_LETTERS = str.maketrans({"ø": "o", "æ": "ae", "œ": "oe", "ł": "l", "đ": "d", "ð": "d", "þ": "th"})  # fmt: skip
_TITLES = frozenset({"mr", "mrs", "ms", "miss", "dr", "prof", "herr", "frau", "mme", "mlle"})


def normalise_email(raw: str | None, rules: Mapping[str, EmailDomainRule]) -> str | None:
    """Lower case; for a domain with a rule, dots dropped and "+tag" cut as that provider does."""
    if not raw:
        return None
    text = raw.strip().lower()
    local, at, domain = text.rpartition("@")
    if not at or not local or not domain:
        return None
    rule = rules.get(domain)
    if rule is not None:
        if rule.plus_addressing:
            local = local.split("+", 1)[0]
        if rule.ignore_dots:
            local = local.replace(".", "")
        domain = rule.same_as or domain
    return f"{local}@{domain}"


def normalise_phone(raw: str | None, country_code: int | None, trunk: str | None) -> str | None:
    """E.164 ("+4930123456") where the country is known, else the digits as written.

    "+" or "00" starts an international number; a national number gets the region's country
    code after its trunk prefix (the leading 0 in most of Europe) is dropped. "(0)" in an
    international number is the trunk prefix written out of habit, and is dropped too.
    """
    if not raw:
        return None
    text = raw.strip().replace("(0)", "")
    international = text.lstrip("( ").startswith("+")  # "(+49) 30 1234567" too
    digits = _NOT_DIGIT.sub("", text)
    if len(digits) < 5:
        return None
    if international:
        return "+" + digits
    if digits.startswith("00"):
        return "+" + digits[2:]
    if country_code is None:
        return digits
    if trunk and digits.startswith(trunk):
        digits = digits[len(trunk) :]
    return f"+{country_code}{digits}"


@lru_cache(maxsize=512)
def region_prefixes(region: str) -> tuple[int, str | None]:
    """(country code, trunk prefix) of a region, from libphonenumber's metadata."""
    import phonenumbers

    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
    trunk = metadata.national_prefix if metadata is not None else None
    return phonenumbers.country_code_for_region(region), trunk


def fold(text: str) -> str:
    """Lower-case ASCII: accents removed (NFKD), other letters transliterated, ß -> ss."""
    decomposed = unicodedata.normalize("NFKD", text.casefold().translate(_LETTERS))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def name_words(raw: str | None) -> tuple[str, ...]:
    """The words of a name, folded, titles dropped, in the order written."""
    if not raw:
        return ()
    words = _NOT_WORD.sub(" ", fold(raw)).split()
    return tuple(word for word in words if word not in _TITLES)


def normalise_place(raw: str | None) -> str | None:
    if not raw:
        return None
    text = " ".join(_NOT_WORD.sub(" ", fold(raw)).split())
    return text or None
