"""``python -m bench.soak --faults`` (issue 25): a short soak with database restarts
(PostgreSQL) or disk-full spells (SQLite on a tmpfs) accounts for every input: every request
an acknowledged input caused reaches a final status (expected = accounted, none lost), no
request is in error but the soak's own injected failures, and no engine process exits."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from soak_faults_support import run_soak

pytestmark = pytest.mark.slow  # about a minute each


def _accounts_for_everything(report: dict[str, Any]) -> None:
    assert report["lost"] == 0 and report["pending"] == 0, report["problems"]
    assert report["expected"] == report["accounted"] > 1000
    assert report["unexpected_errors"] == 0 and report["unreadable"] == 0, report["problems"]
    assert report["processes_exited"] == [] and report["processes_replaced"] == []
    assert report["stuck_senders"] == [], report["stuck_senders"][0]
    assert report["refused"]["other"] == 0 and report["refused"]["timed_out"] == 0, \
        report["problems"]
    faults = report["faults"]
    assert faults["error"] is None
    assert faults["spells"] >= 2 and faults["never_resumed"] == 0, faults
    assert faults["exited_after"] == []


def test_soak_with_disk_full_spells_loses_nothing(tmp_path: Path) -> None:
    report = run_soak("sqlite", tmp_path / "soak.json")
    _accounts_for_everything(report)
    faults = report["faults"]
    assert faults["kind"] == "disk_full"
    # The disk really was full: new input was refused meanwhile, and none was taken.
    assert report["refused"]["inputs_paused"] > 0
    assert [spell["acked_while_full"] for spell in faults["detail"]] == [0] * faults["spells"]


def test_soak_with_database_restarts_loses_nothing(tmp_path: Path) -> None:
    report = run_soak("postgresql", tmp_path / "soak.json")
    _accounts_for_everything(report)
    assert report["faults"]["kind"] == "database_restart"
    assert report["store"] == "postgresql"
