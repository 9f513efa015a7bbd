"""Rule segmentations: the condition grammar, load-time checks and first-match evaluation."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from crm import Segment
from crm.core.config import parse_config
from crm.core.errors import ConfigError
from crm.core.rules import Condition, ConditionError, RuleSegmenter

COLUMNS = (
    "country",
    "city",
    "gender",
    "age",
    "purchases",
    "revenue",
    "recency_days",
    "rfm.r",
    "rfm.f",
    "rfm.m",
)


class Cols(dict[str, Any]):
    """The smallest `Columns`: named arrays of one length."""

    def __len__(self) -> int:
        return len(next(iter(self.values())))


def from_toml(rules: list[dict[str, Any]], **table: Any) -> RuleSegmenter:
    config = parse_config({"segmentations": {"geo": {"rules": rules, **table}}})
    return RuleSegmenter.from_config(
        "geo", config.segmentations["geo"], available_columns=COLUMNS, source="crm.toml"
    )


def problems(rules: list[dict[str, Any]], **table: Any) -> list[str]:
    with pytest.raises(ConfigError) as info:
        from_toml(rules, **table)
    return list(info.value.lines)


@pytest.mark.parametrize(
    ("text", "column", "op", "value"),
    [
        ("rfm.m >= 4", "rfm.m", ">=", 4.0),
        ("age<30", "age", "<", 30.0),
        ("revenue > 1.5e3", "revenue", ">", 1500.0),
        ("recency_days <= -1", "recency_days", "<=", -1.0),
        ("country == 'DE'", "country", "==", "DE"),
        ('country != "United Kingdom"', "country", "!=", "United Kingdom"),
        ("country in ['DE', \"AT\",]", "country", "in", ("DE", "AT")),
        ("rfm.r  not   in [1, 2]", "rfm.r", "not in", (1.0, 2.0)),
        ("city == 'a, b [c]'", "city", "==", "a, b [c]"),
    ],
)
def test_conditions_parse(text: str, column: str, op: str, value: object) -> None:
    assert Condition.parse(text) == Condition(column, op, value)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "detail"),
    [
        ("country = 'DE'", "got \"country = 'DE'\" (use == to compare for equality); expected"),
        ("country == DE", "got 'country == DE': text must be quoted, as in \"DE\"; expected"),
        ("rfm.m >= 4 5", "got 'rfm.m >= 4 5': expected one value, got '4 5'; expected"),
        ("rfm.m >=", "got 'rfm.m >=': no value after the operator; expected"),
        (">= 4", "got '>= 4'; expected"),
        ("age in [1, 'x']", "a list holds numbers or strings, not both"),
        ("age in [1, 2", "the list has no closing ']'"),
        ("age in []", "the list is empty"),
        ("age in 5", "'in' needs a [list] of values, such as 'age in [5]'; got 'age in 5'"),
        ("age == [5]", "'==' compares with one value (use 'in' for a list); got 'age == [5]'"),
        ("age > 'x'", "'>' compares numbers, not the string 'x'; got \"age > 'x'\""),
    ],
)
def test_malformed_conditions_say_what_was_found_and_what_is_expected(
    text: str, detail: str
) -> None:
    with pytest.raises(ConditionError) as info:
        Condition.parse(text)
    assert detail in str(info.value)


def test_malformed_condition_names_its_key_path() -> None:
    lines = problems(
        [
            {"segment": "DE", "when": "country == 'DE'"},
            {"segment": "Big", "when": ["rfm.m >= 4", "revenue >> 100"]},
            {"segment": "Old", "when": "age => 60"},
        ]
    )
    assert lines == [
        "crm.toml: segmentations.geo.rules[1].when[1]: got 'revenue >> 100': expected one value, "
        "got '> 100'; expected '<column> <op> <value>' (op: == != >= > <= < in, not in; value: a "
        "number, a quoted string or a [list] of them), such as 'rfm.m >= 4' or "
        '\'country in ["DE", "AT"]\'',
        "crm.toml: segmentations.geo.rules[2].when: got 'age => 60' (use == to compare for "
        "equality); expected '<column> <op> <value>' (op: == != >= > <= < in, not in; value: a "
        "number, a quoted string or a [list] of them), such as 'rfm.m >= 4' or "
        '\'country in ["DE", "AT"]\'',
    ]


def test_unknown_column_suggests_the_closest_and_lists_the_known() -> None:
    lines = problems([{"segment": "DE", "when": "contry == 'DE'"}])
    assert lines == [
        "crm.toml: segmentations.geo.rules[0].when: unknown column 'contry'; did you mean "
        "'country'? (known: age, city, country, gender, purchases, recency_days, revenue, rfm.f, "
        "rfm.m, rfm.r)"
    ]


def test_unknown_score_is_an_error_at_load_time() -> None:
    lines = problems([{"segment": "Valuable", "when": ["clv.value >= 500"]}])
    assert lines[0].startswith(
        "crm.toml: segmentations.geo.rules[0].when: unknown column 'clv.value' (known: age,"
    )


def test_text_and_numbers_do_not_mix() -> None:
    lines = problems(
        [
            {"segment": "A", "when": "country > 5"},
            {"segment": "B", "when": "country == 5"},
            {"segment": "C", "when": "rfm.m == '4'"},
        ]
    )
    assert lines == [
        "crm.toml: segmentations.geo.rules[0].when: 'country' holds text; compare it with == != "
        "in or not in and quoted strings",
        "crm.toml: segmentations.geo.rules[1].when: 'country' holds text; compare it with a "
        "quoted string, got country == 5",
        "crm.toml: segmentations.geo.rules[2].when: 'rfm.m' holds numbers; compare it with a "
        'number, got rfm.m == "4"',
    ]


def test_rule_shadowed_by_an_earlier_one_is_unreachable() -> None:
    lines = problems(
        [
            {"segment": "Big", "when": "rfm.m >= 4"},
            {"segment": "Big DE", "when": ["country == 'DE'", "rfm.m >= 4"]},
        ]
    )
    assert lines == [
        "crm.toml: segmentations.geo.rules[1]: the rule for 'Big DE' can never match: rules[0] "
        "(segment 'Big') comes first and matches every customer it would match"
    ]


def test_default_after_a_catch_all_rule_is_unreachable() -> None:
    lines = problems([{"segment": "Everyone", "when": []}], default="Nobody")
    assert lines == [
        "crm.toml: segmentations.geo.default: the default can never apply: rules[0] has no "
        "conditions and matches every customer"
    ]


def test_first_match_wins_then_default() -> None:
    segmenter = from_toml(
        [
            {"segment": "DACH high value", "when": ["country in ['DE', 'AT', 'CH']", "rfm.m >= 4"]},
            {"segment": "DACH", "when": "country in ['DE', 'AT', 'CH']", "action": "German mail"},
            {"segment": "Young", "when": "age < 30"},
        ],
        default="Rest",
    )
    assert [s.name for s in segmenter.segments] == ["DACH high value", "DACH", "Young", "Rest"]
    assert segmenter.segments[1].action == "German mail"
    assert segmenter.inputs == ("country", "rfm.m", "age")
    columns = Cols(
        {
            "country": np.array(["DE", "AT", "FR", None, "CH", "FR"], dtype=object),
            "rfm.m": np.array([5.0, 2.0, 5.0, 5.0, np.nan, 1.0]),
            "age": np.array([50.0, 20.0, 25.0, np.nan, 40.0, 45.0]),
        }
    )
    # DE/m5 -> high value; AT/m2 -> DACH (before Young); FR/25 -> Young; None -> Rest;
    # CH with unknown m -> DACH; FR/45 -> Rest.
    assert segmenter.assign(columns).tolist() == [0, 1, 2, 3, 1, 3]


def test_missing_values_never_match_even_negative_conditions() -> None:
    segmenter = RuleSegmenter.from_rules(
        [
            ("Not UK", "country != 'UK'"),
            ("Not low", "rfm.m not in [1, 2]"),
            ("Not 3", "rfm.m != 3"),
        ]
    )
    columns = Cols(
        {
            "country": np.array([None, "UK", "UK", "FR", "UK"], dtype=object),
            "rfm.m": np.array([np.nan, 3.0, 2.0, np.nan, np.nan]),
        }
    )
    # Row by row: nothing known -> no rule; UK/3 -> "not in [1, 2]"; UK/2 -> "!= 3"; FR -> "!=
    # 'UK'"; UK/unknown -> no rule. No default: matching no rule means no segment (-1).
    assert segmenter.assign(columns).tolist() == [-1, 1, 2, 0, -1]


def test_numbers_compare_exactly_at_the_boundary() -> None:
    segmenter = RuleSegmenter.from_rules(
        [
            ("ge", "revenue >= 10.5"),
            ("gt", "revenue > 5"),
            ("eq", "revenue == 5"),
            ("lt", "revenue < 5"),
        ]
    )
    columns = Cols({"revenue": np.array([10.5, 10.49, 5.0, 4.99])})
    assert segmenter.assign(columns).tolist() == [0, 1, 2, 3]


def test_plain_python_rules_keep_segment_texts_and_merge_repeated_segments() -> None:
    risk = Segment("Churn risk", "Overdue", "Call them")
    segmenter = RuleSegmenter.from_rules(
        [
            (risk, ["purchases >= 1", "recency_days > 90"]),
            ("Churn risk", "rfm.f <= 1"),
            ("Stable", []),
        ]
    )
    assert segmenter.segments == (risk, Segment("Stable"))
    columns = Cols(
        {
            "purchases": np.array([3.0, 1.0, 4.0]),
            "recency_days": np.array([120.0, 10.0, 10.0]),
            "rfm.f": np.array([3.0, 1.0, 4.0]),
        }
    )
    assert segmenter.assign(columns).tolist() == [0, 0, 1]


def test_plain_python_rules_are_checked_too() -> None:
    with pytest.raises(ConfigError) as info:
        RuleSegmenter.from_rules(
            [("A", "rfm.x >= 1")], available_columns=COLUMNS, source="crm_example"
        )
    assert info.value.lines == (
        "crm_example: rules[0].when: unknown column 'rfm.x'; did you mean 'rfm.r'? (known: age, "
        "city, country, gender, purchases, recency_days, revenue, rfm.f, rfm.m, rfm.r)",
    )


def test_default_segment_describes_itself() -> None:
    segmenter = from_toml([{"segment": "DE", "when": "country == 'DE'"}], default="Other")
    assert segmenter.segments[-1] == Segment("Other", "customers that match no rule")
