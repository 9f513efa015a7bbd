"""`crm report idic`: the Pareto curve, the ABC table, the value x potential matrix as a heat map,
the engagement distribution, actions per ABCD segment and the possible duplicates.

Everything comes from the run in the report context (the `idic.*` metrics and the `idic_abcd`
and `idic_action` segmentations); core draws the figures and hides small groups.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from attrs import frozen

from crm import Table
from crm.core.components import ReportContext
from crm.core.report_model import Figure, Section, Series, Text
from crm_idic.differentiate import ABCD, pareto_share
from crm_idic.options import IdicOptions

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from crm.core.pipeline import SegmentationResult

CLASSES = ("A", "B", "C")


def _metric(run: SegmentationResult, name: str) -> NDArray[np.float64]:
    return np.asarray(run.scores[f"idic.{name}"], dtype=np.float64)


def _outcome(run: SegmentationResult, name: str) -> Any:
    return next((o for o in run.outcomes if o.name == name), None)


def value_section(run: SegmentationResult, options: IdicOptions) -> Section:
    value = np.nan_to_num(_metric(run, "value"), nan=0.0).clip(min=0)
    classes = _metric(run, "abc")
    total, customers = float(value.sum()), value.size
    rows = []
    for k, name in enumerate(CLASSES, start=1):
        held = classes == k
        count = int(held.sum())
        rows.append(
            (
                name, count, round(count / customers, 4) if customers else 0.0,
                round(float(value[held].sum()), 2),
                round(float(value[held].sum()) / total, 4) if total else 0.0,
            )
        )  # fmt: skip
    table = Table(
        columns=("class", "customers", "customer_share", "value", "value_share"),
        rows=tuple(rows),
        title="ABC classes by cumulative value share",
        name="abc",
        customers_column="customers",
    )
    ranked = np.sort(value)[::-1]
    steps = np.linspace(0.1, 1.0, 10)
    cumulative = [
        round(100 * float(ranked[: int(np.ceil(s * customers))].sum()) / total, 1) if total else 0.0
        for s in steps
    ]
    curve = Figure(
        kind="line",
        title="Pareto curve: share of value by share of customers",
        categories=[f"{round(100 * s)}%" for s in steps],
        series=[Series(name="value share", values=cumulative)],
        x_label="top customers by value",
        y_label="share of value",
        unit="%",
        caption="Each point: the share of all value brought by the top share of customers.",
    )
    top = options.value.pareto_top
    keys = int(_metric(run, "key_account").sum())
    text = Text(
        f"The top {round(100 * top)}% of customers bring {100 * pareto_share(value, top):.1f}% "
        f"of the value. Key accounts: {keys} (top {options.value.key_accounts_top}"
        + (
            f" or worth at least {options.value.key_account_threshold:g}"
            if options.value.key_account_threshold is not None
            else ""
        )
        + ")."
    )
    return Section(title="Value tiers", blocks=(text, curve, table))


def matrix_section(run: SegmentationResult) -> Section:
    cell = _metric(run, "abcd")
    counts = {name: int((cell == k).sum()) for k, (name, _) in enumerate(ABCD, start=1)}
    series = [
        Series(
            name="high value",
            values=[counts["B"], counts["A"]],
            customers=[counts["B"], counts["A"]],
            labels=["B retain", "A invest"],
        ),
        Series(
            name="low value",
            values=[counts["D"], counts["C"]],
            customers=[counts["D"], counts["C"]],
            labels=["D serve at low cost", "C develop"],
        ),
    ]
    figure = Figure(
        kind="heatmap",
        title="Value x potential (ABCD)",
        categories=["low potential", "high potential"],
        series=series,
        unit="customers",
        caption="Customers per cell; value is high for ABC classes A and B.",
    )
    table = Table(
        columns=("segment", "meaning", "customers"),
        rows=tuple((name, text, counts[name]) for name, text in ABCD),
        title="ABCD segments",
        name="abcd",
        customers_column="customers",
    )
    return Section(title="Value x potential", blocks=(figure, table))


def engagement_section(run: SegmentationResult) -> Section:
    score = _metric(run, "engagement")
    edges = [-np.inf, 0, 1, 2, 5, 10, 20, np.inf]
    labels = ["< 0", "0-1", "1-2", "2-5", "5-10", "10-20", ">= 20"]
    counts = np.histogram(np.nan_to_num(score), bins=edges)[0]
    figure = Figure.histogram(
        "Engagement scores",
        {label: int(n) for label, n in zip(labels, counts, strict=True)},
        x_label="engagement (recency-weighted interactions)",
        caption="Below 0: complaints and tickets outweigh recent activity.",
    )
    return Section(title="Engagement", blocks=(figure,))


def actions_section(run: SegmentationResult) -> Section:
    actions, cells = _outcome(run, "idic_action"), _outcome(run, "idic_abcd")
    if actions is None or cells is None:
        return Section(title="Actions per segment", blocks=(Text("No actions in this run."),))
    names, cell_names = actions.segment_names(), cells.segment_names()
    pairs: dict[tuple[str, str], int] = {}
    for action, cell in zip(names.tolist(), cell_names.tolist(), strict=True):
        pairs[(str(cell), str(action))] = pairs.get((str(cell), str(action)), 0) + 1
    table = Table(
        columns=("abcd", "action", "customers"),
        rows=tuple((c, a, n) for (c, a), n in sorted(pairs.items())),
        title="Next-best actions per ABCD segment",
        name="actions",
        customers_column="customers",
    )
    return Section(title="Actions per segment", blocks=(table,))


def duplicates_section(run: SegmentationResult, options: IdicOptions) -> Section:
    weight = _metric(run, "duplicate_weight")
    merge = int((weight >= options.identify.merge_weight).sum())
    review = int(((weight >= options.identify.review_weight) & (weight < options.identify.merge_weight)).sum())  # fmt: skip
    table = Table(
        columns=("decision", "customers"),
        rows=(("merge", merge), ("review", review)),
        title="Customers in a possible duplicate cluster",
        name="duplicates",
        customers_column="customers",
    )
    text = Text("`crm identify` lists the clusters with their evidence; `--merge` merges them.")
    return Section(title="Duplicate clusters", blocks=(text, table))


@frozen
class IdicReport:
    options: IdicOptions

    def build(self, context: ReportContext) -> tuple[Section, ...]:
        run = context.run
        return (
            value_section(run, self.options),
            matrix_section(run),
            engagement_section(run),
            actions_section(run),
            duplicates_section(run, self.options),
        )
