"""The private PostgreSQL cluster the restart tests use (it lives in bench/fault_tools.py,
shared with ``python -m bench.soak --faults``) and the venv's python for the CLI."""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:  # bench/ is a folder of the repository, not an installed package
    sys.path.insert(0, str(REPO))

from bench.fault_tools import PrivateCluster, free_port  # noqa: E402

_VENV_PYTHON = REPO / ".venv" / "bin" / "python"
PYTHON = str(_VENV_PYTHON) if _VENV_PYTHON.exists() else sys.executable

__all__ = ["PYTHON", "REPO", "PrivateCluster", "free_port"]
