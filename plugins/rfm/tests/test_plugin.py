"""crm-rfm is an installed plugin in the `crm` entry-point group, registering through the hooks."""

from __future__ import annotations

import importlib.metadata

import crm_rfm
import pluggy

from crm import ScorerSpec, SegmentationSpec
from crm.core import hooks


def test_entry_point_names_the_package() -> None:
    found = [ep for ep in importlib.metadata.entry_points(group="crm") if ep.name == "rfm"]
    assert [(ep.value, ep.dist.name if ep.dist else None) for ep in found] == [
        ("crm_rfm", "crm-rfm")
    ]
    assert importlib.metadata.version("crm-rfm") == crm_rfm.__version__


def test_hook_implementations_match_the_crm_hook_specs() -> None:
    pm = pluggy.PluginManager(hooks.PROJECT_NAME)
    pm.add_hookspecs(hooks)
    pm.register(crm_rfm, "rfm")
    pm.check_pending()  # a misspelled hook or argument would fail here
    implemented = {caller.name for caller in pm.get_hookcallers(crm_rfm) or ()}
    assert implemented == {"register_scorers", "register_segmentations", "register_reports"}


def test_hooks_register_the_rfm_scorer_and_segmentation_with_one_options_class() -> None:
    registered: list[object] = []
    crm_rfm.register_scorers(register=registered.append)
    crm_rfm.register_segmentations(register=registered.append)
    scorer, segmentation = registered
    assert isinstance(scorer, ScorerSpec)
    assert isinstance(segmentation, SegmentationSpec)
    assert scorer.name == segmentation.name == "rfm"
    assert scorer.options is segmentation.options is crm_rfm.RfmOptions
    assert [(m.name, m.kind) for m in scorer.metrics] == [
        ("recency", "days"),
        ("frequency", "count"),
        ("monetary", "money"),
        ("r", "score"),
        ("f", "score"),
        ("m", "score"),
        ("fm", "score"),
    ]
    built = segmentation.factory(crm_rfm.RfmOptions())
    assert built.inputs == ("rfm.r", "rfm.fm")
    assert {f"rfm.{m.name}" for m in scorer.metrics} >= set(built.inputs)


def test_importing_the_plugin_does_not_import_numpy() -> None:
    import subprocess
    import sys

    code = "import sys, crm_rfm; print('numpy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
