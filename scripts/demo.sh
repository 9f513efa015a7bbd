#!/usr/bin/env bash
# Set everything up and run the main job on the embedded default: SQLite with generated sample data.
#   scripts/demo.sh [DIR]     (default DIR: ./demo)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
dir=${1:-demo}
exec .venv/bin/crm demo "$dir" --force
