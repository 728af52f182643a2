#!/usr/bin/env bash
# Install everything the tests need, then run the whole suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
echo "== ruff"
.venv/bin/ruff check src tests bench examples
echo "== pytest"
exec .venv/bin/python -m pytest -q -p no:cacheprovider "$@"
