"""Acceptance: bad input gets one clear error line, a non-zero exit, and leaves the store as it was."""

from __future__ import annotations

import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

GOOD = "Good.Production"
SECOND = "Second.Production"
GHOST = "Ghost.Production"
GHOST_CLASS = "Python.nowhere_to_be_found.Ghost"

COMPONENTS = '''
@dataclass
class Ping(Message):
    n: int = 0


class Echo(BusinessOperation):
    def on_message(self, request):
        return request
'''

SETTINGS = f'''
good = Production("{GOOD}", testing_enabled=True)
good.operation("Echo", Echo)
second = Production("{SECOND}")
second.operation("Echo", Echo)
ghost = Production("{GHOST}")
ghost.operation("Echo", Echo)
ghost.operation("Ghost", "{GHOST_CLASS}")
PRODUCTIONS = [good, second, ghost]
'''

SNAPSHOT_COMMANDS = (("-l",), ("-e",), ("--messages", "--count"), ("--bindings",), ("-x",))


def snapshot(run_iop: Any) -> dict[tuple[str, ...], tuple[int, str]]:
    """What an operator sees of the store: productions, definitions, messages, bindings."""
    with ThreadPoolExecutor(max_workers=4) as pool:
        procs = list(pool.map(lambda args: run_iop(*args, check=False), SNAPSHOT_COMMANDS))
    return {args: (proc.returncode, proc.stdout) for args, proc in zip(SNAPSHOT_COMMANDS, procs, strict=True)}


def assert_one_error_line(proc: subprocess.CompletedProcess[str], *needles: str,
                          code: int = 1) -> str:
    assert proc.returncode != 0, f"exit code 0 for bad input; stdout:\n{proc.stdout}"
    # User errors exit with 1 (as IoP's); a body its message class refuses with 2.
    assert proc.returncode == code, f"expected exit code {code}, got {proc.returncode}"
    assert "Traceback" not in proc.stderr + proc.stdout, proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, f"expected one error line, got:\n{proc.stderr}"
    line = lines[0]
    assert line.startswith("error:"), line
    assert proc.stdout.strip() == "", f"unexpected output besides the error:\n{proc.stdout}"
    for needle in needles:
        assert needle in line, f"{needle!r} not named in: {line}"
    return line


@pytest.fixture
def project(make_project: Any) -> Any:
    project = make_project(COMPONENTS, SETTINGS)
    project.migrate()
    return project


@pytest.fixture
def running(project: Any) -> Any:
    project.start(GOOD)
    return project


@pytest.mark.parametrize("args, needles", [
    (("-s", "No.Such.Production", "-D"), ("No.Such.Production",)),
    (("-s", "No.Such.Production"), ("No.Such.Production",)),
    (("-s", GHOST, "-D"), (GHOST_CLASS,)),
    (("-s", GHOST), (GHOST_CLASS,)),
    (("-e", "No.Such.Production"), ("No.Such.Production",)),
    (("-q", "No.Such.Production"), ("No.Such.Production",)),
    (("-t", "Echo"), ()),  # nothing is running
    (("-L", "many"), ("many",)),
    (("-m", "/nonexistent/settings.py"), ("/nonexistent/settings.py",)),
    (("--unbind", "Python.not.Bound"), ("Python.not.Bound",)),
])
def test_bad_commands_on_a_stopped_namespace(project: Any, run_iop: Any, args: tuple[str, ...],
                                             needles: tuple[str, ...]) -> None:
    before = snapshot(run_iop)
    assert_one_error_line(run_iop(*args, check=False), *needles)
    assert snapshot(run_iop) == before


def test_unknown_class_name_does_not_start_anything(project: Any, run_iop: Any, store: Any,
                                                    iop_json: Any) -> None:
    assert_one_error_line(run_iop("-s", GHOST, "-D", check=False), GHOST_CLASS)
    assert store.list_jobs() == []
    assert iop_json("-l")[GHOST]["LastStartTime"] == ""
    assert iop_json("-x")["Status"] == "stopped"


