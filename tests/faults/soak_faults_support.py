"""Runs ``python -m bench.soak --faults`` as the operator would and returns its JSON line."""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path
from typing import Any

from pg_restart_support import PYTHON, REPO


def run_soak(store: str, out: Path, *, seconds: float = 30, fault_every: float = 8) -> dict[str, Any]:
    """A soak of ``seconds`` on ``store`` with a fault every ``fault_every`` s; its JSON report.
    On a hang it is sent SIGTERM (it stops its production, server and tmpfs), then killed."""
    cmd = [PYTHON, "-m", "bench.soak", "--store", store, "--faults", "--minutes",
           str(seconds / 60), "--interval", "10", "--fault-every", str(fault_every),
           "--full-seconds", "3", "--tmpfs-mb", "256", "--json", str(out)]
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    try:
        output, _ = proc.communicate(timeout=seconds + 300)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGTERM)
        try:
            output, _ = proc.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            proc.kill()
            output, _ = proc.communicate()
        raise AssertionError(f"the soak hung:\n{output[-4000:]}") from None
    assert proc.returncode == 0, f"the soak failed ({proc.returncode}):\n{output[-4000:]}"
    print(output[-3000:])
    return json.loads(out.read_text(encoding="utf-8"))  # type: ignore[no-any-return]
