"""The journey report (`crm report journey`, and in `crm report --format html`).

Sections, all as of the report's analysis date and through the report model (core draws the
figures and hides groups smaller than `[reports] min_group_size`):
- "Journey stages": reached per stage as bars, one series per first-touch channel, with the
  stage table and the per-channel table (conversion and drop-off);
- "Paths to action": the most common paths as bands of a Sankey-like figure (aligned on the
  action), with the stage-to-stage flows (a Sankey's links) as a table;
- "4C view": needs, cost, convenience and communication per RFM segment of the run (when the
  run has an `rfm` segmentation);
- "Campaign ROI": ROI per campaign as bars (a campaign without a cost has no bar), with the
  campaign table and the reminder that attribution is not causation.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

import numpy as np
from attrs import frozen

from crm.core.components import ReportContext, Table
from crm.core.report_model import Figure, Section, Series, Text
from crm_aidas.campaign_roi import campaign_rows, campaign_table, read_campaign_events
from crm_aidas.four_c import four_c_rows, four_c_table
from crm_aidas.journey import (
    DAY,
    action_index,
    compute_journeys,
    journey_sequences,
    path_counts,
)
from crm_aidas.options import AidasOptions
from crm_aidas.stage_table import breakdown_table, stage_table

if TYPE_CHECKING:
    from crm_aidas.journey import Journeys

TOP_PATHS = 8


@frozen
class JourneyReport:
    options: AidasOptions

    def build(self, context: ReportContext) -> Sequence[Section]:
        name, stage_set = self.options.stage_set()
        connection, tables, day = context.connection, context.tables, context.as_of
        found = compute_journeys(connection, tables, stage_set, as_of=day)
        sections = [
            _stages_section(found, stage_set.names, name, str(day)),
            _paths_section(context, self.options),
        ]
        rfm = next((o for o in context.run.outcomes if o.name == "rfm"), None)
        if rfm is not None:
            events = read_campaign_events(connection, tables, day)
            action = action_index(stage_set)
            acted = found.observed[:, action]
            days = np.full(len(found), np.nan)
            days[acted] = (found.entry[acted, action] - found.entry[acted, 0]) / DAY
            rows = four_c_rows(
                connection, tables, day, context.run.facts, rfm.segment_names(),
                [s.name for s in rfm.segments], events,
                lambda: (found.customer_id, found.touches_to_action.astype(float), days),
                category=self.options.category_attribute, topic=self.options.topic_attribute,
                discount=self.options.discount_attribute,
                email_open_kind=self.options.email_open_kind,
            )  # fmt: skip
            sections.append(
                Section(
                    title="4C view", blocks=(four_c_table(rows, f"4C view by rfm as of {day}"),)
                )
            )
        sections.append(_campaign_section(context, self.options))
        return sections


def _stages_section(found: Journeys, names: tuple[str, ...], set_name: str, day: str) -> Section:
    table = stage_table(found, names, f"Journey {set_name} as of {day}")
    by_channel = breakdown_table(
        found, names, "channel", "first", f"Journey {set_name} by first-touch channel"
    )
    series = []
    for channel in sorted({str(row[0]) for row in by_channel.rows}):
        reached = [cast(int, row[2]) for row in by_channel.rows if row[0] == channel]
        series.append(Series(name=str(channel), values=reached, customers=reached))
    figure = Figure(
        kind="bar",
        title=f"Customers reaching each {set_name} stage, by first-touch channel",
        categories=names,
        series=series,
        y_label="customers",
        unit="customers",
        caption="A stage counts everyone who got to it or further; convert in the table is the "
        "share reaching the next stage.",
    )
    return Section(title="Journey stages", blocks=(figure, table, by_channel))


def _paths_section(context: ReportContext, options: AidasOptions) -> Section:
    name, stage_set = options.stage_set()
    plan, sequences = journey_sequences(stage_set, as_of=context.as_of, attributed=False)
    chunks = sequences.chunks(context.connection, context.tables)
    counts = path_counts(chunks, stage_set, plan, sequences)
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_PATHS]
    flows: dict[tuple[str, str], int] = {}
    for path, n in counts.items():
        for a, b in itertools.pairwise(path):
            key = (stage_set.names[a], stage_set.names[b])
            flows[key] = flows.get(key, 0) + n
    flow_table = Table(
        columns=("source", "target", "customers"),
        rows=tuple((a, b, n) for (a, b), n in sorted(flows.items(), key=lambda kv: -kv[1])),
        title=f"Journey {name}: flows between stages on the way to action",
        customers_column="customers",
    )
    blocks: list[Any] = [flow_table]
    if ranked:
        blocks.insert(0, paths_figure(ranked, stage_set.names, sum(counts.values())))
    else:
        blocks.insert(0, Text("Nobody reached the action stage yet."))
    return Section(title="Paths to action", blocks=tuple(blocks))


def paths_figure(
    ranked: Sequence[tuple[tuple[int, ...], int]], names: Sequence[str], acted: int
) -> Figure:
    """The paths as bands of a Sankey-like figure, aligned on the action: the last column is the
    action, the one before it the stage reached just before, and so on (a path skips the columns
    before its first stage)."""
    depth = max(len(path) for path, _ in ranked)
    action = names[ranked[0][0][-1]]  # every path ends at the action
    columns = [f"{n} stage{'s' if n > 1 else ''} before" for n in range(depth - 1, 0, -1)]
    series = []
    for path, customers in ranked:
        skipped = depth - len(path)
        labels = [""] * skipped + [names[k] for k in path]
        series.append(
            Series(
                name=" > ".join(names[k] for k in path),
                values=[None] * skipped + [customers] * len(path),
                customers=[0] * skipped + [customers] * len(path),
                labels=labels,
            )
        )
    shown = sum(n for _, n in ranked)
    return Figure(
        kind="sankey",
        title="The most common paths to the first action",
        categories=[*columns, action],
        series=series,
        unit="customers",
        caption=f"The {len(ranked)} most common paths ({shown:,} of the {acted:,} customers who "
        "acted), each a band as wide as its customers: stages in the order each customer first "
        "reached them, aligned on the action; a missing stage was skipped.",
    )


def _campaign_section(context: ReportContext, options: AidasOptions) -> Section:
    window, model = options.attribution_days, options.attribution
    rows = campaign_rows(
        context.connection, context.tables, context.as_of, window_days=window, model=model
    )
    table = campaign_table(rows, f"Campaigns: {model}-touch attribution, {window:g}-day window")
    blocks: list[Any] = []
    if rows:
        at = table.columns.index
        blocks.append(
            Figure(
                kind="bar",
                title="Return on investment per campaign (attributed revenue - cost) / cost",
                categories=[str(row[0]) for row in rows],
                series=[
                    Series(
                        name="roi",
                        values=[row[at("roi")] for row in rows],
                        customers=[int(row[at("reach")]) for row in rows],
                    )
                ],
                unit="x cost",
                caption="A campaign without a known cost has no bar. Attribution is not "
                "causation: see crm campaigns holdout for the uplift against untouched customers.",
            )
        )
    blocks.append(table)
    return Section(title="Campaign ROI", blocks=tuple(blocks))
