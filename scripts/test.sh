#!/usr/bin/env bash
# Install everything the tests need, then run the whole suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/setup-test-tools.sh
echo "== ruff"
.venv/bin/ruff check src tests bench examples
echo "== mypy"
.venv/bin/mypy
echo "== postgresql"
pg=0; bash scripts/postgres.sh || pg=$?
case $pg in
    0) export IOP_REQUIRE_POSTGRES=1 ;;  # its backend tests must run, not skip
    3) echo "PostgreSQL backend tests will be skipped" ;;
    *) exit "$pg" ;;
esac
echo "== chromium"
command -v chromium || command -v chromium-browser || { echo "chromium is missing: the browser tests need it (scripts/setup-test-tools.sh installs it)" >&2; exit 1; }
echo "== pytest"
# The suite mostly waits on processes, servers and the browser, so it runs in parallel
# workers (pytest-xdist), a test file per worker at a time so module fixtures stay shared;
# IOP_TEST_WORKERS=0 runs it in this one process.
exec .venv/bin/python -m pytest -q -p no:cacheprovider -n "${IOP_TEST_WORKERS:-3}" --dist loadfile --durations=25 "$@"
