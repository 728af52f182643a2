"""Differential tests against IoP 4.1.1 (installed in .venv-iop-client by
scripts/setup-test-tools.sh); the suite's summary prints how many calls were compared."""

from __future__ import annotations

from typing import Any

import pytest
from compat_harness import IOP, TALLY


def pytest_collection_modifyitems(config: Any, items: list[Any]) -> None:
    if not IOP.exists():
        raise pytest.UsageError(f"{IOP} is missing: run scripts/setup-test-tools.sh")


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if sum(TALLY.counts.values()):
        terminalreporter.write_line(TALLY.line())
