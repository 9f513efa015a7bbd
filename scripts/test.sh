#!/usr/bin/env bash
# Run the whole test suite, SQLite and PostgreSQL alike, from a fresh clone.
#   scripts/test.sh [pytest args...]
set -euo pipefail
cd "$(dirname "$0")/.."
CRM_EXTRA_INSTALL="--group test" scripts/bootstrap.sh
scripts/ensure-postgresql.sh
scripts/ensure-chromium.sh
exec .venv/bin/python -m pytest "$@"
