"""crm.toml: read with tomllib, structured by cattrs into frozen attrs classes, in two phases.

Phase 1 structures the core tables (`[database]`, `[plugins]`, `[import]`, `[segmentations]`);
every other top-level table belongs to the plugin of the same name and stays raw until the plugin is
loaded. Phase 2 (`structure_options`) turns a plugin's table into the options class its specs
declare. Every problem becomes a line `crm.toml: <key path>: <what was wrong and what is expected>`, and
every core table is checked even when another one is broken, so one run reports them all.

The database URL may hold a password; `redact_url` hides it, and `CrmConfig.to_dict` (what
`config show` prints and every stored run records) never contains it.
"""

from __future__ import annotations

import hashlib
import json
import typing
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

import attrs
import cattrs
from attrs import field, frozen
from cattrs.gen import make_dict_structure_fn, make_mapping_structure_fn

from crm.core.config_file import parse_toml, read_config_file
from crm.core.config_problems import describe_type, problem_lines
from crm.core.errors import ConfigError
from crm.core.import_formats import import_table_problems
from crm.core.key_paths import key_part
from crm.core.privacy.options import PrivacyConfig
from crm.core.redaction import redact_url

CONFIG_FILE_NAME = "crm.toml"
CORE_TABLES = ("database", "plugins", "import", "segmentations", "privacy", "reports")

T = TypeVar("T")


