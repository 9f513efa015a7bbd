"""Each customer's strongest link to a possible duplicate, kept per version of the customers.

`crm segment` publishes `idic.duplicate_weight`, which needs the whole duplicate search (about
100 s at a million customers). The result depends only on the customers' fields and the
`[idic.identify]` options, so it is kept in a file named by the database and the options, with
the version of the customers it was computed from (`crm.core.customer_version`): while that
version holds, runs read the file (milliseconds) instead of searching again. `crm identify`
always searches and refreshes the file.

The file holds integer customer keys and weights, no personal data; erasing a customer removes
the database's files (`customer_erased`). The directory is `$CRM_CACHE_DIR`, else
`$XDG_CACHE_HOME/crm`, else `~/.cache/crm`.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import attrs
import numpy as np
from sqlalchemy import Connection

from crm.core.customer_version import CustomersVersion, customers_version, database_identity
from crm.core.schema import Tables

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from crm_idic.identify import Identification
    from crm_idic.options import IdentifyOptions

    Links = tuple[NDArray[np.int64], NDArray[np.float64]]

#: Bumped when the search changes its results for the same customers and options.
METHOD_VERSION = 2


def cache_dir() -> Path:
    explicit = os.environ.get("CRM_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "crm"


def _options_digest(options: IdentifyOptions) -> str:
    data = json.dumps(attrs.asdict(options), sort_keys=True, default=str)
    return hashlib.sha256(f"{METHOD_VERSION}:{data}".encode()).hexdigest()[:16]


def _path(database: str, options: IdentifyOptions) -> Path:
    return cache_dir() / f"idic-{database}-{_options_digest(options)}.npz"


def strongest_links(found: Identification) -> Links:
    """(customer key, strongest weight) of every customer in a merge or review cluster."""
    c = found.clusters
    shown = c.pair >= 0
    weight = found.weight[c.pair[shown]]
    ends = np.r_[c.member[shown], c.survivor[shown]]
    keys = found.records.customer_id[ends]
    weights = np.r_[weight, weight]
    unique, inverse = np.unique(keys, return_inverse=True)
    strongest = np.full(unique.size, -np.inf)
    np.maximum.at(strongest, inverse, weights)
    return unique.astype(np.int64), strongest


def store(version: CustomersVersion | None, options: IdentifyOptions, links: Links) -> None:
    """Write the links for this version (atomically: a reader sees the old file or the new)."""
    if version is None:
        return
    path = _path(version.database, options)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as out:
            np.savez(out, version=np.array(version.version), keys=links[0], weights=links[1])
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def load(version: CustomersVersion | None, options: IdentifyOptions) -> Links | None:
    """The links stored for exactly this version, or None."""
    if version is None:
        return None
    path = _path(version.database, options)
    try:
        with np.load(path, allow_pickle=False) as data:
            if str(data["version"]) != version.version:
                return None
            return data["keys"].astype(np.int64), data["weights"].astype(np.float64)
    except (OSError, KeyError, ValueError):
        return None  # no file yet, or one being replaced or damaged: search again


def duplicate_links(connection: Connection, tables: Tables, options: IdentifyOptions) -> Links:
    """The links of the current customers: from the cache when it holds this version, else
    searched (and stored)."""
    from crm_idic.identify import identify

    version = customers_version(connection, tables)
    cached = load(version, options)
    if cached is not None:
        return cached
    links = strongest_links(identify(connection, tables, options))
    store(version, options, links)
    return links


def forget_database(connection: Connection) -> None:
    """Remove every cached result of this database (whatever the options)."""
    database = database_identity(connection)
    if database is None or not cache_dir().is_dir():
        return
    for path in cache_dir().glob(f"idic-{database}-*.npz"):
        path.unlink(missing_ok=True)
