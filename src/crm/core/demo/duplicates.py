"""Planted duplicates for the sample data: second records of some customers, written the way a
second sign-up, a shop-floor form or another system's export writes them.

Each duplicate copies a random original and then, independently per field, garbles it: names
get a typo, swapped word order, an initial or lost accents; e-mail addresses change case, get a
"+tag", a typo or another domain, or go missing; phone numbers are reformatted (00 instead of +,
dashes, national form with the trunk 0) or go missing; birth dates lose a digit, swap day and
month or go missing; cities get a typo or go missing. A few garble so much that nothing but a
name is left, as in real files.

Households make the task honest: some extra customers share an original's surname, phone and
city but are different people (another first name, e-mail and birth date). They are not in the
truth file. The truth (`duplicates.csv`: customer_id, same_as) lists every planted duplicate
with its original.

A generator of its own, seeded from the sample's seed, draws all of this after everything else,
so the original customers and interactions are the same bytes with or without duplicates.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from datetime import date
from typing import TYPE_CHECKING, Any

import numpy as np
from attrs import frozen

from crm.core.demo.people import COUNTRIES, NAMES, People

if TYPE_CHECKING:
    from numpy.typing import NDArray

#: Planted duplicates per original customer, and households (distinct people) per customer.
DUPLICATE_SHARE = 0.05
HOUSEHOLD_SHARE = 0.01
TRUTH_FILE = "duplicates.csv"
_LETTERS = "abcdefghijklmnopqrstuvwxyz"


@frozen
class Planted:
    """Extra customer rows: `source[k]` is the original (0-based) row k copies or lives with;
    `duplicate[k]` says whether row k is the same person (True) or a household member."""

    source: NDArray[np.int64]
    duplicate: NDArray[np.bool_]
    people: People
    #: Days after the original's creation at which the extra record was created.
    delay_days: NDArray[np.int64]


def _typo(rng: np.random.Generator, word: str) -> str:
    if len(word) < 3:
        return word
    at = int(rng.integers(1, len(word) - 1))
    kind = int(rng.integers(0, 4))
    if kind == 0:  # substitution
        return word[:at] + _LETTERS[int(rng.integers(0, 26))] + word[at + 1 :]
    if kind == 1:  # deletion
        return word[:at] + word[at + 1 :]
    if kind == 2:  # transposition
        return word[: at - 1] + word[at] + word[at - 1] + word[at + 1 :]
    return word[:at] + word[at] + word[at:]  # a doubled letter


def _ascii(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def _name(rng: np.random.Generator, name: str) -> str:
    first, _, last = name.partition(" ")
    roll = rng.random()
    if roll < 0.30:
        return (
            f"{first} {_typo(rng, last)}" if rng.random() < 0.6 else f"{_typo(rng, first)} {last}"
        )
    if roll < 0.42:
        return f"{last} {first}" if rng.random() < 0.5 else f"{last}, {first}"
    if roll < 0.52:
        return f"{first[0]}. {last}"
    if roll < 0.64:
        return _ascii(name).upper() if rng.random() < 0.5 else _ascii(name)
    return name


def _email(rng: np.random.Generator, email: str) -> str:
    if not email:
        return ""
    local, _, domain = email.partition("@")
    roll = rng.random()
    if roll < 0.12:
        return ""
    if roll < 0.30:
        return email.upper() if rng.random() < 0.5 else email.capitalize()
    if roll < 0.45:
        return f"{local}+{('shop', 'news', 'crm')[int(rng.integers(0, 3))]}@{domain}"
    if roll < 0.55:
        return f"{_typo(rng, local)}@{domain}"
    if roll < 0.62:
        other = [d for d in ("example.com", "example.net", "example.org") if d != domain]
        return f"{local}@{other[int(rng.integers(0, len(other)))]}"
    return email


def _phone(rng: np.random.Generator, phone: str) -> str:
    if not phone:
        return ""
    prefix, exchange, subscriber = phone.split()
    roll = rng.random()
    if roll < 0.25:
        return ""
    if roll < 0.40:
        return f"00{prefix[1:]} {exchange} {subscriber}"
    if roll < 0.52:
        return f"{prefix}-{exchange}-{subscriber[:3]}-{subscriber[3:]}"
    if roll < 0.62:
        return f"({prefix}) {exchange}{subscriber}"
    if roll < 0.75:
        trunk = "" if prefix == "+1" else "0"
        return f"{trunk}{exchange} {subscriber}"
    return phone


def _birth_date(rng: np.random.Generator, born: str) -> str:
    if not born:
        return ""
    day = date.fromisoformat(born)
    roll = rng.random()
    if roll < 0.20:
        return ""
    if roll < 0.28 and day.day <= 12 and day.day != day.month:
        return date(day.year, day.day, day.month).isoformat()
    if roll < 0.34:
        return date(day.year + int(rng.choice([-1, 1])), day.month, min(day.day, 28)).isoformat()
    return born


def _household(
    rng: np.random.Generator, people: People, row: int, mailboxes: Counter[str]
) -> tuple[str, str, str]:
    """(name, e-mail, birth date) of someone else living with customer `row`.

    Namesakes in different households get numbered mailboxes (`lena.weber.home2@...`), as the
    originals do: a provider never gives one address to two people, and two records with the
    same name and the same address would be one person, whatever the truth file said."""
    first, _, last = people.name[row].partition(" ")
    country = next(c for c in COUNTRIES if c.name == people.country[row])
    pool = [n for names in NAMES[country.names][:2] for n in names if n != first]
    other = pool[int(rng.integers(0, len(pool)))]
    local = f"{_ascii(other).lower()}.{_ascii(last).lower()}.home"
    mailboxes[local] += 1
    email = f"{local}{mailboxes[local] if mailboxes[local] > 1 else ''}@example.org"
    year = int(rng.integers(1950, 2004))
    born = date(year, int(rng.integers(1, 13)), int(rng.integers(1, 29))).isoformat()
    return f"{other} {last}", email, born


def plant_duplicates(
    rng: np.random.Generator,
    people: People,
    duplicate_share: float = DUPLICATE_SHARE,
    household_share: float = HOUSEHOLD_SHARE,
) -> Planted:
    n = len(people.name)
    duplicates = round(n * duplicate_share)
    households = round(n * household_share)
    source = np.r_[
        rng.choice(n, size=duplicates, replace=False), rng.choice(n, size=households)
    ].astype(np.int64)
    is_duplicate = np.r_[np.ones(duplicates, bool), np.zeros(households, bool)]
    names, emails, phones, births, cities = [], [], [], [], []
    mailboxes: Counter[str] = Counter()
    for row, same in zip(source.tolist(), is_duplicate.tolist(), strict=True):
        city = str(people.city[row])
        if same:
            names.append(_name(rng, people.name[row]))
            emails.append(_email(rng, people.email[row]))
            phones.append(_phone(rng, people.phone[row]))
            births.append(_birth_date(rng, people.birth_date[row]))
            roll = rng.random()
            cities.append("" if roll < 0.15 else _typo(rng, city) if roll < 0.20 else city)
        else:
            name, email, born = _household(rng, people, row, mailboxes)
            names.append(name)
            emails.append(email)
            phones.append(people.phone[row])
            births.append(born)
            cities.append(city)
    pick: Any = lambda column: column[source]  # noqa: E731
    extra = People(
        name=names,
        email=emails,
        phone=phones,
        country=pick(people.country),
        city=np.array(cities, dtype=object),
        birth_date=births,
        gender=np.where(rng.random(source.size) < 0.3, "", pick(people.gender)).astype(object),
        consent_email=pick(people.consent_email),
        consent_sms=pick(people.consent_sms),
        consent_profiling=pick(people.consent_profiling),
    )
    delay = rng.integers(1, 400, size=source.size).astype(np.int64)
    return Planted(source, is_duplicate, extra, delay)
