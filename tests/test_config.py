"""crm.toml: structuring, and error messages that name the key and what was expected."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import tomli_w
from attrs import frozen

from crm.core.config import (
    CrmConfig,
    load_config,
    parse_config,
    structure_options,
)
from crm.core.errors import ConfigError


def errors_of(data: dict) -> list[str]:  # type: ignore[type-arg]
    with pytest.raises(ConfigError) as info:
        parse_config(data)
    return list(info.value.lines)


def test_empty_config_has_defaults() -> None:
    config = parse_config({})
    assert config.database.url is None
    assert config.plugins.enabled == ()
    assert config.segmentations == {}


def test_plugin_tables_are_kept_raw_for_phase_two() -> None:
    config = parse_config({"plugins": {"enabled": ["rfm"]}, "rfm": {"bins": 4}})
    assert config.plugin_tables == {"rfm": {"bins": 4}}


def test_misspelled_key_names_the_table_and_the_allowed_keys() -> None:
    assert errors_of({"plugins": {"enabeld": ["rfm"]}}) == [
        "crm.toml: plugins: unknown key 'enabeld' (expected one of: enabled)"
    ]


def test_wrong_type_names_the_key_path_and_the_expected_type() -> None:
    assert errors_of({"database": {"url": 5}}) == [
        "crm.toml: database.url: expected a string, got 5"
    ]


def test_a_string_where_a_list_belongs_is_not_split_into_characters() -> None:
    assert errors_of({"plugins": {"enabled": "rfm"}}) == [
        "crm.toml: plugins.enabled: expected a list of strings, got the string 'rfm'"
    ]


def test_nested_rule_errors_carry_the_full_path() -> None:
    lines = errors_of({"segmentations": {"region": {"rules": [{"when": "country == 'GB'"}]}}})
    assert lines == ["crm.toml: segmentations.region.rules[0].segment: required key is missing"]


def test_every_problem_is_reported_not_just_the_first() -> None:
    lines = errors_of({"database": {"url": 1}, "plugins": {"enabled": 3}})
    assert len(lines) == 2
    assert any(line.startswith("crm.toml: database.url:") for line in lines)
    assert any(line.startswith("crm.toml: plugins.enabled:") for line in lines)


def test_a_scalar_at_top_level_is_rejected_with_the_core_tables_listed() -> None:
    (line,) = errors_of({"rfm": 5})
    assert line.startswith("crm.toml: rfm: unexpected top-level value")
    assert "database, plugins, import, segmentations" in line


def test_invalid_toml_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "crm.toml"
    path.write_text("[plugins\nenabled = 1\n")
    with pytest.raises(ConfigError, match=r"crm.toml: not valid TOML"):
        load_config(path)


def test_missing_file_suggests_crm_init(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="crm init"):
        load_config(tmp_path / "crm.toml")


def test_rule_condition_accepts_one_string_or_a_list(tmp_path: Path) -> None:
    path = tmp_path / "crm.toml"
    path.write_text(
        tomli_w.dumps(
            {
                "segmentations": {
                    "region": {
                        "rules": [
                            {"segment": "UK", "when": "country == 'GB'"},
                            {"segment": "Big", "when": ["rfm.m >= 4", "age >= 30"]},
                        ]
                    }
                }
            }
        )
    )
    rules = load_config(path).segmentations["region"].rules
    assert rules[0].when == ("country == 'GB'",)
    assert rules[1].when == ("rfm.m >= 4", "age >= 30")


@frozen
class ExampleOptions:
    bins: int = 5
    monetary: str = "total"


def test_plugin_options_structure_with_the_plugin_prefix_in_errors() -> None:
    config = parse_config({"rfm": {"bins": "five", "extra": 1}})
    with pytest.raises(ConfigError) as info:
        structure_options(config, "rfm", ExampleOptions)
    assert sorted(info.value.lines) == [
        "crm.toml: rfm.bins: expected an integer, got 'five'",
        "crm.toml: rfm: unknown key 'extra' (expected one of: bins, monetary)",
    ]


def test_absent_plugin_table_gives_default_options() -> None:
    assert structure_options(parse_config({}), "rfm", ExampleOptions) == ExampleOptions()


def test_config_hash_is_stable_and_changes_with_the_config() -> None:
    a = parse_config({"plugins": {"enabled": ["rfm"]}, "rfm": {"bins": 5}})
    b = parse_config({"rfm": {"bins": 5}, "plugins": {"enabled": ["rfm"]}})
    c = parse_config({"plugins": {"enabled": ["rfm"]}, "rfm": {"bins": 4}})
    assert a.hash() == b.hash()
    assert a.hash() != c.hash()


def test_to_dict_round_trips_through_parse() -> None:
    data = {
        "database": {"url": "sqlite:///x.db"},
        "plugins": {"enabled": ["rfm"]},
        "segmentations": {"r": {"rules": [{"segment": "A", "when": ["age > 3"]}]}},
        "rfm": {"bins": 4},
    }
    config = parse_config(data)
    assert parse_config(config.to_dict()) == config
    assert isinstance(config, CrmConfig)
    assert config.as_of is None or isinstance(config.as_of, date)


def test_attrs_validator_errors_name_the_attribute_key() -> None:
    import attrs

    @attrs.frozen
    class Bounded:
        bins: int = attrs.field(default=5, validator=attrs.validators.in_(range(2, 11)))

    with pytest.raises(ConfigError) as info:
        structure_options(parse_config({"rfm": {"bins": 50}}), "rfm", Bounded)
    assert info.value.lines == ("crm.toml: rfm.bins: 'bins' must be in range(2, 11) (got 50)",)
