"""The intersystems_pyprod command: binds a script's classes, or fails with one clear line."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

DATA = Path(__file__).resolve().parents[1] / "data" / "pyprod"
VENV_BIN = Path(__file__).resolve().parents[2] / ".venv" / "bin"

HEADER = """\
from intersystems_pyprod import (BusinessOperation, BusinessProcess, BusinessService,
    InboundAdapter, IRISParameter, IRISProperty, JsonSerialize, OutboundAdapter, Status)
"""

HELLO_CLASSES = ["MyRequest", "MyResponse", "MyInAdapter", "MyService", "MyProcess",
                 "MyOperation", "MyOutAdapter"]


@pytest.fixture
def pyprod(iop_home: Path, python_exe: str) -> Callable[..., subprocess.CompletedProcess[str]]:
    """``pyprod(*args)``: ``python -m intersystems_pyprod`` with the test's IOP_HOME."""

    def run(*args: Any, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "IOP_HOME": str(iop_home)}
        return subprocess.run([python_exe, "-m", "intersystems_pyprod", *map(str, args)],
                              env=env, capture_output=True, text=True, timeout=60, cwd=cwd)

    return run


def write(folder: Path, name: str, body: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(HEADER + textwrap.dedent(body), encoding="utf-8")
    return path


def bindings(run_iop: Callable[..., Any]) -> dict[str, dict[str, Any]]:
    return {row["class"]: row for row in json.loads(run_iop("--bindings").stdout)}


def assert_one_error_line(proc: subprocess.CompletedProcess[str], *needles: str) -> str:
    assert proc.returncode == 2, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    assert "Traceback" not in proc.stdout + proc.stderr, proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    assert proc.stdout.strip() == "", proc.stdout
    for needle in needles:
        assert needle in lines[0], f"{needle!r} not in {lines[0]!r}"
    return lines[0]


def test_helloworld_loads_every_class(tmp_path: Path, pyprod: Any, run_iop: Any) -> None:
    script = tmp_path / "HelloWorld.py"
    shutil.copy(DATA / "HelloWorld.py", script)
    proc = pyprod(script)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert [line for line in lines if line.startswith("Loading")] == \
        [f"Loading {name} to IRIS..." for name in HELLO_CLASSES]
    assert lines.count("Load finished successfully.") == len(HELLO_CLASSES)
    assert lines[0] == "Loading MyRequest to IRIS..." and lines[-1] == "Load finished successfully."
    bound = bindings(run_iop)
    expected_kinds = {"MyRequest": "Ens.MessageBody", "MyService": "IOP.BusinessService",
                      "MyProcess": "IOP.BusinessProcess", "MyOperation": "IOP.BusinessOperation",
                      "MyInAdapter": "IOP.InboundAdapter", "MyOutAdapter": "IOP.OutboundAdapter"}
    for name, super_class in expected_kinds.items():
        row = bound[f"helloworld.{name}"]
        assert (row["module"], row["classname"], row["super"]) == ("HelloWorld", name, super_class)
        assert row["classpaths"] == str(tmp_path)


def test_console_script_and_file_name_as_package(tmp_path: Path, iop_home: Path,
                                                 run_iop: Any) -> None:
    script = write(tmp_path / "app", "orders.py", """
        class Order(JsonSerialize):
            number: int

        class Taker(BusinessOperation):
            def OnMessage(self, request):
                return Status.OK()
        """)
    env = {**os.environ, "IOP_HOME": str(iop_home)}
    proc = subprocess.run([str(VENV_BIN / "intersystems_pyprod"), str(script)], env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert {"orders.Order", "orders.Taker"} <= set(bindings(run_iop))


def test_namespace_from_environment(tmp_path: Path, iop_home: Path, python_exe: str,
                                    run_iop: Any) -> None:
    script = tmp_path / "HelloWorld.py"
    shutil.copy(DATA / "HelloWorld.py", script)
    env = {**os.environ, "IOP_HOME": str(iop_home), "IOP_NAMESPACE": "OTHER"}
    proc = subprocess.run([python_exe, "-m", "intersystems_pyprod", str(script)], env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and "in namespace OTHER" in proc.stdout, proc.stderr
    assert not bindings(run_iop)  # USER is untouched
    assert "helloworld.MyService" in {
        row["class"] for row in json.loads(run_iop("--bindings", "-n", "OTHER").stdout)}


def test_module_option(tmp_path: Path, pyprod: Any, run_iop: Any) -> None:
    package = tmp_path / "shop"
    package.mkdir()
    (package / "__init__.py").write_text("", encoding="utf-8")
    write(package, "items.py", """
        iris_package_name = "shop"

        class Item(JsonSerialize):
            sku: str
        """)
    proc = pyprod("-m", "shop.items", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    row = bindings(run_iop)["shop.Item"]
    assert (row["module"], row["classpaths"]) == ("shop.items", str(tmp_path))


def test_syntax_error(tmp_path: Path, pyprod: Any, run_iop: Any) -> None:
    good = tmp_path / "good" / "HelloWorld.py"
    good.parent.mkdir()
    shutil.copy(DATA / "HelloWorld.py", good)
    assert pyprod(good).returncode == 0
    before = bindings(run_iop)
    bad = write(tmp_path / "bad", "Broken.py", """
        iris_package_name = "helloworld"

        class MyService(BusinessService)
            pass
        """)
    assert_one_error_line(pyprod(bad), "Broken.py line 6", "syntax error")
    assert bindings(run_iop) == before  # what was bound before is intact


def test_import_error_names_the_line(tmp_path: Path, pyprod: Any, run_iop: Any) -> None:
    bad = write(tmp_path, "NeedsMore.py", """
        import no_such_module_anywhere
        """)
    assert_one_error_line(pyprod(bad), "NeedsMore.py failed while importing (line 4)",
                          "ModuleNotFoundError", "no_such_module_anywhere")
    assert bindings(run_iop) == {}


def test_unknown_adapter(tmp_path: Path, pyprod: Any, run_iop: Any) -> None:
    bad = write(tmp_path, "Typo.py", """
        iris_package_name = "typo"

        class Note(JsonSerialize):
            text: str

        class Feeder(InboundAdapter):
            def OnTask(self):
                return Status.OK()

        class Intake(BusinessService):
            ADAPTER = IRISParameter("typo.Feedr")

            def OnProcessInput(self, input):
                return Status.OK()
        """)
    assert_one_error_line(pyprod(bad), "Intake.ADAPTER names typo.Feedr",
                          "namespace USER")
    assert bindings(run_iop) == {}  # nothing of the file was bound


def test_bad_package_name(tmp_path: Path, pyprod: Any, run_iop: Any) -> None:
    bad = write(tmp_path, "Dashed.py", """
        iris_package_name = "hello-world"

        class Note(JsonSerialize):
            text: str
        """)
    assert_one_error_line(pyprod(bad), "Dashed.py failed while importing (line 6)",
                          "iris_package_name must be names joined by periods", "'hello-world'")
    assert bindings(run_iop) == {}


def test_adapter_of_the_wrong_kind(tmp_path: Path, pyprod: Any, run_iop: Any) -> None:
    bad = write(tmp_path, "Crossed.py", """
        class Writer(OutboundAdapter):
            pass

        class Intake(BusinessService):
            ADAPTER = IRISParameter("Crossed.Writer")

            def OnProcessInput(self, input):
                return Status.OK()
        """)
    assert_one_error_line(pyprod(bad), "Crossed.Writer", "not an inbound adapter")


def test_adapter_bound_by_an_earlier_load(tmp_path: Path, pyprod: Any, run_iop: Any) -> None:
    first = write(tmp_path, "Adapters.py", """
        iris_package_name = "shared"

        class Feeder(InboundAdapter):
            def OnTask(self):
                return Status.OK()
        """)
    second = write(tmp_path, "Hosts.py", """
        iris_package_name = "shared"

        class Intake(BusinessService):
            ADAPTER = IRISParameter("shared.Feeder")

            def OnProcessInput(self, input):
                return Status.OK()

        class Disk(BusinessService):
            ADAPTER = IRISParameter("EnsLib.File.InboundAdapter")

            def OnProcessInput(self, input):
                return Status.OK()
        """)
    assert_one_error_line(pyprod(second), "shared.Feeder")
    assert pyprod(first).returncode == 0
    proc = pyprod(second)
    assert proc.returncode == 0, proc.stderr
    assert {"shared.Feeder", "shared.Intake", "shared.Disk"} <= set(bindings(run_iop))


def test_message_map_method_must_exist(tmp_path: Path, pyprod: Any) -> None:
    bad = write(tmp_path, "Mapless.py", """
        class Order(JsonSerialize):
            number: int

        class Taker(BusinessOperation):
            MessageMap = {"Mapless.Order": "take_order"}
        """)
    assert_one_error_line(pyprod(bad), "Taker.MessageMap sends Mapless.Order to take_order")


@pytest.mark.parametrize("name, needle", [("missing.py", "does not exist"),
                                          ("my-file.py", "must be a Python module name"),
                                          ("json.py", "json")])
def test_bad_file_names(tmp_path: Path, pyprod: Any, name: str, needle: str) -> None:
    if name != "missing.py":
        write(tmp_path, name, "")
    assert_one_error_line(pyprod(tmp_path / name), needle)


def test_file_without_pyprod_classes(tmp_path: Path, pyprod: Any) -> None:
    assert_one_error_line(pyprod(write(tmp_path, "Empty.py", "x = 1\n")),
                          "defines no message, adapter or business host")


def test_usage_error_without_a_file(pyprod: Any) -> None:
    proc = pyprod()
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "error: give either a path" in proc.stderr
