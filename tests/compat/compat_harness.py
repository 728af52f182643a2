"""Differential runs: the same script, run once on IoP 4.1.1 and once on iop-engine.

A case is a folder of files (modules a script may import) and a script that calls
``check(label, fn)`` for each thing to compare. Each package runs the script in its own
virtualenv, in a subprocess, from a private copy of the folder; ``check`` records what
``fn()`` returned (as JSON, or its ``repr`` when it is not JSON), or the exception type and
text it raised, plus what it printed and which warnings it gave. ``compare`` then holds the
two records side by side, label by label, and tallies the result for the suite's report.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import textwrap
from pathlib import Path
from typing import Any

from compat_tally import TALLY

REPO = Path(__file__).resolve().parents[2]
OURS = REPO / ".venv" / "bin" / "python"
IOP = REPO / ".venv-iop-client" / "bin" / "python"
_MARK = "@@compat@@"

# Runs inside each virtualenv: executes the case's script with ``check`` in its globals.
_RUNNER = r'''
import contextlib, io, json, sys, warnings

_records = []


def _plain(value):
    try:
        json.dumps(value)
        return value
    except (TypeError, ValueError):
        return {"repr": repr(value)}


def check(label, fn):
    printed = io.StringIO()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with contextlib.redirect_stdout(printed):
            try:
                outcome = {"value": _plain(fn())}
            except SystemExit as exc:
                outcome = {"exit": exc.code if isinstance(exc.code, (int, type(None)))
                           else str(exc.code)}
            except BaseException as exc:
                outcome = {"raises": type(exc).__name__, "message": str(exc)}
    outcome["printed"] = printed.getvalue()
    outcome["warnings"] = [[w.category.__name__, str(w.message)] for w in caught]
    _records.append([label, outcome])


_script = sys.argv[1]
with open(_script, encoding="utf-8") as _fh:
    _code = compile(_fh.read(), _script, "exec")
exec(_code, {"check": check, "__name__": "__compat__"})
sys.__stdout__.write("\n@@compat@@" + json.dumps(_records) + "\n")
'''


# A component module several cases import (under a name of their own): a polling service
# with a target and a setting, a router process and a store operation.
SHARED_COMPONENTS = '''
    from iop import BusinessOperation, BusinessProcess, PollingBusinessService, setting, target

    class Poller(PollingBusinessService):
        Output = target()
        Limit = setting(5)

        def on_poll(self):
            pass

    class Router(BusinessProcess):
        Next = target()

        def on_message(self, request):
            return request

    class Store(BusinessOperation):
        Folder = setting("/tmp")

        def on_message(self, request):
            return request
'''


class HarnessError(AssertionError):
    """A differential run that did not produce its records (the script itself failed)."""


def run(python: Path, files: dict[str, str], script: str, workdir: Path,
        timeout: float = 120) -> dict[str, dict[str, Any]]:
    """Run ``script`` with ``python`` in a fresh copy of ``files``; the records by label."""
    if workdir.exists():
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True)
    for name, text in files.items():
        path = workdir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    (workdir / "_compat_case.py").write_text(textwrap.dedent(script), encoding="utf-8")
    (workdir / "_compat_runner.py").write_text(_RUNNER, encoding="utf-8")
    home = workdir / ".iop-home"
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("IOP_", "IRIS")) and key != "PYTHONPATH"}
    env.update(PYTHONPATH=str(workdir), IOP_HOME=str(home), PYTHONDONTWRITEBYTECODE="1",
               PYTHONHASHSEED="0")
    done = subprocess.run([str(python), "_compat_runner.py", "_compat_case.py"], cwd=workdir,
                          env=env, capture_output=True, text=True, timeout=timeout)
    _, mark, tail = done.stdout.rpartition(_MARK)
    if not mark:
        raise HarnessError(f"{python} did not finish the case (exit {done.returncode}):\n"
                           f"{done.stderr[-3000:]}")
    return {label: outcome for label, outcome in json.loads(tail)}




def compare(ours: dict[str, dict[str, Any]], theirs: dict[str, dict[str, Any]],
            intended: dict[str, str] | None = None) -> None:
    """Assert that every label recorded the same outcome in both packages, except the
    labels in ``intended`` (label → the reason the engine differs there)."""
    intended = intended or {}
    assert set(ours) == set(theirs), (sorted(set(ours) ^ set(theirs)))
    mismatches = []
    for label, theirs_outcome in theirs.items():
        if label in intended:
            assert intended[label].strip(), f"intended difference {label} needs a reason"
            TALLY.counts["intended"] += 1
            continue
        if ours[label] == theirs_outcome:
            TALLY.counts["identical"] += 1
        else:
            mismatches.append(f"{label}:\n  IoP:  {json.dumps(theirs_outcome)}\n"
                              f"  ours: {json.dumps(ours[label])}")
    assert not mismatches, "differs from IoP 4.1.1:\n" + "\n".join(mismatches)


def differential(files: dict[str, str], script: str, tmp: Path,
                 intended: dict[str, str] | None = None) -> dict[str, dict[str, Any]]:
    """Run the case on both packages and compare; IoP's records are returned."""
    theirs = run(IOP, files, script, tmp / "iop")
    ours = run(OURS, files, script, tmp / "ours")
    compare(ours, theirs, intended)
    return theirs
