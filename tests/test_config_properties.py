"""Property: any crm.toml, as bytes or as TOML data, loads or fails with lines that name the file
and where (a key path, or a line for text that is not TOML); never a traceback, never "unexpected".

Run longer with CRM_HYPOTHESIS_PROFILE=long (see tests/conftest.py).
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crm.core.checks import check_config
from crm.core.config import CrmConfig, load_config
from crm.core.errors import ConfigError, ProblemsError
from crm.core.key_paths import key_part

#: Keys crm knows, so generated files reach deep into the structuring, not only the first check.
KNOWN_KEYS = [
    "database",
    "url",
    "plugins",
    "enabled",
    "import",
    "customers",
    "interactions",
    "date_format",
    "delimiter",
    "customer_id",
    "name",
    "segmentations",
    "rules",
    "segment",
    "when",
    "default",
    "description",
    "action",
    "rfm",
    "bins",
    "monetary",
    "thresholds",
    "segment_map",
    "axes",
    "segments",
    "cells",
    "recency",
    "privacy",
    "mask",
    "fields",
    "email",
]
CONDITIONS = ["rfm.m >= 4", "country == 'DE'", "revenue > 1e400", "rfm.r in [1, 2]", "x ="]

keys = st.one_of(st.sampled_from(KNOWN_KEYS), st.text(max_size=6))
scalars = st.one_of(
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=True),
    st.booleans(),
    st.text(max_size=12),
    st.sampled_from(
        ["rfm", "sqlite:///x.db", "%Y%m%d", ";", "whitespace", "total", "hash", *CONDITIONS]
    ),
    st.dates(),
    st.times(),
    st.datetimes(),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(keys, inner, max_size=4),
    ),
    max_leaves=20,
)
documents = st.dictionaries(
    st.one_of(
        st.sampled_from(["database", "plugins", "import", "segmentations", "privacy", "rfm"]), keys
    ),
    st.one_of(st.dictionaries(keys, values, max_size=5), values),
    max_size=5,
)

#: How a line may say where: a key path starting with a key of the file, or a line number.
WHERE_WITHOUT_KEY = re.compile(
    r"(line \d+, column \d+: |not valid TOML: |the file is UTF-16|cannot be read: |\(top level\): )"
)


def assert_names_where(lines: tuple[str, ...], data: dict[str, Any] | None) -> None:
    assert lines, "an error without a single line"
    for line in lines:
        assert "unexpected" not in line.lower() or "unexpected top-level value" in line, line
        assert "Traceback" not in line
        if line.startswith("plugin "):  # a plugin's own error names the plugin
            raise AssertionError(f"a plugin crashed on generated options: {line}")
        assert line.startswith("crm.toml: "), line
        rest = line.removeprefix("crm.toml: ")
        if WHERE_WITHOUT_KEY.match(rest):
            continue
        top_keys = [key_part(k) for k in (data or {})]
        assert any(rest.startswith(f"{k}.") or rest.startswith(f"{k}:") for k in top_keys) or any(
            rest.startswith(f"{k}[") for k in top_keys
        ), f"{line!r} names none of the keys {top_keys}"


def _data_of(raw: bytes) -> dict[str, Any] | None:
    """What a valid file holds (so its errors must name its keys); None for an unreadable one."""
    try:
        return tomllib.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError, RecursionError):
        return None


def _tomlable(data: dict[str, Any]) -> str | None:
    try:
        return tomli_w.dumps(data)
    except (TypeError, ValueError):
        return None  # tomli_w cannot write every mix (a time with a UTC offset, say)


@pytest.fixture(scope="module")
def config_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("properties") / "crm.toml"


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(raw=st.binary(max_size=200))
def test_any_bytes_load_or_fail_naming_the_file(raw: bytes, config_file: Path) -> None:
    config_file.write_bytes(raw)
    try:
        config = load_config(config_file)
    except ConfigError as exc:
        assert_names_where(exc.lines, _data_of(raw))
    else:
        assert isinstance(config, CrmConfig)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=documents, cut=st.integers(min_value=0, max_value=400), noise=st.binary(max_size=3))
def test_any_toml_text_with_noise_loads_or_fails_naming_where(
    data: dict[str, Any], cut: int, noise: bytes, config_file: Path
) -> None:
    text = _tomlable(data)
    if text is None:
        return
    encoded = text.encode()
    raw = encoded[:cut] + noise + encoded[cut:]
    config_file.write_bytes(raw)
    try:
        load_config(config_file)
    except ConfigError as exc:
        assert_names_where(exc.lines, _data_of(raw))


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=documents)
def test_any_toml_data_passes_every_stage_or_names_each_key(
    data: dict[str, Any], config_file: Path
) -> None:
    text = _tomlable(data)
    if text is None:
        return
    config_file.write_text(text, encoding="utf-8")
    try:
        check_config(config_file, reserved_commands=())
    except ProblemsError as exc:
        assert_names_where(exc.lines, data)
    except ConfigError as exc:  # the file-level stage
        assert_names_where(exc.lines, data)
