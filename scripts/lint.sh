#!/usr/bin/env bash
# The lint and type gate: ruff (rules in pyproject.toml) over the tree, mypy over the application and the
# optimiser (--strict there). Both must be clean; `make test` runs this before the tests.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
"$VENV/bin/ruff" check .
"$VENV/bin/mypy" matching marketplace
