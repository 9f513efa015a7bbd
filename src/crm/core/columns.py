"""The named columns segmentations read: customer attributes, facts and every metric.

Money is in currency units here, whoever computed it: `revenue` and every metric of kind "money"
(`rfm.monetary`, a CLV plugin's value) alike, so a rule reads `rfm.monetary >= 1000` as 1000.00
just as it reads `revenue >= 1000`. Scorers still produce and read minor units (cents), as the
facts hold them (`revenue_minor`); the conversion happens once, here.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from functools import partial
from typing import TYPE_CHECKING, Any

import numpy as np
from attrs import define, field

if TYPE_CHECKING:
    from numpy.typing import NDArray
    from sqlalchemy import Connection

    from crm.core.facts import Facts
    from crm.core.schema import Tables

#: Columns every segmentation may use, with what they hold.
BASE_COLUMNS: Mapping[str, str] = {
    "country": "customer country (text)",
    "city": "customer city (text)",
    "gender": "customer gender (text)",
    "age": "age in whole years on the analysis date",
    "purchases": "number of purchases (distinct orders) before the analysis date",
    "revenue": "total purchase amount before the analysis date (in currency units)",
    "recency_days": "days from the last purchase to the analysis date",
    "consent_email": "consent to email campaigns: 1 yes, 0 no, missing if never asked",
    "consent_sms": "consent to text messages: 1 yes, 0 no, missing if never asked",
    "consent_phone": "consent to phone calls: 1 yes, 0 no, missing if never asked",
    "consent_profiling": "consent to profiling (those who said no are never scored): 1 or missing",
}


#: Columns named `attributes.<key>` read the customer's `attributes` JSON (the extra columns of
#: a customer file imported with `--keep-extra`), as text; missing where the key is absent.
ATTRIBUTE_PREFIX = "attributes."


class WithAttributes(Collection[str]):
    """Column names plus every `attributes.<key>`: what `in` answers for checks at load time."""

    def __init__(self, names: Iterable[str]) -> None:
        self.names = tuple(names)

    def __contains__(self, name: object) -> bool:
        return name in self.names or (
            isinstance(name, str) and name.startswith(ATTRIBUTE_PREFIX) and len(name) > 10
        )

    def __iter__(self) -> Iterator[str]:
        return iter(self.names)

    def __len__(self) -> int:
        return len(self.names)


#: Minor units (cents) per currency unit.
MINOR_PER_UNIT = 100


def in_currency_units(minor: NDArray[Any]) -> NDArray[np.float64]:
    """Minor units to currency units. Dividing the integral cents is exact to the nearest double,
    the same double a rule's constant `12.34` parses to, so `== 12.34` matches 1234 cents."""
    return np.asarray(minor, dtype=np.float64) / MINOR_PER_UNIT


def _base_getters(facts: Facts) -> dict[str, Callable[[], NDArray[Any]]]:
    return {
        "country": lambda: facts.country,
        "city": lambda: facts.city,
        "gender": lambda: facts.gender,
        "age": facts.age_years,
        "purchases": lambda: facts.purchases.astype(np.float64),
        "revenue": lambda: in_currency_units(facts.revenue_minor),
        "recency_days": facts.recency_days,
        **{
            f"consent_{purpose}": partial(_consent, facts, purpose)
            for purpose in ("email", "sms", "phone", "profiling")
        },
    }


def _consent(facts: Facts, purpose: str) -> NDArray[np.float64]:
    column = facts.consent.get(purpose)
    return column if column is not None else np.full(len(facts), np.nan)


@define
class ColumnTable:
    """`Columns` over facts and scores; attribute columns are computed on first use."""

    facts: Facts
    #: Metrics (`<scorer>.<metric>`, float) and stages (`<stage model>`, text) by name.
    scores: Mapping[str, NDArray[Any]]
    #: Reads `attributes.<key>` for every customer of the facts (None: no attribute columns).
    attributes: Callable[[str], NDArray[Any]] | None = None
    #: The metrics of kind "money": held in minor units in `scores`, read in currency units.
    money: Collection[str] = ()
    _cache: dict[str, NDArray[Any]] = field(factory=dict, init=False)
    #: Segmentations' segment names by segmentation, added as each segmentation runs.
    _segments: dict[str, NDArray[Any]] = field(factory=dict, init=False)

    def add_text(self, name: str, values: NDArray[Any]) -> None:
        """A text column computed during the run (a segmentation's segment names); a name the
        table already answers keeps its meaning."""
        if name not in self:
            self._segments[name] = values

    def __contains__(self, name: object) -> bool:
        if self.attributes is not None and name in WithAttributes(()):
            return True
        return name in BASE_COLUMNS or name in self.scores or name in self._segments

    def __getitem__(self, name: str) -> NDArray[Any]:
        if name in self._segments:
            return self._segments[name]
        if name in self.scores and name not in self.money:
            return self.scores[name]
        if name not in self._cache:
            if self.attributes is not None and name in WithAttributes(()):
                self._cache[name] = self.attributes(name.removeprefix(ATTRIBUTE_PREFIX))
                return self._cache[name]
            if name in self.scores:
                self._cache[name] = in_currency_units(self.scores[name])
                return self._cache[name]
            getter = _base_getters(self.facts).get(name)
            if getter is None:
                raise KeyError(name)
            self._cache[name] = getter()
        return self._cache[name]

    def __len__(self) -> int:
        return len(self.facts)


def attribute_reader(
    connection: Connection, tables: Tables, facts: Facts
) -> Callable[[str], NDArray[Any]]:
    """`key -> text column` aligned with `facts.customer_id`, extracted from JSON in SQL."""

    def read(key: str) -> NDArray[Any]:
        from sqlalchemy import select

        customer = tables.customer
        value = customer.c.attributes[key].as_string()
        rows = connection.execute(select(customer.c.id, value).where(value.is_not(None))).all()
        column = np.full(len(facts), None, dtype=object)
        if rows:
            ids = np.array([row[0] for row in rows], dtype=np.int64)
            found = np.minimum(facts.index_of(ids), max(len(facts) - 1, 0))
            # Customers left out of the facts (profiling opt-out) are dropped, not misplaced.
            known = facts.customer_id[found] == ids if len(facts) else np.zeros(len(ids), bool)
            column[found[known]] = np.array([row[1] for row in rows], dtype=object)[known]
        return column

    return read
