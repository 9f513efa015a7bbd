"""crm-funnel is an installed plugin in the `crm` entry-point group, registering through the hooks."""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys

import crm_funnel
import pluggy

from crm.core import hooks


def test_entry_point_names_the_package() -> None:
    found = [ep for ep in importlib.metadata.entry_points(group="crm") if ep.name == "funnel"]
    assert [(ep.value, ep.dist.name if ep.dist else None) for ep in found] == [
        ("crm_funnel", "crm-funnel")
    ]
    assert importlib.metadata.version("crm-funnel") == crm_funnel.__version__


def test_hook_implementations_match_the_crm_hook_specs() -> None:
    pm = pluggy.PluginManager(hooks.PROJECT_NAME)
    pm.add_hookspecs(hooks)
    pm.register(crm_funnel, "funnel")
    pm.check_pending()
    implemented = {caller.name for caller in pm.get_hookcallers(crm_funnel) or ()}
    assert implemented == {
        "register_stage_models", "register_configured", "register_commands", "register_reports",
    }  # fmt: skip


def test_importing_the_plugin_imports_neither_numpy_nor_sqlalchemy() -> None:
    code = "import sys, crm_funnel; print('numpy' in sys.modules, 'sqlalchemy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False False"
