#!/usr/bin/env bash
# Create .venv (if missing) and install iop-engine with its test tools into it.
# (What only the test suite needs besides is installed by scripts/setup-test-tools.sh.)
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".[test]"
# Compile the sources once: the engine starts many short processes (CLI, supervisor, jobs),
# and where PYTHONDONTWRITEBYTECODE is set (CI images often set it) each would compile them
# again on every start.
.venv/bin/python -m compileall -q src
