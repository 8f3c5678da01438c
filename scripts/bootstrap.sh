#!/usr/bin/env bash
# Creates .venv and installs Mend into it (editable) when pyproject.toml or constraints.txt
# changed, at the exact versions in constraints.txt (what CI tested), build backend included.
# Sourced by scripts/run.sh and scripts/test.sh; safe to run again and again.
# An argument names extras: scripts/bootstrap.sh test, scripts/bootstrap.sh eventlet,redis
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-}"
python="${PYTHON:-python3}"
pip=(.venv/bin/python -m pip --disable-pip-version-check)
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi
stamp=".venv/.installed${extras:+-$extras}"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] || [ constraints.txt -nt "$stamp" ]; then
  # The pinned pip first: it knows --build-constraint (pip >= 25.3).
  "${pip[@]}" install --quiet -c constraints.txt --upgrade pip
  "${pip[@]}" install --quiet -c constraints.txt --build-constraint constraints.txt \
    -e ".${extras:+[$extras]}"
  touch "$stamp"
fi
