"""crm.toml: read with tomllib, structured by cattrs into frozen attrs classes, in two phases.

Phase 1 structures the core tables (`[database]`, `[plugins]`, `[import]`, `[segmentations]`);
every other top-level table belongs to the plugin of the same name and stays raw until the plugin is
loaded. Phase 2 (`structure_options`) turns a plugin's table into the options class its specs
declare. Every problem becomes a line `crm.toml: <key path>: <what was wrong and what is expected>`.
"""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
import types
import typing
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

import attrs
import cattrs
from attrs import field, frozen
from cattrs.gen import make_dict_structure_fn, override

from crm.core.errors import ConfigError
from crm.core.privacy.options import PrivacyConfig

CONFIG_FILE_NAME = "crm.toml"
CORE_TABLES = ("database", "plugins", "import", "segmentations", "privacy")

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
    """`[import]`: default column mappings (field = "column in the file") and file format."""

    customers: Mapping[str, str] = field(factory=dict)
    interactions: Mapping[str, str] = field(factory=dict)
    campaigns: Mapping[str, str] = field(factory=dict)
    date_format: str | None = None
    delimiter: str = ","
    #: Keep unmapped columns of customer and interaction files in `attributes` (`--keep-extra`).
    keep_extra: bool = False


@frozen
class RuleConfig:
    """One rule: customers matching every condition in `when` get `segment`."""

    segment: str
    when: tuple[str, ...]
    description: str = ""
    action: str = ""


@frozen
class RuleSegmentationConfig:
    """`[segmentations.<name>]`: rules evaluated in order, first match wins, else `default`."""

    rules: tuple[RuleConfig, ...] = field(validator=attrs.validators.min_len(1))
    default: str | None = None
    description: str = ""


@frozen
class CrmConfig:
    database: DatabaseConfig = field(factory=DatabaseConfig)
    plugins: PluginsConfig = field(factory=PluginsConfig)
    import_: ImportConfig = field(factory=ImportConfig)
    segmentations: Mapping[str, RuleSegmentationConfig] = field(factory=dict)
    privacy: PrivacyConfig = field(factory=PrivacyConfig)
    #: The tables named after plugins, raw until `structure_options` (phase 2).
    plugin_tables: Mapping[str, Mapping[str, Any]] = field(factory=dict)
    #: The file this was read from; relative paths in it are relative to its folder.
    path: Path | None = None
    as_of: date | None = None

    @property
    def project_dir(self) -> Path:
        return self.path.parent if self.path is not None else Path.cwd()

    def to_dict(self) -> dict[str, Any]:
        """The effective configuration as TOML-ready data (what `config_hash` covers)."""
        data: dict[str, Any] = {
            "database": {k: v for k, v in converter.unstructure(self.database).items() if v},
            "plugins": converter.unstructure(self.plugins),
        }
        imports = {k: v for k, v in converter.unstructure(self.import_).items() if v}
        if imports and imports != {"delimiter": ","}:
            data["import"] = imports
        if self.segmentations:
            data["segmentations"] = converter.unstructure(dict(self.segmentations))
        if self.privacy != PrivacyConfig():
            data["privacy"] = converter.unstructure(self.privacy)
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


def _make_converter() -> cattrs.Converter:
    conv = cattrs.Converter(forbid_extra_keys=True)
    conv.register_structure_hook(str, _strict(str, (str,)))
    conv.register_structure_hook(int, _strict(int, (int,)))
    conv.register_structure_hook(float, _strict(float, (int, float)))
    conv.register_structure_hook(bool, _strict(bool, (bool,)))
    conv.register_structure_hook_func(
        lambda t: t == tuple[str, ...],
        lambda v, _: _not_list(v) if isinstance(v, str) else _tuple_of_str(v),
    )
    conv.register_structure_hook(
        RuleConfig,
        make_dict_structure_fn(
            RuleConfig, conv, when=override(struct_hook=lambda v, _: _tuple_of_str(v))
        ),
    )
    conv.register_structure_hook(
        CrmConfig,
        make_dict_structure_fn(
            CrmConfig,
            conv,
            import_=override(rename="import"),
            plugin_tables=override(omit=True),
            path=override(omit=True),
            as_of=override(omit=True),
        ),
    )
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