def test_settings_file_that_raises_at_import(project: Any, run_iop: Any, tmp_path: Path) -> None:
    bad = tmp_path / "exploding_settings.py"
    bad.write_text(
        "from iop import Production\n"
        "partial = Production('Partial.Production')\n"
        "PRODUCTIONS = [partial]\n"
        "raise RuntimeError('settings exploded')\n"
    )
    before = snapshot(run_iop)
    line = assert_one_error_line(run_iop("-m", bad, check=False), "settings exploded")
    assert "exploding_settings.py" in line
    assert snapshot(run_iop) == before


def test_settings_file_with_a_syntax_error(project: Any, run_iop: Any, tmp_path: Path) -> None:
    bad = tmp_path / "broken_settings.py"
    bad.write_text("from iop import Production\n\ndef broken(:\n    pass\n")
    before = snapshot(run_iop)
    line = assert_one_error_line(run_iop("-m", bad, check=False), "broken_settings.py")
    assert "syntax" in line.lower() and "3" in line  # says what and where
    assert snapshot(run_iop) == before


def test_settings_file_whose_component_module_is_missing(project: Any, run_iop: Any,
                                                         tmp_path: Path) -> None:
    bad = tmp_path / "orphan_settings.py"
    bad.write_text("from iop import Production\nfrom module_that_is_not_there import X\n")
    before = snapshot(run_iop)
    assert_one_error_line(run_iop("-m", bad, check=False), "module_that_is_not_there")
    assert snapshot(run_iop) == before


@pytest.mark.parametrize("body, needles", [
    ("{not json", ("JSON",)),
    ('{"n": 1', ("JSON",)),
    ("@/nonexistent/body.json", ("/nonexistent/body.json",)),
])
def test_undecodable_test_bodies_are_usage_errors(running: Any, run_iop: Any, body: str,
                                                  needles: tuple[str, ...]) -> None:
    # A -B value the CLI cannot read or decode is reported as argparse reports a usage
    # mistake: one line, exit code 2 (tests/cli/test_bad_input_edges.py has the others).
    before = snapshot(run_iop)
    proc = run_iop("-t", "Echo", "-C", running.message_class("Ping"), "-B", body, check=False)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    assert len(proc.stderr.splitlines()) == 1 and proc.stdout.strip() == ""
    assert proc.stderr.startswith("iop: error: argument -B/--body: ")
    for needle in needles:
        assert needle in proc.stderr
    assert snapshot(run_iop) == before


def test_a_body_the_message_class_refuses(running: Any, run_iop: Any) -> None:
    before = snapshot(run_iop)
    proc = run_iop("-t", "Echo", "-C", running.message_class("Ping"), "-B",
                   '{"no_such_field": 1}', check=False)
    assert_one_error_line(proc, running.message_class("Ping"), "no_such_field", code=2)
    assert snapshot(run_iop) == before


def test_test_to_an_unknown_item(running: Any, run_iop: Any) -> None:
    before = snapshot(run_iop)
    proc = run_iop("-t", "NoSuchItem", "-C", running.message_class("Ping"), "-B", "{}",
                   check=False)
    assert_one_error_line(proc, "NoSuchItem")
    assert snapshot(run_iop) == before


def test_test_with_an_unknown_message_class(running: Any, run_iop: Any) -> None:
    before = snapshot(run_iop)
    proc = run_iop("-t", "Echo", "-C", "nowhere.NoSuchMessage", "-B", "{}", check=False)
    assert_one_error_line(proc, "nowhere.NoSuchMessage")
    assert snapshot(run_iop) == before


def test_second_production_in_the_same_namespace(running: Any, run_iop: Any, iop_json: Any,
                                                 store: Any) -> None:
    before = snapshot(run_iop)
    supervisor = store.get_runtime().supervisor_pid
    line = assert_one_error_line(run_iop("-s", SECOND, "-D", check=False), GOOD)
    assert "already running" in line
    line = assert_one_error_line(run_iop("-s", SECOND, check=False), GOOD)  # foreground too
    assert "already running" in line
    line = assert_one_error_line(run_iop("-s", GOOD, "-D", check=False), GOOD)
    assert "already running" in line
    assert snapshot(run_iop) == before
    assert iop_json("-x") == {"Production": GOOD, "Status": "running"}
    assert store.get_runtime().supervisor_pid == supervisor