def _tuple_of_str(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise ValueError(f"expected a string or a list of strings, got {value!r}")


def _not_list(value: str) -> tuple[str, ...]:
    raise TypeError(f"expected a list of strings, got the string {value!r}")


@frozen
class DatabaseConfig:
    """`[database]`: `url` is any SQLAlchemy URL; default: SQLite file crm.db beside crm.toml."""

    url: str | None = None


@frozen
class PluginsConfig:
    """`[plugins]`: `enabled` lists the plugins that run; installed but unlisted ones stay off."""

    enabled: tuple[str, ...] = ()


@frozen
class ImportConfig:
    """`[import]`: default column mappings (field = "column in the file") and file format.

    The field names of the mappings are checked against the importer's fields by
    `crm.core.checks` (the importer is too heavy to import for every command).
    """

    customers: Mapping[str, str] = field(factory=dict)
    interactions: Mapping[str, str] = field(factory=dict)
    campaigns: Mapping[str, str] = field(factory=dict)
    date_format: str | None = None
    delimiter: str = ","
    #: Keep unmapped columns of customer and interaction files in `attributes` (`--keep-extra`).
    keep_extra: bool = False


#: The `when` of a rule: one condition as a string, or a list of conditions that must all hold.
#: Plugins type their own rules' conditions with it (crm_idic's next-best actions).
Conditions = typing.NewType("Conditions", tuple[str, ...])


@frozen
class RuleConfig:
    """One rule: customers matching every condition in `when` get `segment`."""

    segment: str
    when: Conditions
    description: str = ""
    action: str = ""


@frozen
class RuleSegmentationConfig:
    """`[segmentations.<name>]`: rules evaluated in order, first match wins, else `default`."""

    rules: tuple[RuleConfig, ...] = field(validator=attrs.validators.min_len(1))
    default: str | None = None
    description: str = ""


def _at_least_one(_instance: Any, attribute: Any, value: int) -> None:
    if value < 1:
        raise ValueError(f"{attribute.name} must be 1 or more (1 shows every group), got {value}")


@frozen
class ReportsConfig:
    """`[reports]`: `min_group_size` hides any cell, bar or row of a report that describes fewer
    customers (default 5), so a shared report cannot single out a person."""

    min_group_size: int = field(default=5, validator=_at_least_one)


@frozen
class CrmConfig:
    database: DatabaseConfig = field(factory=DatabaseConfig)
    plugins: PluginsConfig = field(factory=PluginsConfig)
    import_: ImportConfig = field(factory=ImportConfig)
    segmentations: Mapping[str, RuleSegmentationConfig] = field(factory=dict)
    privacy: PrivacyConfig = field(factory=PrivacyConfig)
    reports: ReportsConfig = field(factory=ReportsConfig)
    #: The tables named after plugins, raw until `structure_options` (phase 2).
    plugin_tables: Mapping[str, Mapping[str, Any]] = field(factory=dict)
    #: The file this was read from; relative paths in it are relative to its folder.
    path: Path | None = None
    as_of: date | None = None

    @property
    def project_dir(self) -> Path:
        return self.path.parent if self.path is not None else Path.cwd()

    def to_dict(self) -> dict[str, Any]:
        """The effective configuration as TOML-ready data: what `config show` prints, what every
        stored run records and what `hash` covers. A password in the database URL is replaced by
        `***`: it is a credential, not part of the analysis, and must not reach a database row."""
        database = {k: v for k, v in converter.unstructure(self.database).items() if v}
        if "url" in database:
            database["url"] = redact_url(database["url"])
        data: dict[str, Any] = {
            "database": database,
            "plugins": converter.unstructure(self.plugins),
        }
        imports = {k: v for k, v in converter.unstructure(self.import_).items() if v}
        if imports and imports != {"delimiter": ","}:
            data["import"] = imports
        if self.segmentations:
            data["segmentations"] = converter.unstructure(dict(self.segmentations))
        if self.privacy != PrivacyConfig():
            data["privacy"] = converter.unstructure(self.privacy)
        if self.reports != ReportsConfig():  # absent by default: older runs keep their hash
            data["reports"] = converter.unstructure(self.reports)
        for name, table in sorted(self.plugin_tables.items()):
            data[name] = dict(table)
        return data

    def hash(self) -> str:
        """A stable digest of the effective configuration, recorded with every run."""
        canonical = json.dumps(self.to_dict(), sort_keys=True, default=str)
        return hashlib.sha256(canonical.encode()).hexdigest()


def _strict(kind: type, accepts: tuple[type, ...]) -> Any:
    # cattrs would call str(5) or int("5"); a config value of the wrong type is a mistake to report.
    def hook(value: Any, _: Any) -> Any:
        if isinstance(value, bool) and bool not in accepts:
            raise TypeError(f"got {value!r}")
        if not isinstance(value, accepts):
            raise TypeError(f"got {value!r}")
        return kind(value)

    return hook


def _is_mapping(cls: Any) -> bool:
    return typing.get_origin(cls) in (Mapping, dict) or cls in (Mapping, dict)


def _mapping_hook(cls: Any, conv: cattrs.Converter) -> Any:
    # cattrs would call `.items()` on whatever it gets (a list: "'list' object has no attribute
    # 'items'"); a value that is not a table is a mistake to report with its key path.
    structure_items = make_mapping_structure_fn(cls, conv)

    def hook(value: Any, _: Any) -> Any:
        if not isinstance(value, Mapping):
            raise TypeError(f"expected {describe_type(cls)} (key = value lines), got {value!r}")
        return structure_items(value, cls)

    return hook


def _table_only(structure_fields: Any) -> Any:
    # An attrs class is a TOML table; cattrs would call `.keys()` on a list or a number.
    def hook(value: Any, cls: Any) -> Any:
        if not isinstance(value, Mapping):
            raise TypeError(f"expected a table (key = value lines), got {value!r}")
        return structure_fields(value, cls)

    return hook


def _make_converter() -> cattrs.Converter:
    conv = cattrs.Converter(forbid_extra_keys=True)
    conv.register_structure_hook_factory(_is_mapping, lambda cls: _mapping_hook(cls, conv))
    conv.register_structure_hook_factory(
        attrs.has, lambda cls: _table_only(make_dict_structure_fn(cls, conv))
    )
    conv.register_structure_hook(str, _strict(str, (str,)))
    conv.register_structure_hook(int, _strict(int, (int,)))
    conv.register_structure_hook(float, _strict(float, (int, float)))
    conv.register_structure_hook(bool, _strict(bool, (bool,)))
    conv.register_structure_hook_func(
        lambda t: t == tuple[str, ...],
        lambda v, _: _not_list(v) if isinstance(v, str) else _tuple_of_str(v),
    )
    conv.register_structure_hook(Conditions, lambda v, _: Conditions(_tuple_of_str(v)))
    conv.register_unstructure_hook(
        RuleConfig,
        lambda rule: {
            "segment": rule.segment,
            "when": list(rule.when),
            **({"description": rule.description} if rule.description else {}),
            **({"action": rule.action} if rule.action else {}),
        },
    )
    conv.register_unstructure_hook(tuple, list)
    return conv


#: The project's one cattrs converter: unknown keys are errors, not silently ignored.
converter = _make_converter()


def structure(data: Any, cls: type[T], *, source: str, prefix: str | tuple[str, ...] = "") -> T:
    """Structure `data` into `cls`, turning every failure into ConfigError lines with key paths.

    `prefix` is the key path of `data` in the file: "rfm", or a tuple of keys such as
    ("segmentations", name) when a key may itself hold a dot.
    """
    parts = tuple(prefix.split(".")) if isinstance(prefix, str) and prefix else tuple(prefix)
    try:
        return converter.structure(data, cls)
    except (cattrs.BaseValidationError, ValueError, TypeError, RecursionError) as exc:
        raise ConfigError(problem_lines(exc, source, parts)) from None


def _core_fields() -> dict[str, attrs.Attribute[Any]]:
    attrs.resolve_types(CrmConfig)  # the annotations are strings (from __future__ import)
    fields = {a.name.removesuffix("_"): a for a in attrs.fields(CrmConfig)}
    return {table: fields[table] for table in CORE_TABLES}


#: Core table name -> the CrmConfig attribute that holds it (`import` -> `import_`).
_CORE_FIELDS = _core_fields()


def _recovered_enabled(value: Any) -> tuple[str, ...]:
    # `enabled = "rfm"` is wrong, but it says which plugin is meant: checking goes on with it.
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list):
        return tuple(v for v in value if isinstance(v, str))
    return ()


