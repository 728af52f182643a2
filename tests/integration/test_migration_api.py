"""The migration utilities of seed 001 from Python: register/bind, unregister/unbind and list
bindings; Production.from_iris and queue() on the store; a single-file production run as a
script that syncs and starts itself."""

from __future__ import annotations

import subprocess
import textwrap
from pathlib import Path
from typing import Any

import pytest

from iop import (
    Production,
    bind_component,
    list_bindings,
    register_component,
    unbind_component,
    unregister_component,
)
from iop.engine import registry
from iop.engine.errors import EngineError, UnknownClass, UnknownProduction

BO = '''
from iop import BusinessOperation


class FileOperation(BusinessOperation):
    def on_message(self, request):
        return request
'''

OPERATIONS = '''
from iop import BusinessOperation, BusinessService


class AuditOperation(BusinessOperation):
    pass


class AuditService(BusinessService):
    pass
'''


@pytest.fixture
def component_folder(tmp_path: Path, iop_home: Path) -> Path:
    """A folder laid out like seed 001's /irisdev/app/src/python/demo: bo.py and another file."""
    folder = tmp_path / "python" / "demo"
    folder.mkdir(parents=True)
    (folder / "bo.py").write_text(BO)
    (folder / "operations.py").write_text(OPERATIONS)
    return folder


def test_register_bind_list_and_unbind(component_folder: Path, store: Any) -> None:
    name = register_component("bo", "FileOperation", str(component_folder), overwrite=1,
                              iris_classname="Python.FileOperation")
    assert name == "Python.FileOperation"
    [row] = list_bindings()
    assert row == {"class": "Python.FileOperation", "super": "IOP.BusinessOperation",
                   "module": "bo", "classname": "FileOperation",
                   "classpaths": str(component_folder), "used": False, "used_by": []}
    assert registry.resolve(store, "Python.FileOperation").__module__ == "bo"

    # The alias takes the same arguments; overwrite=0 refuses to replace a binding.
    with pytest.raises(EngineError, match="Python.FileOperation is already bound"):
        bind_component("bo", "FileOperation", str(component_folder), overwrite=0,
                       iris_classname="Python.FileOperation")
    # A short kind finds the class in the folder's files; the default name is Python.<Class>.
    assert bind_component("bo", "AuditOperation", str(component_folder)) == \
        "Python.AuditOperation"
    with pytest.raises(EngineError, match="AuditService"):
        bind_component("bo", "AuditService", str(component_folder))
    with pytest.raises(UnknownClass, match="no operation class Missing"):
        register_component("bo", "Missing", str(component_folder))

    prod = Production("Demo.Bindings")
    prod.operation("FileOut", "Python.FileOperation")
    prod.operation("Audit", "Python.AuditOperation")
    store.save_production(prod.name, prod.to_dict())
    assert list_bindings(unused_only=True) == []
    used = {row["class"]: row["used_by"] for row in list_bindings()}
    assert used["Python.FileOperation"] == [{"production": "Demo.Bindings", "item": "FileOut"}]

    # Refused while an item uses the class, with the references listed; nothing is removed.
    with pytest.raises(EngineError, match="still used by production items: Demo.Bindings/FileOut"):
        unregister_component("Python.FileOperation")
    assert store.get_binding("Python.FileOperation") is not None
    prod.remove("FileOut")
    store.save_production(prod.name, prod.to_dict())
    assert [row["class"] for row in list_bindings(unused_only=True)] == ["Python.FileOperation"]
    unbind_component("Python.FileOperation")
    assert store.get_binding("Python.FileOperation") is None
    assert component_folder.joinpath("bo.py").exists()  # the Python source stays
    assert store.get_production("Demo.Bindings") == prod.to_dict()  # so do production items
    with pytest.raises(UnknownClass, match="Python.FileOperation is not bound"):
        unregister_component("Python.FileOperation")


def test_from_iris_and_queue_name_what_is_missing(store: Any) -> None:
    with pytest.raises(UnknownProduction, match="production No.Such does not exist"):
        Production.from_iris("No.Such")
    prod = Production("Demo.Queue")
    prod.operation("Out", "EnsLib.File.PassthroughOperation")
    store.save_production(prod.name, prod.to_dict())
    deployed = Production.from_iris("Demo.Queue")
    assert deployed.item("Out").kind == "operation"  # the built-in's role is known
    queue = {"Out": {"queue_name": "Out", "class_name": "EnsLib.File.PassthroughOperation",
                     "exists": False, "count": 0}}
    assert deployed.queue() == deployed.queue_info() == queue
    info = deployed.inspect_component("Out")
    assert info["runtime"] == {
        "production_status": {"Production": "Not defined", "Status": "stopped"},
        "current_production": "Not defined", "status": "stopped",
        "is_current_production": False, "is_running": False, "queue": queue["Out"]}


