"""The whole HTML report of the demo data, opened in headless Chromium as a reader would.

Debian's `chromium` at /usr/bin/chromium (scripts/ensure-chromium.sh installs it), driven by
playwright without `playwright install`. The page must raise no console error, make no network
request, and show every figure as a non-empty SVG; a screenshot is kept in test-artifacts/.
Under CI the browser must be there: a missing one fails the test instead of skipping it.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from crm.cli import cli
from crm.cli.app import App

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _require_chromium() -> None:
    if CHROMIUM.exists():
        return
    message = f"{CHROMIUM} is missing; scripts/ensure-chromium.sh installs Debian's chromium"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="module")
def demo_report(demo_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`crm report --format html --output report.html` over the demo project."""
    report = tmp_path_factory.mktemp("report") / "report.html"
    app = App(config_path=demo_dir / "crm.toml")
    args = ["report", "--format", "html", "--output", str(report)]
    written = CliRunner().invoke(cli, args, obj=app)
    assert written.exit_code == 0, written.output
    return report


def test_the_html_report_is_one_offline_file_with_every_section(demo_report: Path) -> None:
    html = demo_report.read_text(encoding="utf-8")
    assert "<script" not in html.lower()
    assert not re.search(r"""(?:src|href)=["']?(?:https?:)?//""", html), "no external resource"
    titles = ("Segments", "RFM grid", "Score distributions", "Cut points", "CLV model card")
    for title in (*titles, "CLV holdout check"):
        assert f'">{title}</a></li>' in html, f"{title} is not in the table of contents"
    assert "analysis date</dt><dd>2026-07-01" in html  # the day after the demo's last event
    assert "config hash</dt><dd>" in html and "rfm 0.1.0" in html


def test_chromium_shows_every_figure_without_errors_or_requests(
    demo_report: Path, demo_dir: Path
) -> None:
    _require_chromium()
    from playwright.sync_api import sync_playwright

    html = demo_report.read_text(encoding="utf-8")
    expected_figures = html.count('<figure class="chart"')
    # Every figure the report document describes, from every enabled plugin: the core's and
    # rfm's at least (one bar chart per segmentation; the R x FM heat map and 3 histograms),
    # and aidas's paths to action (the Sankey-like kind).
    from crm import Project

    project = Project.open(demo_dir / "crm.toml")
    try:
        kinds = [figure.kind for figure in project.report().figures]
    finally:
        project.close()
    for kind, least in {"bar": 3, "heatmap": 1, "histogram": 3, "line": 1, "sankey": 1}.items():
        assert kinds.count(kind) >= least, (kind, kinds)
    # clv's holdout check: the tracking chart and the per-frequency bars, from the run's check
    holdout = {
        "Cumulative repeat transactions in the holdout, week by week": "line",
        "Holdout repeat transactions per calibration frequency": "bar",
    }
    assert expected_figures == len(kinds)
    problems: list[str] = []
    requests: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.on(
                "console",
                lambda m: problems.append(m.text) if m.type in ("error", "warning") else None,
            )
            page.on("pageerror", lambda error: problems.append(str(error)))
            page.on("request", lambda request: requests.append(request.url))
            page.goto(demo_report.as_uri(), wait_until="load")
            figures: list[dict[str, Any]] = page.eval_on_selector_all(
                "figure.chart",
                """figures => figures.map(f => {
                    const svg = f.querySelector('svg');
                    const box = svg ? svg.getBoundingClientRect() : {width: 0, height: 0};
                    return {kind: f.dataset.kind, title: f.getAttribute('aria-label'),
                            width: box.width, height: box.height,
                            shapes: svg ? svg.querySelectorAll('path, rect, text').length : 0};
                })""",
            )
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "report.png"), full_page=True)
        finally:
            browser.close()
    assert problems == []
    assert requests == [demo_report.as_uri()], "the page requested something besides itself"
    assert len(figures) == expected_figures
    assert sorted(f["kind"] for f in figures) == sorted(kinds)
    for figure in figures:
        assert figure["width"] > 100 and figure["height"] > 100, figure
        assert figure["shapes"] > 10, figure
    shown = {f["title"]: f["kind"] for f in figures}
    assert {title: shown.get(title) for title in holdout} == holdout
    assert (ARTIFACTS / "report.png").stat().st_size > 10_000
