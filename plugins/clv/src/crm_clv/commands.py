"""`crm clv fit` and `crm clv validate`: parse, call `crm_clv.api`, render."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path
from typing import Any

import click

from crm import Table
from crm.cli.segment_command import parse_date


def add_commands(cli: click.Group) -> None:
    from crm.cli.app import get_app
    from crm.cli.output import emit, output_options, render_json

    @cli.group(name="clv")
    def clv() -> None:
        """Customer lifetime value models: fit, validate, show."""

    add_show_command(clv)

    def _options(ctx: click.Context, model: str | None, time_unit: str | None) -> Any:
        import attrs

        from crm_clv.options import ClvOptions

        project = get_app(ctx).project
        options = project.options.get("clv", ClvOptions())
        changes: dict[str, Any] = {}
        if model is not None and model != "gamma_gamma":
            changes["model"] = model
        if time_unit is not None:
            changes["time_unit"] = time_unit
        return project, attrs.evolve(options, **changes)

    def _fail(error: Exception) -> None:
        from crm import CrmError

        raise CrmError(str(error)) from error

    @clv.command(name="fit")
    @click.option(
        "--model",
        type=click.Choice(("bgnbd", "pareto_nbd", "gamma_gamma")),
        default=None,
        help="Model to fit (default: [clv] model).",
    )
    @click.option(
        "--time-unit",
        type=click.Choice(("days", "weeks")),
        default=None,
        help="Unit of t_x, T and the rate parameters (default: [clv] time_unit).",
    )
    @click.option(
        "--calibration-end",
        required=True,
        metavar="DATE",
        callback=parse_date,
        help="Last day of the calibration period (YYYY-MM-DD, inclusive).",
    )
    @output_options
    @click.pass_context
    def fit(
        ctx: click.Context,
        model: str | None,
        time_unit: str | None,
        calibration_end: date,
        fmt: str,
        output: Path | None,
    ) -> None:
        """Fit a model on purchases to --calibration-end and print its parameters.

        JSON: model, time_unit, calibration_end, params, std_errors, log_likelihood,
        customers, converged, warnings.
        """
        from crm_clv.api import fit_report
        from crm_clv.estimation import FitError, InsufficientData

        project, options = _options(ctx, model, time_unit)
        end = calibration_end
        try:
            with project.engine.connect() as connection:
                report = fit_report(
                    connection, project.tables, end, model or options.model, options
                )
        except (FitError, InsufficientData) as error:
            _fail(error)
        for warning in report["warnings"]:
            click.echo(f"warning: {warning}", err=True)
        if fmt == "json":
            if output is None:
                render_json(report, sys.stdout)
            else:
                with output.open("w", encoding="utf-8") as stream:
                    render_json(report, stream)
            return
        rows = tuple(
            (name, value, report["std_errors"][name]) for name, value in report["params"].items()
        )
        title = (
            f"{report['model']} ({report['time_unit']}, to {report['calibration_end']}): "
            f"{report['customers']} customers, log-likelihood "
            f"{report['log_likelihood']:.4f}, converged {report['converged']}"
        )
        emit(
            Table(columns=("parameter", "estimate", "std_error"), rows=rows, title=title),
            fmt,
            output,
        )

    @clv.command(name="validate")
    @click.option(
        "--model",
        type=click.Choice(("bgnbd", "pareto_nbd")),
        default=None,
        help="Transaction model (default: [clv] model).",
    )
    @click.option("--time-unit", type=click.Choice(("days", "weeks")), default=None)
    @click.option(
        "--calibration-end",
        required=True,
        metavar="DATE",
        callback=parse_date,
        help="Last day of the calibration period (YYYY-MM-DD, inclusive).",
    )
    @click.option(
        "--holdout-end",
        default=None,
        metavar="DATE",
        callback=parse_date,
        help="Last day of the holdout (default: the last purchase day).",
    )
    @output_options
    @click.pass_context
    def validate_command(
        ctx: click.Context,
        model: str | None,
        time_unit: str | None,
        calibration_end: date,
        holdout_end: date | None,
        fmt: str,
        output: Path | None,
    ) -> None:
        """Predicted against actual repeat transactions in the holdout.

        Rows: the total, each calibration frequency 0..7+, then the cumulative tracking per
        time unit; the title gives the per-customer MAE and correlation.
        """
        from crm_clv.api import last_purchase_day, validate_split
        from crm_clv.estimation import FitError, InsufficientData

        project, options = _options(ctx, model, time_unit)
        start = calibration_end
        if holdout_end is not None and holdout_end <= start:
            raise click.BadParameter(
                f"{holdout_end} must be after --calibration-end {start}",
                param_hint="--holdout-end",
            )
        try:
            with project.engine.connect() as connection:
                end = holdout_end or last_purchase_day(connection, project.tables)
                if end is None:
                    raise InsufficientData("no purchases in the database")
                if end <= start:
                    raise InsufficientData(f"no purchases after --calibration-end {start}")
                result = validate_split(connection, project.tables, start, end, options)
        except (FitError, InsufficientData) as error:
            _fail(error)
        if fmt == "json":
            data = result.as_dict()
            if output is None:
                render_json(data, sys.stdout)
            else:
                with output.open("w", encoding="utf-8") as stream:
                    render_json(data, stream)
            return
        rows: list[tuple[Any, ...]] = [
            ("total", "all", result.customers, result.actual, round(result.predicted, 2))
        ]
        rows += [
            ("frequency", b.label, b.customers, b.actual, round(b.predicted, 2))
            for b in result.buckets
        ]
        rows += [
            ("tracking", str(p.period), None, p.actual, round(p.predicted, 2))
            for p in result.tracking
        ]
        title = (
            f"{result.model}: holdout {result.holdout_length:g} {options.time_unit}, "
            f"error {result.error:+.1%}, MAE {result.mean_absolute_error:.3f}, "
            f"correlation {result.correlation:.3f}"
        )
        emit(
            Table(
                columns=("part", "group", "customers", "actual", "predicted"),
                rows=tuple(rows),
                title=title,
            ),
            fmt,
            output,
        )


def add_show_command(clv: click.Group) -> None:
    from crm.cli.app import get_app
    from crm.cli.output import emit, output_options, render_json

    @clv.command(name="show")
    @click.option(
        "--run", "run_id", type=int, default=None, help="A stored run (default: current)."
    )
    @output_options
    @click.pass_context
    def show(ctx: click.Context, run_id: int | None, fmt: str, output: Path | None) -> None:
        """Print the model card stored with the current run (or --run N).

        JSON: model, spend_model, time_unit, data_window, customers, params, std_errors,
        log_likelihood, converged, spend, holdout_error, warnings.
        """
        from crm import CrmError

        run = get_app(ctx).project.load_run(run_id)
        card = run.artifacts.get("clv.model_card")
        if card is None:
            raise CrmError(
                f"run {run.run_id} has no CLV model card: run crm segment with clv enabled"
            )
        if fmt == "json":
            if output is None:
                render_json(card, sys.stdout)
            else:
                with output.open("w", encoding="utf-8") as stream:
                    render_json(card, stream)
            return
        for warning in card.get("warnings", []):
            click.echo(f"warning: {warning}", err=True)
        rows = [(name, value, card["std_errors"][name]) for name, value in card["params"].items()]
        if card.get("spend"):
            spend = card["spend"]
            rows += [
                (f"spend {name}", value, spend["std_errors"][name])
                for name, value in spend["params"].items()
            ]
        error = card.get("holdout_error")
        title = (
            f"{card['model']} ({card['time_unit']}), run {run.run_id}: {card['customers']} "
            f"customers, log-likelihood {card['log_likelihood']:.2f}, "
            f"converged {card['converged']}, "
            + ("not validated" if error is None else f"holdout error {error:+.1%}")
        )
        emit(
            Table(columns=("parameter", "estimate", "std_error"), rows=tuple(rows), title=title),
            fmt,
            output,
        )
