#!/usr/bin/env bash
# Create .venv (Python 3.11+) and install crm, the bundled plugins and the test tools into it.
# crm comes with its postgresql extra (the psycopg driver), so pointing [database] url at a
# PostgreSQL server works out of the box. Safe to re-run: pip skips what is already installed.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
# The system pip is too old for dependency groups and some wheels; upgrade it inside the venv.
.venv/bin/python -m pip install --quiet --upgrade pip
plugins=()
for p in plugins/*/pyproject.toml; do plugins+=("-e" "./$(dirname "$p")"); done
.venv/bin/python -m pip install --quiet -e ".[postgresql]" "${plugins[@]}" ${CRM_EXTRA_INSTALL:-}
