"""The CLV report sections: the model card, the CLV distribution, the frequency x recency
matrices of expected transactions and P(alive), and the holdout check.

Everything comes from the run (fresh or stored), so a report on an old run shows that run: the
distribution and the matrices from its scores, the model card and the holdout check from the
artifacts its scorer attached (`clv.model_card`, `clv.validation`). Nothing is refitted.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import numpy as np
from attrs import frozen

from crm import Table
from crm.core.components import ReportContext
from crm.core.report_model import Figure, Section, Series, Text
from crm_clv.holdout_report import holdout_section
from crm_clv.options import ClvOptions

if TYPE_CHECKING:
    from numpy.typing import NDArray

FREQUENCY_BUCKETS = ("0", "1", "2", "3", "4", "5", "6", "7+")
RECENCY_BUCKETS = 5
CARD_TITLE = "CLV model card"


def _scores(context: ReportContext, metric: str) -> NDArray[np.float64]:
    return np.asarray(context.run.scores[f"clv.{metric}"], dtype=np.float64)


def frequency_recency_matrix(
    x: NDArray[np.float64],
    t_x: NDArray[np.float64],
    age: NDArray[np.float64],
    values: NDArray[np.float64],
) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """Mean of `values` and customers per (frequency 0..7+, recency t_x/T in fifths) cell.

    Recency is the share of a customer's age at which the last purchase came (0 = only the
    first purchase, 1 = bought on the last day), so customers of every age share the matrix.
    """
    scored = np.isfinite(values) & np.isfinite(x)
    rows = np.minimum(x[scored], 7).astype(np.int64)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(age[scored] > 0, t_x[scored] / age[scored], 0.0)
    columns = np.minimum((share * RECENCY_BUCKETS).astype(np.int64), RECENCY_BUCKETS - 1)
    cells = rows * RECENCY_BUCKETS + columns
    size = len(FREQUENCY_BUCKETS) * RECENCY_BUCKETS
    counts = np.bincount(cells, minlength=size)
    sums = np.bincount(cells, weights=values[scored], minlength=size)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
    shape = (len(FREQUENCY_BUCKETS), RECENCY_BUCKETS)
    return means.reshape(shape), counts.reshape(shape)


def _matrix_figure(title: str, means: NDArray[np.float64], counts: NDArray[np.int64]) -> Figure:
    labels = [f"{i * 20}-{(i + 1) * 20}%" for i in range(RECENCY_BUCKETS)]
    series = tuple(
        Series(
            name=f"x = {name}",
            values=[None if np.isnan(v) else round(float(v), 4) for v in means[i]],
            customers=[int(c) for c in counts[i]],
        )
        for i, name in enumerate(FREQUENCY_BUCKETS)
    )
    return Figure(
        kind="heatmap",
        title=title,
        categories=labels,
        series=series,
        x_label="recency: last purchase at this share of the customer's age",
        y_label="repeat transactions x",
        unit="",
        caption="Mean per cell; empty cells have no customers.",
    )


def clv_histogram(clv_minor: NDArray[np.float64], bins: int = 10) -> dict[str, int]:
    """Customers per CLV bin (currency units), bins by deciles of the scored customers."""
    values = clv_minor[np.isfinite(clv_minor)] / 100
    if len(values) == 0:
        return {}
    edges = np.unique(np.quantile(values, np.linspace(0, 1, bins + 1)))
    if len(edges) < 2:
        return {f"{edges[0]:.2f}": len(values)}
    index = np.clip(np.searchsorted(edges, values, side="right") - 1, 0, len(edges) - 2)
    counts = np.bincount(index, minlength=len(edges) - 1)
    return {f"{edges[i]:.2f}-{edges[i + 1]:.2f}": int(counts[i]) for i in range(len(counts))}


@frozen
class ClvReport:
    options: ClvOptions

    def build(self, context: ReportContext) -> list[Section]:
        x, t_x, age = _scores(context, "x"), _scores(context, "t_x"), _scores(context, "age")
        artifacts = context.run.artifacts
        sections = [model_card_section(artifacts.get("clv.model_card"))]
        clv = _scores(context, "clv")
        sections.append(
            Section(
                title="Predicted CLV",
                blocks=(
                    Figure.histogram(
                        f"Customers per predicted CLV over {self.options.horizon_days} days",
                        clv_histogram(clv),
                        x_label="CLV (currency units)",
                        caption="Bins are deciles of the scored customers.",
                    ),
                ),
            )
        )
        for metric, title in (
            ("expected_transactions", "Expected transactions over the horizon"),
            ("p_alive", "Probability alive"),
        ):
            means, counts = frequency_recency_matrix(x, t_x, age, _scores(context, metric))
            sections.append(
                Section(
                    title=f"{title}, by frequency and recency",
                    blocks=(_matrix_figure(title, means, counts),),
                )
            )
        sections.append(holdout_section(artifacts.get("clv.validation")))
        return sections


def _significant(value: float | None, digits: int = 6) -> Decimal | None:
    """`value` to `digits` significant digits: a standard error of 0.0037 must not print as 0
    (a table shows floats to two decimals), and a Decimal prints as it is."""
    if value is None or not np.isfinite(value):
        return None
    rounded = Decimal(f"{value:.{digits}g}")
    return rounded.quantize(Decimal(1)) if abs(rounded) >= 10**digits else rounded


def model_card_section(card: Mapping[str, Any] | None) -> Section:
    """The run's `clv.model_card` artifact as a section: what was fitted, on what, how well."""
    if card is None:
        return Section(
            title=CARD_TITLE,
            blocks=(
                Text("This run has no CLV model card (it was stored before crm-clv kept one)."),
            ),
        )
    window = card["data_window"]
    error = card.get("holdout_error")
    facts = (
        ("model", card["model"]),
        ("spend model", card["spend_model"]),
        ("time unit", card["time_unit"]),
        ("data from", window["first_day"]),
        ("data to", window["last_day"]),
        ("customers", card["customers"]),
        ("log-likelihood", round(card["log_likelihood"], 2)),
        ("converged", "yes" if card["converged"] else "no"),
        # a number for csv and json: (predicted - actual) / actual of the holdout total, in %
        ("holdout error %", "not validated" if error is None else round(100 * error, 1)),
    )
    rows = tuple(
        (name, _significant(value), _significant(card["std_errors"][name]))
        for name, value in card["params"].items()
    )
    spend = card.get("spend")
    if isinstance(spend, Mapping):
        rows += tuple(
            (f"spend {name}", _significant(value), _significant(spend["std_errors"][name]))
            for name, value in spend["params"].items()
        )
    blocks: list[Table | Text] = [
        Table(columns=("item", "value"), rows=facts, title="Model", name="model_card"),
        Table(
            columns=("parameter", "estimate", "std_error"),
            rows=rows,
            title="Parameters",
            name="parameters",
        ),
    ]
    blocks += [Text(f"Warning: {w}") for w in card["warnings"]]
    return Section(title=CARD_TITLE, blocks=tuple(blocks))