def _table(data: Mapping[str, Any], name: str, source: str, problems: list[str]) -> Any:
    value = data.get(name, {})
    if isinstance(value, Mapping):
        return value
    problems.append(f"{source}: {name}: expected a table [{name}], got {value!r}")
    return {}


def parse_config_leniently(
    data: Mapping[str, Any], *, path: Path | None = None
) -> tuple[CrmConfig, list[str]]:
    """Phase 1 without stopping: the config with defaults where a table is broken, and every
    problem found. `crm config check` goes on to the plugins with it; `parse_config` raises."""
    source = path.name if path is not None else CONFIG_FILE_NAME
    problems: list[str] = []
    plugin_tables: dict[str, Mapping[str, Any]] = {}
    for key, value in data.items():
        if key in CORE_TABLES:
            continue
        if isinstance(value, Mapping):
            plugin_tables[key] = value
        else:
            problems.append(
                f"{source}: {key_part(key)}: unexpected top-level value; expected a table "
                f"[{key_part(key)}] of plugin options or one of the core tables "
                f"({', '.join(CORE_TABLES)})"
            )

    # Each table is structured on its own, so a broken one does not hide the others' problems.
    # Every table of CORE_TABLES but [segmentations] is one attrs class: the CrmConfig field of
    # that name (`import_` for [import]).
    parts: dict[str, Any] = {}
    for table in CORE_TABLES:
        if table == "segmentations":
            continue
        attribute = _CORE_FIELDS[table]
        assert attribute.type is not None  # resolved by _core_fields
        try:
            parts[attribute.name] = structure(
                _table(data, table, source, problems), attribute.type, source=source, prefix=table
            )
        except ConfigError as exc:
            problems.extend(exc.lines)
    if "plugins" not in parts:  # `enabled = "rfm"` still says which plugin is meant
        raw_plugins = _table(data, "plugins", source, [])
        parts["plugins"] = PluginsConfig(_recovered_enabled(raw_plugins.get("enabled")))
    if "import_" in parts:
        problems.extend(import_table_problems(parts["import_"], source))
    segmentations: dict[str, RuleSegmentationConfig] = {}
    for name, table in _table(data, "segmentations", source, problems).items():
        try:
            segmentations[name] = structure(
                table, RuleSegmentationConfig, source=source, prefix=("segmentations", name)
            )
        except ConfigError as exc:
            problems.extend(exc.lines)
    config = CrmConfig(**parts, segmentations=segmentations, plugin_tables=plugin_tables, path=path)
    return config, problems


def parse_config(data: Mapping[str, Any], *, path: Path | None = None) -> CrmConfig:
    """Phase 1: the core tables into `CrmConfig`; other top-level tables are kept for plugins.

    Raises one ConfigError holding every problem of every core table."""
    config, problems = parse_config_leniently(data, path=path)
    if problems:
        raise ConfigError(problems)
    return config


def read_config_data(path: Path) -> dict[str, Any]:
    """The TOML data of `path`; any unreadable file is a one-line ConfigError naming it."""
    return read_config_file(path)


def load_config(path: Path) -> CrmConfig:
    """Read and structure crm.toml (phase 1)."""
    return parse_config(read_config_file(path), path=path.resolve())


def loads_config(text: str, *, path: Path | None = None) -> CrmConfig:
    """Structure crm.toml given as text (phase 1), as `load_config` does a file."""
    source = path.name if path is not None else CONFIG_FILE_NAME
    return parse_config(parse_toml(text, source), path=path)


def structure_options(config: CrmConfig, plugin: str, options: type[T]) -> T:
    """Phase 2: the `[plugin]` table into the options class the plugin's specs declare."""
    source = config.path.name if config.path is not None else CONFIG_FILE_NAME
    return structure(config.plugin_tables.get(plugin, {}), options, source=source, prefix=plugin)


def default_config(enabled: tuple[str, ...]) -> dict[str, Any]:
    """The configuration `crm init` writes."""
    return {
        "database": {"url": "sqlite:///crm.db"},
        "plugins": {"enabled": list(enabled)},
    }