def _describe_type(cls: Any) -> str:
    names = {int: "an integer", float: "a number", str: "a string", bool: "true or false"}
    members = [m for m in typing.get_args(cls) if m is not type(None)] if cls is not None else []
    if typing.get_origin(cls) in (typing.Union, types.UnionType) and len(members) == 1:
        cls = members[0]
    if cls in names:
        return names[cls]
    if typing.get_origin(cls) is tuple:
        return "a list"
    return getattr(cls, "__name__", str(cls))


_KEY_MARK = "\x00key="


def _format_exception(exc: BaseException, cls: type | None) -> str:
    if isinstance(exc, cattrs.ForbiddenExtraKeysError):
        extra = ", ".join(repr(k) for k in sorted(exc.extra_fields))
        if attrs.has(exc.cl):
            allowed = ", ".join(
                a.alias.removesuffix("_") if a.name != "import_" else "import"
                for a in attrs.fields(exc.cl)
                if a.name not in ("plugin_tables", "path", "as_of")
            )
            return f"unknown key {extra} (expected one of: {allowed or 'no keys'})"
        return f"unknown key {extra}"
    if isinstance(exc, KeyError):
        return "required key is missing"
    if (
        isinstance(exc, ValueError | TypeError)
        and len(exc.args) >= 2
        and isinstance(exc.args[1], attrs.Attribute)
    ):
        if getattr(exc, "__notes__", None):  # cattrs already placed it at its attribute's path
            return str(exc.args[0])
        # attrs validators report at the class path; carry the attribute's key to _error_lines.
        return f"{exc.args[0]}{_KEY_MARK}{exc.args[1].alias}"
    if isinstance(exc, ValueError | TypeError) and str(exc).startswith("expected"):
        return str(exc)
    if isinstance(exc, ValueError | TypeError) and cls is not None:
        return f"expected {_describe_type(cls)}, {exc}"
    return str(exc) or exc.__class__.__name__


def _error_lines(exc: BaseException, source: str, prefix: str) -> list[str]:
    lines = []
    for line in cattrs.transform_error(exc, path="$", format_exception=_format_exception):
        message, _, where = line.rpartition(" @ ")
        message, mark, attribute = message.partition(_KEY_MARK)
        if mark:
            where = f"{where}.{attribute}"
        key = re.sub(r"\[['\"]([^'\"]*)['\"]\]", r".\1", where.removeprefix("$")).lstrip(".")
        key = f"{prefix}.{key}" if prefix and key else (prefix or key)
        lines.append(f"{source}: {key or '(top level)'}: {message}")
    return lines


def structure(data: Mapping[str, Any], cls: type[T], *, source: str, prefix: str = "") -> T:
    """Structure `data` into `cls`, turning every failure into ConfigError lines with key paths."""
    try:
        return converter.structure(data, cls)
    except (cattrs.BaseValidationError, ValueError, TypeError) as exc:
        raise ConfigError(_error_lines(exc, source, prefix)) from None


def parse_config(data: Mapping[str, Any], *, path: Path | None = None) -> CrmConfig:
    """Phase 1: the core tables into `CrmConfig`; other top-level tables are kept for plugins."""
    source = path.name if path is not None else CONFIG_FILE_NAME
    core = {k: v for k, v in data.items() if k in CORE_TABLES}
    plugin_tables: dict[str, Mapping[str, Any]] = {}
    problems = []
    for key, value in data.items():
        if key in CORE_TABLES:
            continue
        if isinstance(value, Mapping):
            plugin_tables[key] = value
        else:
            problems.append(
                f"{source}: {key}: unexpected top-level value; expected a table [{key}] of plugin "
                f"options or one of the core tables ({', '.join(CORE_TABLES)})"
            )
    if problems:
        raise ConfigError(problems)
    config = structure(core, CrmConfig, source=source)
    return attrs.evolve(config, plugin_tables=plugin_tables, path=path)


def load_config(path: Path) -> CrmConfig:
    """Read and structure crm.toml (phase 1)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"{path}: no such file; run `crm init` to write a default configuration, or pass "
            "--config PATH"
        ) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path.name}: not valid TOML: {exc}") from None
    return parse_config(data, path=path.resolve())


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
