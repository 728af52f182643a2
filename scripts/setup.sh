#!/usr/bin/env bash
# Create .venv (if missing) and install iop-engine with its test tools into it.
# Also create .venv-iop-client: IoP's own remote client (PyPI iris-pex-embedded-python),
# which the tests run against our server. It lives in its own virtualenv because its `iop`
# package and command would otherwise shadow ours.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".[test]"

IOP_CLIENT_VERSION=4.1.1
if ! .venv-iop-client/bin/python -c "import importlib.metadata as m, sys; sys.exit(m.version('iris-pex-embedded-python') != '$IOP_CLIENT_VERSION')" 2>/dev/null; then
    rm -rf .venv-iop-client
    python3 -m venv .venv-iop-client
    .venv-iop-client/bin/python -m pip install --quiet --disable-pip-version-check \
        "iris-pex-embedded-python==$IOP_CLIENT_VERSION"
fi
