"""Developer sessions. CI runs scripts/test.sh (one venv, SQLite and PostgreSQL together).

nox -s tests               the suite on SQLite (PostgreSQL tests deselected)
nox -s tests_postgresql    the storage tests on the local PostgreSQL server
nox -s lint typing
"""

from __future__ import annotations

from pathlib import Path

import nox

nox.needs_version = ">=2024.3.2"
nox.options.reuse_venv = "yes"
nox.options.sessions = ["tests", "tests_postgresql", "lint", "typing"]

PYPROJECT = nox.project.load_toml("pyproject.toml")
# Only the interpreter running nox: this machine has 3.11 alone and CI=true makes a missing one fatal.
PYTHON = None
PLUGINS = sorted(str(p.parent) for p in Path("plugins").glob("*/pyproject.toml"))


def group(name: str) -> list[str]:
    return list(nox.project.dependency_groups(PYPROJECT, name))


def install_project(session: nox.Session, *groups: str) -> None:
    session.install("--upgrade", "pip")
    session.install("-e", ".", *(f"-e{p}" for p in PLUGINS), *(d for g in groups for d in group(g)))


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    install_project(session, "test")
    session.run("pytest", "-m", "not postgresql", *session.posargs)


@nox.session(python=PYTHON)
def tests_postgresql(session: nox.Session) -> None:
    install_project(session, "test")
    session.run("bash", "scripts/ensure-postgresql.sh", external=True)
    session.run("pytest", "-m", "postgresql", *session.posargs, env={"CI": "1"})


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    session.install(*group("lint"))
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session(python=PYTHON)
def typing(session: nox.Session) -> None:
    install_project(session, "typing")
    session.run("mypy", *session.posargs)
