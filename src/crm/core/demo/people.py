"""Demographics for the sample data set: names, contact details, places, ages and consent.

Fixed small tables drawn with weights, so `crm demo` shows mixed countries and cities that read
like a European web shop with some American customers. Contact details are made up and cannot
reach anyone: e-mail addresses use the reserved `example.*` domains (RFC 2606) and phone numbers
use the 555 exchange that films use.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from datetime import date
from typing import TYPE_CHECKING, Any

import numpy as np
from attrs import frozen

if TYPE_CHECKING:
    from numpy.typing import NDArray


@frozen
class Country:
    name: str
    weight: float
    phone_prefix: str
    names: str  # key into NAMES
    cities: tuple[tuple[str, float], ...]


COUNTRIES: tuple[Country, ...] = (
    Country("Germany", 0.28, "+49", "de", (("Berlin", 0.3), ("Hamburg", 0.2), ("Munich", 0.2),
                                            ("Cologne", 0.15), ("Frankfurt", 0.15))),
    Country("France", 0.14, "+33", "fr", (("Paris", 0.45), ("Lyon", 0.2), ("Marseille", 0.15),
                                           ("Toulouse", 0.1), ("Lille", 0.1))),
    Country("United Kingdom", 0.14, "+44", "en", (("London", 0.5), ("Manchester", 0.2),
                                                   ("Birmingham", 0.15), ("Leeds", 0.15))),
    Country("United States", 0.12, "+1", "en", (("New York", 0.35), ("Chicago", 0.25),
                                                 ("Boston", 0.2), ("Seattle", 0.2))),
    Country("Netherlands", 0.09, "+31", "nl", (("Amsterdam", 0.45), ("Rotterdam", 0.3),
                                                ("Utrecht", 0.25))),
    Country("Spain", 0.09, "+34", "es", (("Madrid", 0.45), ("Barcelona", 0.35), ("Valencia", 0.2))),
    Country("Italy", 0.09, "+39", "it", (("Milan", 0.4), ("Rome", 0.35), ("Naples", 0.25))),
    Country("Austria", 0.05, "+43", "de", (("Vienna", 0.6), ("Graz", 0.2), ("Salzburg", 0.2))),
)  # fmt: skip

#: Per language: female first names, male first names, family names.
NAMES: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    key: (tuple(female.split()), tuple(male.split()), tuple(family.split()))
    for key, female, male, family in (
        ("de", "Anna Lena Julia Sophie Laura Katharina Marie Sabine",
         "Lukas Jonas Felix Maximilian Paul Stefan Jürgen Tobias",
         "Müller Schmidt Schneider Fischer Weber Meyer Wagner Becker Hoffmann Schäfer"),
        ("fr", "Camille Léa Chloé Manon Inès Élodie Juliette Claire",
         "Lucas Hugo Louis Théo Nicolas Julien François Mathieu",
         "Martin Bernard Dubois Thomas Robert Richard Petit Durand Leroy Moreau"),
        ("en", "Olivia Emily Sarah Jessica Hannah Grace Emma Charlotte",
         "James Oliver Jack Harry Michael Daniel Thomas William",
         "Smith Jones Taylor Brown Williams Wilson Johnson Davies Miller Clarke"),
        ("nl", "Emma Sanne Lotte Fleur Anouk Eva Iris Noor",
         "Daan Sem Bram Thijs Ruben Lars Joris Pieter",
         "Jansen Visser Smit Bakker Mulder Bos Vos Peters Hendriks Dekker"),
        ("es", "Lucía María Paula Carmen Sofía Elena Marta Laura",
         "Hugo Pablo Javier Alejandro Daniel Sergio José Álvaro",
         "García Fernández González Rodríguez López Martínez Sánchez Pérez Gómez Núñez"),
        ("it", "Giulia Chiara Francesca Sara Martina Alessia Valentina Elisa",
         "Marco Luca Alessandro Matteo Lorenzo Giuseppe Andrea Niccolò",
         "Rossi Russo Ferrari Esposito Bianchi Romano Colombo Ricci Marino Greco"),
    )
}  # fmt: skip

GENDERS = ("female", "male", "non-binary", "")
GENDER_WEIGHTS = (0.50, 0.44, 0.01, 0.05)
EMAIL_DOMAINS = ("example.com", "example.net", "example.org")
EMAIL_DOMAIN_WEIGHTS = (0.6, 0.25, 0.15)
#: Consent flags as (true, false, not asked) shares.
CONSENT_SHARES = {"email": (0.62, 0.28, 0.10), "sms": (0.30, 0.55, 0.15),
                  "profiling": (0.55, 0.30, 0.15)}  # fmt: skip
BIRTH_DATE_MISSING = 0.10
EMAIL_MISSING = 0.03
PHONE_MISSING = 0.20
OLDEST = 80


@frozen
class People:
    """Demographic columns, one entry per customer. Consent is 1 (yes), 0 (no) or -1 (not asked)."""

    name: list[str]
    email: list[str]
    phone: list[str]
    country: NDArray[Any]
    city: NDArray[Any]
    birth_date: list[str]
    gender: NDArray[Any]
    consent_email: NDArray[np.int8]
    consent_sms: NDArray[np.int8]
    consent_profiling: NDArray[np.int8]


def _ascii(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in decomposed if ch.isascii() and ch.isalpha())


def _consent(rng: np.random.Generator, n: int, shares: tuple[float, float, float]) -> NDArray[Any]:
    return rng.choice(np.array([1, 0, -1], dtype=np.int8), size=n, p=shares)


def _unique_emails(first: list[str], last: list[str], domain: list[str]) -> list[str]:
    # Namesakes get a running number, like real mailbox providers hand out.
    seen: Counter[str] = Counter()
    folded = {name: _ascii(name) for name in dict.fromkeys(first + last)}
    emails = []
    for f, la, d in zip(first, last, domain, strict=True):
        local = f"{folded[f]}.{folded[la]}"
        seen[local] += 1
        count = seen[local]
        emails.append(f"{local}{count if count > 1 else ''}@{d}")
    return emails


def draw_people(rng: np.random.Generator, n: int, end: date, years: int) -> People:
    """Draw `n` customers' demographics; everyone is at least 18 on the window's first day."""
    country_idx = rng.choice(len(COUNTRIES), size=n, p=[c.weight for c in COUNTRIES])
    city = np.empty(n, dtype=object)
    first = np.empty(n, dtype=object)
    last = np.empty(n, dtype=object)
    gender_idx = rng.choice(len(GENDERS), size=n, p=GENDER_WEIGHTS)
    # Customers without a stated gender still have a first name from one of the two lists.
    name_list = np.where(gender_idx < 2, gender_idx, rng.integers(0, 2, size=n))
    for ci, country in enumerate(COUNTRIES):
        in_country = np.flatnonzero(country_idx == ci)
        names, weights = zip(*country.cities, strict=True)
        city[in_country] = np.array(names, dtype=object)[
            rng.choice(len(names), size=in_country.size, p=weights)
        ]
        female, male, family = NAMES[country.names]
        for which, pool in ((0, female), (1, male)):
            rows = in_country[name_list[in_country] == which]
            first[rows] = np.array(pool, dtype=object)[rng.integers(0, len(pool), rows.size)]
        last[in_country] = np.array(family, dtype=object)[
            rng.integers(0, len(family), in_country.size)
        ]
    # Age at the end of the window: a smooth hump around 40-45 within [18 + years, 80].
    youngest = 18 + years
    age_days = np.round((youngest + (OLDEST - youngest) * rng.beta(2.0, 3.0, n)) * 365.2425)
    born = np.datetime64(end, "D") - age_days.astype("timedelta64[D]")
    birth_date = np.where(rng.random(n) < BIRTH_DATE_MISSING, "", born.astype(str)).tolist()
    domain = np.array(EMAIL_DOMAINS)[
        rng.choice(len(EMAIL_DOMAINS), size=n, p=EMAIL_DOMAIN_WEIGHTS)
    ].tolist()
    email = _unique_emails(first.tolist(), last.tolist(), domain)
    email_missing = rng.random(n) < EMAIL_MISSING
    prefixes = np.array([c.phone_prefix for c in COUNTRIES], dtype=object)[country_idx]
    subscriber = rng.integers(0, 10_000_000, size=n)
    phone_missing = rng.random(n) < PHONE_MISSING
    return People(
        name=[f"{f} {la}" for f, la in zip(first.tolist(), last.tolist(), strict=True)],
        email=["" if miss else e for e, miss in zip(email, email_missing.tolist(), strict=True)],
        phone=[
            "" if miss else f"{p} 555 {s:07d}"
            for p, s, miss in zip(
                prefixes.tolist(), subscriber.tolist(), phone_missing.tolist(), strict=True
            )
        ],
        country=np.array([c.name for c in COUNTRIES], dtype=object)[country_idx],
        city=city,
        birth_date=birth_date,
        gender=np.array(GENDERS, dtype=object)[gender_idx],
        consent_email=_consent(rng, n, CONSENT_SHARES["email"]),
        consent_sms=_consent(rng, n, CONSENT_SHARES["sms"]),
        consent_profiling=_consent(rng, n, CONSENT_SHARES["profiling"]),
    )
