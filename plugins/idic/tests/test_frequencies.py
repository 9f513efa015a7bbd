"""Term-frequency adjustment: exact agreement on a common value weighs less than on a rare one."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import numpy as np
import pytest
from crm_idic.identify import identify_records
from crm_idic.identify.fields import FIELDS
from crm_idic.identify.frequencies import adjustments, value_frequencies, with_exact_agreement
from crm_idic.identify.records import build_records
from crm_idic.options import FieldProbabilities, IdentifyOptions

# Eleven customers: five Anna Webers (0-4), two Noor Bos (5, 6), four other names, one without
# a name. Pairs 0-1 and 5-6 also share a birth date; nothing else links anyone.
NAMES = ["Anna Weber"] * 5 + ["Noor Bos"] * 2 + ["Lars Vos", "Eva Smit", "Iris Dekker", None]
BORN = [date(1980, 1, 1)] * 2 + [date(1981 + k, 2, 2) for k in range(3)]
BORN += [date(1990, 3, 3)] * 2 + [date(1970 + k, 4, 4) for k in range(4)]


def _rows() -> list[tuple[Any, ...]]:
    return [
        (k + 1, f"C{k}", datetime(2024, 1, 1 + k), name, f"c{k}@example.com", None, None, None,
         born, None)
        for k, (name, born) in enumerate(zip(NAMES, BORN, strict=True))
    ]  # fmt: skip


def test_the_frequency_is_the_share_of_other_customers_holding_the_value() -> None:
    records = build_records(_rows(), IdentifyOptions())
    found = value_frequencies(records, ["name"])
    name = found.of_customer["name"]
    # Ten customers have a name: an Anna Weber shares it with 4 of the 9 others, a Noor Bos
    # with 1 of 9, a unique name with none; the customer without a name has no frequency.
    assert name[:10].tolist() == pytest.approx([4 / 9] * 5 + [1 / 9] * 2 + [0.0] * 3)
    assert np.isnan(name[10])
    # Agreeing pairs: 10 Anna Weber pairs at 4/9, one Noor Bos pair at 1/9: (40 + 1) / 99.
    assert found.typical["name"] == pytest.approx(41 / 99)


def test_exact_agreement_is_adjusted_by_log2_of_typical_u_over_value_u() -> None:
    records = build_records(_rows(), IdentifyOptions())
    levels = np.full((3, len(FIELDS)), -1, dtype=np.int8)
    name = FIELDS.index("name")
    levels[:, name] = [3, 3, 2]  # same, same, similar (not adjusted)
    left = np.array([0, 5, 7])
    found = adjustments(levels, left, value_frequencies(records, ["name"]))
    # log2((41/99) / (4/9)) = log2(41/44) = -0.101879; log2((41/99) / (1/9)) = log2(41/11)
    assert found[:, name].tolist() == pytest.approx([-0.101879, 1.898121, 0.0], abs=1e-6)
    assert np.count_nonzero(np.delete(found, name, axis=1)) == 0


def test_a_field_whose_shared_values_are_all_alike_is_not_adjusted() -> None:
    # Every shared e-mail is held by exactly the two records of one pair: the typical value's
    # frequency is the value's own, so a near-unique field keeps its model weight.
    rows = [(*row[:4], f"p{k // 2}@example.com", *row[5:]) for k, row in enumerate(_rows())]
    records = build_records(rows, IdentifyOptions())
    levels = np.full((2, len(FIELDS)), -1, dtype=np.int8)
    levels[:, FIELDS.index("email")] = 2
    found = adjustments(levels, np.array([0, 2]), value_frequencies(records, ["email"]))
    assert found[:, FIELDS.index("email")].tolist() == pytest.approx([0.0, 0.0])


def test_a_pair_sharing_a_common_name_weighs_two_bits_less_than_one_sharing_a_rare_name() -> None:
    fixed = FieldProbabilities(
        m={"different": 0.5, "similar": 0.25, "same": 0.25},
        u={"different": 0.9, "similar": 0.05, "same": 0.05},
    )
    options = IdentifyOptions(
        fields={"email": fixed, "city": fixed}, random_pairs=50, blocking=(("name", "birth_date"),)
    )
    found = identify_records(build_records(_rows(), options), options)
    pairs = list(zip(found.pairs.left.tolist(), found.pairs.right.tolist(), strict=True))
    assert pairs == [(0, 1), (5, 6)]
    # Same levels on every field (name same, birth date same, email different): only the name's
    # frequency differs, 4/9 against 1/9, a factor of 4.
    assert (found.levels[0] == found.levels[1]).all()
    assert found.weight[1] - found.weight[0] == pytest.approx(2.0)
    plain = IdentifyOptions(
        fields={"email": fixed, "city": fixed}, random_pairs=50, blocking=(("name", "birth_date"),),
        term_frequencies=(),
    )  # fmt: skip
    without = identify_records(build_records(_rows(), plain), plain)
    assert without.weight[1] == pytest.approx(without.weight[0])


def test_the_top_level_u_is_the_exact_agreement_rate_over_all_pairs() -> None:
    records = build_records(_rows(), IdentifyOptions())
    found = value_frequencies(records, ["name"])
    # 10 customers with a name: 90 ordered pairs, of which 5 x 4 + 2 x 1 = 22 agree.
    assert found.agreement["name"] == pytest.approx(22 / 90)
    sampled = {"name": np.array([0.7, 0.05, 0.05, 0.2])}
    u = with_exact_agreement(sampled, found)
    scale = (1 - 22 / 90) / 0.8  # the other levels keep their proportions
    assert u["name"].tolist() == pytest.approx([0.7 * scale, 0.05 * scale, 0.05 * scale, 22 / 90])
