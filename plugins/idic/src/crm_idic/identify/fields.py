"""The fields compared, their agreement levels, and the keys blocking rules may use.

A level is an index into the field's tuple (0 is "different", the last the strongest agreement);
-1 means the value is missing on either side, which counts as no evidence either way.
"""

from __future__ import annotations

from collections.abc import Mapping

FIELD_LEVELS: Mapping[str, tuple[str, ...]] = {
    # same: equal after normalisation; similar: one typo away, or the same mailbox at another
    # domain (same local part)
    "email": ("different", "similar", "same"),
    # same: equal in E.164 form; same_tail: the last 7 digits agree (another prefix, a move)
    "phone": ("different", "same_tail", "same"),
    # same: equal word sets after transliteration; similar: Jaro-Winkler >= 0.93 on the words
    # sorted or as written (typos, swapped first and last name); initials: the longest word
    # agrees and all words agree on their first letters ("J. Smith" and "John Smith")
    "name": ("different", "initials", "similar", "same"),
    # one_part: year, month or day differs (one typo), or day and month are swapped
    "birth_date": ("different", "one_part", "same"),
    "city": ("different", "similar", "same"),
    "postcode": ("different", "same"),
}
FIELDS: tuple[str, ...] = tuple(FIELD_LEVELS)

#: Keys a blocking rule may combine (each an exact match on a normalised value), with the field
#: each one is about: EM leaves a rule's own fields out when it learns from that rule's pairs.
BLOCKING_KEYS: Mapping[str, str] = {
    "email": "email",
    "email_local": "email",
    "phone": "phone",
    "phone_tail": "phone",
    "name": "name",
    "surname": "name",
    "birth_date": "birth_date",
    "city": "city",
    "postcode": "postcode",
}
