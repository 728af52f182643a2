"""iop.engine.host_status: a supervisor's status file, written in place and read back by
`iop -x`, the portal and `iop -S` while the store may be out."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from iop.engine.host_status import (
    FILE_BYTES,
    HostStatus,
    HostStatusFile,
    outage_view,
    read_host_statuses,
)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("IOP_HOME", str(tmp_path))
    return tmp_path


def test_a_status_is_rewritten_in_place_and_read_back_while_its_writer_lives(home: Path) -> None:
    status_file = HostStatusFile("USER", "host-a")
    assert os.path.getsize(status_file.path) == FILE_BYTES  # sized before any outage
    status_file.write(HostStatus("host-a", "P", os.getpid(), "running"))
    assert read_host_statuses("USER") == [HostStatus("host-a", "P", os.getpid(), "running")]
    assert outage_view(read_host_statuses("USER")) is None
    out = HostStatus("host-a", "P", os.getpid(), "running", 1000.0, "x" * 5000, 30.0)
    status_file.write(out)
    assert os.path.getsize(status_file.path) == FILE_BYTES  # a long cause is cut, not grown
    (found,) = read_host_statuses("USER")
    assert found.outage_since == 1000.0 and found.outage_reason.startswith("xxx")
    view = outage_view([found], now=1012.5)
    assert view == {"since": "1970-01-01 00:16:40.000", "seconds": 12.5,
                    "reason": found.outage_reason, "hosts": ["host-a"],
                    "stop_after_seconds": 30.0}
    status_file.remove()
    assert read_host_statuses("USER") == [] and not os.path.exists(status_file.path)


def test_a_file_left_by_a_dead_supervisor_is_not_read(home: Path) -> None:
    status_file = HostStatusFile("USER", "host-b")
    status_file.write(HostStatus("host-b", "P", 2 ** 22 + 12345, "running", 5.0, "gone"))
    assert read_host_statuses("USER") == []  # no such process
