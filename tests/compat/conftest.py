"""Differential tests against IoP 4.1.1 (installed in .venv-iop-client by
scripts/setup-test-tools.sh); the suite's summary prints how many calls were compared
(tests/conftest.py, which also adds up the tallies of pytest-xdist workers)."""

from __future__ import annotations

from typing import Any

import pytest
from compat_harness import IOP


def pytest_collection_modifyitems(config: Any, items: list[Any]) -> None:
    if not IOP.exists():
        raise pytest.UsageError(f"{IOP} is missing: run scripts/setup-test-tools.sh")
