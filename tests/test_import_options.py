"""Import options: wrong values are configuration errors that say what would be right."""

from __future__ import annotations

from pathlib import Path

import pytest

from crm.core.errors import ConfigError
from crm.core.importing import CUSTOMER_FIELDS, INTERACTION_FIELDS, ImportOptions


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"delimiter": ",,"}, "import delimiter ',,': expected one character"),
        ({"kind": "Email Open"}, "import kind 'Email Open': expected a lower-case word"),
        ({"date_format": "YYYYMMDD"}, "import date format 'YYYYMMDD': expected strptime"),
        ({"batch_size": 0}, "import batch size 0: expected a positive number of rows"),
        ({"file_format": "xlsx"}, "import file format 'xlsx': expected one of csv, jsonl"),
        ({"mapping": {"amount": " "}}, "import mapping 'amount': expected FIELD = \"column"),
    ],
)
def test_bad_options_are_config_errors(options: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        ImportOptions(**options)  # type: ignore[arg-type]
    assert str(caught.value).startswith(message)


def test_the_format_follows_the_file_name_unless_given() -> None:
    assert ImportOptions().format_of(Path("a.csv")) == "csv"
    assert ImportOptions().format_of(Path("a.txt")) == "csv"
    assert ImportOptions().format_of(Path("a.JSONL")) == "jsonl"
    assert ImportOptions().format_of(Path("a.ndjson")) == "jsonl"
    assert ImportOptions(file_format="jsonl").format_of(Path("a.log")) == "jsonl"


def test_options_are_frozen_values() -> None:
    mapping = {"customer_id": "CustomerID"}
    options = ImportOptions(mapping=mapping)
    mapping["amount"] = "Total"
    assert dict(options.mapping) == {"customer_id": "CustomerID"}
    assert options == ImportOptions(mapping={"customer_id": "CustomerID"})


def test_every_field_is_described_and_the_required_ones_come_first() -> None:
    for fields in (CUSTOMER_FIELDS, INTERACTION_FIELDS):
        assert all(field.description for field in fields)
        required = [field.name for field in fields if field.required]
        assert [field.name for field in fields[: len(required)]] == required
    assert [f.name for f in INTERACTION_FIELDS if f.required] == ["customer_id", "occurred_at"]
    assert [f.name for f in CUSTOMER_FIELDS if f.required] == ["customer_id"]