SCRIPT = '''
from dataclasses import dataclass

from iop import BusinessOperation, Message, Production


@dataclass
class Hello(Message):
    text: str = ""


class Echo(BusinessOperation):
    def on_message(self, request):
        return Hello("echo " + request.text)


prod = Production("Script.Production", testing_enabled=True)
prod.operation("Echo", Echo)
PRODUCTIONS = [prod]

if __name__ == "__main__":
    print("bindings", prod.sync()["bindings"])
    prod.start()
    try:
        print("reply", prod.test_component("Echo", Hello("hi")).text)
    finally:
        prod.stop()
    print("status", prod.status()["Status"])
'''


def test_single_file_production_syncs_and_runs_itself(tmp_path: Path, python_exe: str,
                                                      store: Any, run_iop: Any) -> None:
    script = tmp_path / "app" / "demo.py"
    script.parent.mkdir()
    script.write_text(textwrap.dedent(SCRIPT))
    done = subprocess.run([python_exe, str(script)], capture_output=True, text=True,
                          timeout=120, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    # Classes defined in the script bind under its module name, which jobs can import.
    assert done.stdout.splitlines() == ["bindings ['Python.demo.Echo']", "reply echo hi",
                                        "status stopped"]
    binding = store.get_binding("Python.demo.Echo")
    assert (binding.module, binding.classpath) == ("demo", str(script.parent))
    # Migrating the same file does not run its __main__ block and changes nothing.
    out = run_iop("-m", script).stdout.splitlines()
    assert "  Script.Production: 1 item(s), 0 route(s) (unchanged)" in out
    assert "reply" not in "\n".join(out)


def test_in_namespace_and_with_director_choose_where_calls_go(store: Any) -> None:
    from iop import Director

    prod = Production("Demo.Elsewhere").in_namespace("OTHERNS")
    prod.operation("Out", "EnsLib.File.PassthroughOperation").adapter_setting("FilePath", "/o")
    assert prod.sync()["namespace"] == "OTHERNS"
    assert store.get_production("Demo.Elsewhere") is None  # not the default namespace
    assert Production.from_iris("Demo.Elsewhere", namespace="OTHERNS").to_dict() == prod.to_dict()
    through = Production("Demo.Elsewhere").with_director(Director(namespace="OTHERNS"))
    through.operation("Out", "EnsLib.File.PassthroughOperation")
    [change] = through.diff().changes  # compared with what OTHERNS holds
    assert (change.action, change.path) == ("remove", "items.Out.settings.Adapter.FilePath")
    assert [op.risk for op in through.plan().operations] == ["blocked"]


def test_apply_refuses_stale_or_foreign_plans_and_backups(store: Any, tmp_path: Path) -> None:
    from iop.production import PlanError

    prod = Production("Demo.Stale")
    prod.operation("Out", "EnsLib.File.PassthroughOperation")
    prod.sync()
    deployed = store.get_production("Demo.Stale")
    prod.item("Out").pool(2)
    plan = prod.plan()
    backups = tmp_path / "backups"

    prod.item("Out").pool(3)  # the Python definition moved on after the review
    with pytest.raises(PlanError, match="Python definition of Demo.Stale changed since the plan"):
        prod.apply(plan, backup_dir=backups)
    with pytest.raises(PlanError, match="the plan is for production Demo.Stale, not Demo.Other"):
        Production("Demo.Other").apply(plan, backup_dir=backups)
    with pytest.raises(PlanError, match="made in namespace USER, not OTHERNS"):
        Production("Demo.Stale").in_namespace("OTHERNS").apply(plan, backup_dir=backups)
    assert store.get_production("Demo.Stale") == deployed and not backups.exists()

    prod.item("Out").pool(2)
    result = prod.apply(plan, backup_dir=backups)
    assert [op.name for op in result.applied] == ["@PoolSize"]
    with pytest.raises(PlanError, match="changed since the plan was made"):
        prod.apply(plan, backup_dir=backups)  # applied once: the deployed fingerprint moved
    with pytest.raises(PlanError, match="is from namespace USER, not OTHERNS"):
        Production.rollback_backup(result.backup, allow_destructive=True, namespace="OTHERNS")
    assert Production.rollback_backup(result.backup, allow_destructive=True)["restored"] is True
    assert store.get_production("Demo.Stale") == deployed
