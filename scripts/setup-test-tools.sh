#!/usr/bin/env bash
# What the test suite needs besides .venv (scripts/setup.sh):
# - .venv-iop-client: IoP's own remote client (PyPI iris-pex-embedded-python), which the
#   tests run against our server. It lives in its own virtualenv because its `iop` package
#   and command would otherwise shadow ours.
# - Debian's chromium, which the portal's browser tests drive through Playwright.
set -euo pipefail
cd "$(dirname "$0")/.."

IOP_CLIENT_VERSION=4.1.1
if ! .venv-iop-client/bin/python -c "import importlib.metadata as m, sys; sys.exit(m.version('iris-pex-embedded-python') != '$IOP_CLIENT_VERSION')" 2>/dev/null; then
    rm -rf .venv-iop-client
    python3 -m venv .venv-iop-client
    .venv-iop-client/bin/python -m pip install --quiet --disable-pip-version-check \
        "iris-pex-embedded-python==$IOP_CLIENT_VERSION"
fi

# The portal's browser tests drive Debian's Chromium through Playwright's Python package
# (never Playwright's own browser downloads). Installed when missing and we may use apt.
if ! command -v chromium >/dev/null 2>&1 && ! command -v chromium-browser >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ]; then
        apt_get="apt-get"
    elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        apt_get="sudo apt-get"
    else
        apt_get=""
    fi
    if [ -n "$apt_get" ]; then
        echo "installing Debian's chromium for the browser tests"
        $apt_get update -qq
        DEBIAN_FRONTEND=noninteractive $apt_get install -y -qq chromium >/dev/null
    else
        echo "warning: chromium is missing and apt-get is not usable here; the browser" \
             "tests (tests/browser) will fail until it is installed" >&2
    fi
fi

# The e-mail connector tests (tests/connectors/test_email_inbound.py) start Debian's Dovecot
# (IMAP and POP3) with a configuration of their own on free ports; the package's own service
# is not started (no init system runs it here, and the tests never use it).
if [ ! -x /usr/sbin/dovecot ]; then
    if [ "$(id -u)" = 0 ]; then
        apt_get="apt-get"
    elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        apt_get="sudo apt-get"
    else
        apt_get=""
    fi
    if [ -n "$apt_get" ]; then
        echo "installing Debian's dovecot for the e-mail connector tests"
        $apt_get update -qq
        DEBIAN_FRONTEND=noninteractive $apt_get install -y -qq dovecot-imapd dovecot-pop3d >/dev/null
    else
        echo "warning: dovecot is missing and apt-get is not usable here; the e-mail" \
             "inbound tests (tests/connectors/test_email_inbound.py) will fail until it is" \
             "installed" >&2
    fi
fi
