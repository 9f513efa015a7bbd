"""Customize and the IDIC view: each customer's next-best action with contact fields and consent
applied (`crm actions`), and which IDIC step each customer still misses (`crm idic`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import numpy as np
from attrs import frozen
from sqlalchemy import Connection, func, select

from crm.core.components import Table
from crm.core.facts import as_of_moment
from crm.core.schema import Tables

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from crm.core.pipeline import SegmentationResult
    from crm.core.privacy.masking import Masker
    from crm_idic.options import IdicOptions

#: Channels that need the customer's consent, and the consent column that grants it.
CONSENT_OF_CHANNEL = {"email": "consent_email", "sms": "consent_sms", "phone": "consent_phone"}
STEPS = ("identify", "differentiate", "interact", "customize")


@frozen
class ActionList:
    table: Table
    #: Customers left out for want of consent, by channel.
    without_consent: dict[str, int]


def _outcome(result: SegmentationResult, name: str) -> tuple[NDArray[np.int64], Any]:
    for outcome in result.outcomes:
        if outcome.name == name:
            return outcome.codes, outcome.segments
    raise KeyError(name)


def _contacts(connection: Connection, tables: Tables, ids: NDArray[np.int64]) -> dict[str, Any]:
    c = tables.customer
    columns = ("name", "email", "phone", *CONSENT_OF_CHANNEL.values())
    rows = connection.execute(select(c.c.id, *(c.c[n] for n in columns)).order_by(c.c.id)).all()
    found = (
        dict(zip(columns, zip(*[r[1:] for r in rows], strict=True), strict=True)) if rows else {}
    )
    keys = np.array([r[0] for r in rows], dtype=np.int64)
    positions = np.searchsorted(keys, ids)
    return {n: np.array(found.get(n, ()), dtype=object)[positions] for n in columns}


def action_list(
    result: SegmentationResult,
    connection: Connection,
    tables: Tables,
    options: IdicOptions,
    channel: str | None = None,
    masker: Masker | None = None,
) -> ActionList:
    """One row per customer with consent for the action's channel; contact fields masked by
    `masker` (the project's `[privacy]` rules) unless None."""
    from crm_idic.segmentations import ordered_rules

    codes, segments = _outcome(result, "idic_action")
    rules = ordered_rules(options)
    default = options.actions.default
    channels = [rule.channel for rule in rules] + [default.channel]
    actions = [rule.action for rule in rules] + [default.action]
    channels = channels[: len(segments)] if rules else [default.channel]
    actions = actions[: len(segments)] if rules else [default.action]
    facts = result.facts
    contact = _contacts(connection, tables, facts.customer_id)
    abcd_codes, abcd_segments = _outcome(result, "idic_abcd")
    rows: list[tuple[object, ...]] = []
    left_out: dict[str, int] = {}
    for k in range(len(facts)):
        code = int(codes[k])
        if code < 0:
            continue
        segment = segments[code]
        chosen = channels[code]
        if channel is not None and chosen != channel:
            continue
        consent = CONSENT_OF_CHANNEL.get(chosen)
        if consent is not None and contact[consent][k] is not True:
            left_out[chosen] = left_out.get(chosen, 0) + 1
            continue
        shown = {f: contact[f][k] for f in ("name", "email", "phone")}
        if masker is not None:
            shown = masker.mask_all(shown)
        rows.append(
            (
                facts.external_id[k], shown["name"], shown["email"],
                shown["phone"], chosen, actions[code], segment.description,
                abcd_segments[abcd_codes[k]].name if abcd_codes[k] >= 0 else None,
            )
        )  # fmt: skip
    columns = ("customer_id", "name", "email", "phone", "channel", "action", "reason", "abcd")
    return ActionList(Table(columns=columns, rows=tuple(rows), title="Next-best actions"), left_out)


def last_interactions(
    connection: Connection, tables: Tables, ids: NDArray[np.int64], as_of: Any
) -> NDArray[np.datetime64]:
    i = tables.interaction
    rows = connection.execute(
        select(i.c.customer_id, func.max(i.c.occurred_at))
        .where(i.c.occurred_at < as_of_moment(as_of))
        .group_by(i.c.customer_id)
    ).all()
    out = np.full(ids.size, np.datetime64("NaT"), dtype="datetime64[s]")
    if rows:
        keys = np.array([r[0] for r in rows], dtype=np.int64)
        when = np.array([np.datetime64(str(r[1]).replace(" ", "T")[:19]) for r in rows])
        positions = np.searchsorted(ids, keys)
        ok = (positions < ids.size) & (ids[np.minimum(positions, ids.size - 1)] == keys)
        out[positions[ok]] = when[ok]
    return out


def missing_steps(
    result: SegmentationResult, connection: Connection, tables: Tables, options: IdicOptions
) -> dict[str, NDArray[np.bool_] | None]:
    """Per IDIC step, which customers miss it (see the README); None for identify when runs
    do not identify (`[idic] identify_in_runs = false`): not known, rather than "nobody"."""
    facts, scores = result.facts, result.scores
    duplicate = np.nan_to_num(scores["idic.duplicate_weight"], nan=-np.inf)
    last = last_interactions(connection, tables, facts.customer_id, facts.as_of)
    window = np.datetime64(as_of_moment(facts.as_of) - timedelta(days=options.interact_within_days))
    codes, segments = _outcome(result, "idic_action")
    default = len(segments) - 1 if options.actions.rules else 0
    return {
        "identify": duplicate >= options.identify.review_weight
        if options.identify_in_runs
        else None,
        "differentiate": ~np.isfinite(scores["idic.potential"])
        | ~np.isfinite(scores["idic.value"]),
        "interact": np.isnat(last) | (last < window),
        "customize": (codes < 0) | (codes == default),
    }


NOT_RUN = "not run"


def idic_tables(
    result: SegmentationResult, missing: Mapping[str, NDArray[np.bool_] | None]
) -> tuple[Table, Table]:
    """(aggregate, per customer): customers missing each step, and each customer's steps; a
    step that was not checked (None) shows "not run"."""
    total = len(result.facts)

    def count(step: str) -> tuple[object, object]:
        column = missing[step]
        if column is None:
            return NOT_RUN, None
        return int(column.sum()), round(float(column.mean()), 4) if total else 0.0

    def state(step: str, k: int) -> str:
        column = missing[step]
        return NOT_RUN if column is None else "missing" if column[k] else "ok"

    aggregate = Table(
        columns=("step", "customers_missing", "share"),
        rows=tuple((step, *count(step)) for step in STEPS),
        title=f"IDIC steps missing, {total} customers",
    )
    per_customer = Table(
        columns=("customer_id", *STEPS, "missing"),
        rows=tuple(
            (
                result.facts.external_id[k],
                *(state(s, k) for s in STEPS),
                " ".join(s for s in STEPS if state(s, k) == "missing"),
            )
            for k in range(total)
        ),
        title="IDIC steps per customer",
    )
    return aggregate, per_customer


def rows_of(table: Table, keep: Sequence[bool]) -> Table:
    return Table(
        table.columns, tuple(r for r, k in zip(table.rows, keep, strict=True) if k), table.title
    )
