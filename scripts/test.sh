#!/usr/bin/env bash
# Run the whole test suite: unit, integration, live servers and the browser (e2e).
# Installs what it needs first: the venv with test extras, and Debian's Chromium.
# Extra arguments go to pytest, e.g. scripts/test.sh tests/unit -q
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh test
if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "Installing Debian's chromium for the browser tests…"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "note: /usr/bin/chromium is missing (apt-get install chromium); browser tests will skip" >&2
  fi
fi
# nginx (in front of two workers), redis-server (restarted by a fault test) and openssl (a
# self-signed certificate) for tests/live/test_nginx.py: Debian's packages.
missing=""
for pkg in nginx redis-server openssl; do  # each package's command has its name
  command -v "$pkg" >/dev/null || [ -x "/usr/sbin/$pkg" ] || missing="$missing $pkg"
done
if [ -n "$missing" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "Installing Debian's$missing for the nginx and fault tests…"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
  else
    echo "note:$missing missing (apt-get install$missing); the nginx tests will skip" >&2
  fi
fi
status=0
.venv/bin/python -m pytest "$@" || status=$?
if [ "$status" = 5 ]; then
  echo "pytest collected no tests: that counts as a failure" >&2
  exit 1
fi
exit "$status"
