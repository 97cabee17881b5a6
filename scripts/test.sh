#!/usr/bin/env bash
# The whole suite: on SQLite, again on a throw-away PostgreSQL, then the browser tests in Debian's
# headless Chromium. `make test` runs it after scripts/system-deps.sh (Chromium, PostgreSQL, ...).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${VENV:-.venv}/bin/python
tmp=$(mktemp -d)
chmod 755 "$tmp"
export XDG_CONFIG_HOME="$tmp/xdg-config" XDG_CACHE_HOME="$tmp/xdg-cache"
cleanup() { scripts/pg.sh stop "$tmp/pg" || true; rm -rf "$tmp"; }
trap cleanup EXIT

scripts/system-deps.sh test  # when run alone: installs, or names, what is missing

echo "== 0/3 the lint and type gate"
scripts/lint.sh

echo "== 1/3 the suite on SQLite"
"$PY" -m pytest -q -m "not browser and not postgres_only" -p no:cacheprovider

# The second pass runs with the clock moved to the first hour of next year in Ningxia (31 December, 17:00 UTC):
# a test that holds only on the day it was written, or only inside one year or one day in both UTC and CST,
# fails here and not on the day CI happens to run at midnight CST. TEST_NOW= runs it at the real clock.
now=${TEST_NOW-$(date -u +%Y)-12-31T17:00:00Z}
echo "== 2/3 the suite on PostgreSQL, the clock at ${now:-now} (the optimiser's own tests need no database and ran above)"
url=$(scripts/pg.sh start "$tmp/pg")
TEST_DATABASE_URL="$url" TEST_NOW="$now" "$PY" -m pytest -q -m "not browser" -p no:cacheprovider --ignore=tests/matching

echo "== 3/3 the browser tests (headless Chromium)"
"$PY" -m pytest -q -m browser -p no:cacheprovider
