#!/usr/bin/env bash
# Start Mend on its embedded default (SQLite in MEND_DATA_DIR). Extra arguments go to
# `mend run`, e.g. scripts/run.sh --port 8000
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
exec .venv/bin/mend run "$@"
