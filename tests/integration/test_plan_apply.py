"""Production as code against running productions: apply and rollback update what runs, the
component and production lifecycle helpers act only on the production that runs, runtime
reconstruction (from_iris) sees routes that exist only in traffic."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from iop import Production, ProductionChangePlan
from iop.engine.errors import NotRunning
from iop.migration.loader import load_migration

MAIN = "Run.Production"
OTHER = "Run.Other"

COMPONENTS = '''
from iop import Field, PersistentMessage, target


@dataclass
class Ping(Message):
    text: str = ""


class Note(PersistentMessage):
    Text: str = Field(required=True)

    class Meta:
        classname = "Run.Msg.Note"


class Front(BusinessService):
    Output = target()

    def on_process_input(self, message_input):
        return self.send_request_sync(self.Output, message_input)


class Router(BusinessProcess):
    Next = target()

    def on_request(self, request):
        self.send_request_async("Audit", request)  # a dynamic route: no setting names it
        return self.send_request_sync(self.Next, request)


class Echo(BusinessOperation):
    Prefix = setting("echo")

    @handler(Ping)
    def answer(self, request):
        return Ping(f"{self.Prefix}:{request.text}")

    @handler(Note)
    def note(self, request):
        return Note(Text=f"{self.Prefix}:{request.Text}")


class AuditOutbound(OutboundAdapter):
    def record(self, request):
        self.business_host.log_info(f"audited {request.text}")


class Audit(BusinessOperation):
    @classmethod
    def get_adapter_type(cls):
        return "Python.AuditOutbound"  # bound by migration through adapter_class

    def on_message(self, request):
        self.adapter.record(request)
        return None
'''


def settings(prefix: str = "echo") -> str:
    return f'''
prod = Production("{MAIN}", testing_enabled=True)
front = prod.service("Front", Front)
router = prod.process("Router", Router)
echo = prod.operation("Echo", Echo).host_setting("Prefix", {prefix!r})
prod.operation("Audit", Audit, adapter_class=AuditOutbound)
prod.connect(front.Output, router)
prod.connect(router.Next, echo)
other = Production("{OTHER}", testing_enabled=True)
other.operation("Solo", Echo)
PRODUCTIONS = [prod, other]
CLASSES = {{"Run.Msg.Note": Note}}
'''


@pytest.fixture
def running(make_project: Any) -> Any:
    """The project, migrated, with Run.Production started detached."""
    project = make_project(COMPONENTS, settings())
    project.migrate()
    project.start(MAIN)
    project.module_obj = project.import_module()
    return project


def _echo(run_iop: Any, project: Any, text: str) -> dict:
    out = run_iop("-t", "Echo", "-C", project.message_class("Ping"), "-B",
                  json.dumps({"text": text})).stdout
    return json.loads(out.split("body:", 1)[1])


def test_apply_and_rollback_update_the_running_production(running: Any, run_iop: Any,
                                                           store: Any, job_pids: Any,
                                                           wait_for: Any, tmp_path: Path) -> None:
    before_export = run_iop("-e", MAIN).stdout
    pids = wait_for(lambda: (p := job_pids(store)) and len(p) == 4 and p, what="4 items")
    running.write_settings(settings("hello"))
    plan_path = tmp_path / "plan.json"
    run_iop("--plan", running.settings, "--production", MAIN, "--out", plan_path)
    plan = ProductionChangePlan.load(plan_path)
    assert [(op.op, op.item, op.name, op.risk) for op in plan.operations] == [
        ("set_setting", "Echo", "Prefix", "safe")]

    out = run_iop("--apply-plan", plan_path, "--settings", running.settings,
                  "--backup-dir", tmp_path / "backups").stdout
    assert out.splitlines()[-1] == f"Running production {MAIN} updated"
    after = job_pids(store)
    assert after["Echo"] != pids["Echo"]  # only the changed item restarted
    assert {k: v for k, v in after.items() if k != "Echo"} == \
        {k: v for k, v in pids.items() if k != "Echo"}
    assert _echo(run_iop, running, "x") == {"text": "hello:x"}
    assert run_iop("--verify-plan", plan_path).returncode == 0

    [backup] = list((tmp_path / "backups").iterdir())
    out = run_iop("--rollback-backup", backup, "--allow-destructive").stdout
    assert out.splitlines() == [f"Production {MAIN} restored from {backup}",
                                f"Running production {MAIN} updated"]
    assert run_iop("-e", MAIN).stdout == before_export
    assert _echo(run_iop, running, "y") == {"text": "echo:y"}
    assert json.loads(run_iop("-x").stdout)["Status"] == "running"


def test_component_lifecycle_and_runtime_reconstruction(running: Any, store: Any,
                                                        job_pids: Any, wait_for: Any) -> None:
    Ping = running.module_obj.Ping
    prod = Production.from_iris(MAIN)
    assert prod.item("Router").kind == "process"
    assert prod.item("Echo").component_class is running.module_obj.Echo

    # test_component resolves "Item.Port" from this object's graph: Router.Next is Echo.
    assert prod.test_component("Router.Next", Ping("a")) == Ping("echo:a")
    assert prod.item("Echo").test(Ping("b")) == Ping("echo:b")
    assert prod.test_component("Front.Output", Ping("c")) == Ping("echo:c")  # via Router

    info = prod.inspect_component(prod.item("Router").Next)
    assert info["name"] == "Echo" and info["runtime"]["is_running"] is True
    assert info["outgoing"] == [] and info["settings"]["Host"] == {"Prefix": "echo"}
    assert info["runtime"]["queue"]["queue_name"] == "Echo"
    queues = prod.queue()
    assert set(queues) == {"Front", "Router", "Echo", "Audit"}
    assert queues["Echo"]["exists"] is True
    assert set(prod.queue_info()) == set(queues)

    # The async call to Audit has no source setting: a runtime-only route. Audit's adapter is
    # the Python class its host declares, bound by the migration through adapter_class.
    wait_for(lambda: any(e.item == "Audit" and e.text.startswith("audited ")
                         for e in store.log_since(0)), what="Audit's adapter at work")
    assert store.get_binding("Python.AuditOutbound").classname == "AuditOutbound"
    assert prod.inspect_component("Audit")["adapter_class_name"] == "Python.AuditOutbound"
    seen = Production.from_iris(MAIN)
    edges = {(e.source, e.port, e.target): (e.origin, e.interaction)
             for e in seen.graph().graph_edges}
    assert edges[("Router", "", "Audit")] == ("runtime", "async")
    assert edges[("Router", "Next", "Echo")] == ("runtime", "setting")
    desired = load_migration(str(running.settings)).production(MAIN)
    # Only the route seen in traffic differs, as IoP lists a runtime-only connection.
    assert [(c.action, c.path, c.before) for c in desired.diff()] == [
        ("remove", "connections.Router", ["Audit"])]
    plan = desired.plan()
    assert [(op.op, op.name, op.risk) for op in plan.operations] == [
        ("runtime_route", "Router -> Audit", "unsupported")]
    assert [c.path for c in desired.graph_diff() if c.action == "remove"] == [
        "connections.Router"]  # the route seen only in traffic

    old_pid = job_pids(store)["Echo"]
    echo = prod.component_ref("Echo")
    assert echo.stop() is None  # IoP's helpers return nothing; the change persists
    assert "Echo" not in job_pids(store)
    assert Production.from_iris(MAIN).item("Echo").enabled is False
    prod.start_component("Router.Next")
    assert Production.from_iris(MAIN).item("Echo").enabled is True
    new_pid = wait_for(lambda: job_pids(store).get("Echo"), what="Echo restarted")
    assert new_pid != old_pid
    prod.restart_component(prod.item("Router").Next)  # a port designates its target item
    third_pid = wait_for(lambda: (p := job_pids(store).get("Echo")) not in (None, new_pid) and p,
                         what="Echo restarted through Router.Next")
    assert third_pid != old_pid
    echo.restart()
    wait_for(lambda: job_pids(store).get("Echo") not in (None, new_pid, third_pid),
             what="Echo restarted through its ComponentRef")
    assert prod.test_component("Echo", Ping("d")) == Ping("echo:d")


def test_classes_metadata_resolves_incoming_persistent_messages(running: Any, run_iop: Any,
                                                                 iop_json: Any) -> None:
    # Run.Msg.Note is a Meta.classname: no module of that name exists. The CLI process and the
    # Echo job find the Python class through the metadata migration CLASSES wrote.
    [binding] = [b for b in iop_json("--bindings") if b["class"] == "Run.Msg.Note"]
    assert binding["metadata"] == {
        "IOP_MESSAGE_KIND": "persistent",
        "IOP_PYTHON_CLASS": f"{running.module}.Note",
        "IOP_PYTHON_CLASSPATH": str(running.root),
    }
    out = run_iop("-t", "Echo", "-C", "Run.Msg.Note", "-B", json.dumps({"Text": "n"}),
                  cwd=running.root.parent).stdout
    assert out.splitlines()[0] == "classname: Run.Msg.Note"
    assert json.loads(out.split("body:", 1)[1]) == {"Text": "echo:n"}
    bad = run_iop("-t", "Echo", "-C", "Run.Msg.Nothing", "-B", "{}", check=False)
    assert bad.returncode == 1 and "Run.Msg.Nothing" in bad.stderr


def test_lifecycle_helpers_act_only_on_the_running_production(running: Any, run_iop: Any) -> None:
    other = Production.from_iris(OTHER)
    main = Production.from_iris(MAIN)
    current = f"current/default production is {MAIN!r}"
    for action, text in ((other.stop, f"Cannot stop production {OTHER!r}: {current}"),
                         (other.kill, f"Cannot kill production {OTHER!r}: {current}"),
                         (other.update, f"Cannot update production {OTHER!r}: {current}"),
                         (other.restart, f"Cannot restart production {OTHER!r}: {current}"),
                         (lambda: other.start_component("Solo"),
                          f"Cannot start component 'Solo' in production {OTHER!r}: {current}"),
                         (lambda: other.stop_component("Solo"),
                          f"Cannot stop component 'Solo' in production {OTHER!r}: {current}"),
                         (lambda: other.test_component("Solo"),
                          f"Production {OTHER!r} exists but is not running \\(currently "
                          f"running production is {MAIN!r}\\)")):
        with pytest.raises(RuntimeError, match=text):
            action()
    assert json.loads(run_iop("-x").stdout) == {"Production": MAIN, "Status": "running"}
    assert json.loads(run_iop("-e", OTHER).stdout)["Production"]["Item"][0]["@Enabled"] == "true"
    # status() is the director's: the namespace's current production, as in IoP
    assert other.status() == main.status() == {"Production": MAIN, "Status": "running"}
    main.update()
    main.stop()
    assert json.loads(run_iop("-x").stdout)["Status"] == "stopped"
    assert main.status() == {"Production": MAIN, "Status": "stopped"}
    with pytest.raises(NotRunning, match="no production is running"):
        main.update()
    with pytest.raises(RuntimeError, match=f"Production {MAIN!r} exists but is not running "
                                           "\\(current status is 'stopped'\\)"):
        main.test_component("Echo")
    main.stop()  # nothing runs: a no-op


def test_python_api_sync_plan_apply_verify_rollback(make_project: Any, store: Any,
                                                    tmp_path: Path) -> None:
    project = make_project(COMPONENTS, "PRODUCTIONS = []\n")
    module = project.import_module()
    prod = Production("Api.Production")
    echo = prod.operation("Echo", module.Echo)
    prod.process("Router", module.Router).connect("Next", echo)
    summary = prod.sync()
    assert summary["bindings"] == [f"Python.{project.module.replace('_', '')}.Echo",
                                   f"Python.{project.module.replace('_', '')}.Router"]
    # The store keeps the export shape, {"Production": ...}; to_dict is IoP's {name: ...}.
    assert store.get_production("Api.Production") == {"Production": prod.to_dict()["Api.Production"]}
    proxy_module = project.module.replace("_", "")  # IoP's class names drop underscores
    assert store.get_binding(f"Python.{proxy_module}.Echo").classpath == str(project.root)
    assert not prod.diff().has_changes

    deployed = store.get_production("Api.Production")
    prod.item("Echo").pool(3).host_setting("Prefix", "api")
    plan = prod.plan()
    path = plan.save(tmp_path / "plan.json")
    reviewed = ProductionChangePlan.load(path)
    result = prod.apply(reviewed, backup_dir=tmp_path / "backups")
    assert [op.name for op in result.applied] == ["@PoolSize", "Prefix"]
    assert result.updated_running is False and Path(result.backup).is_dir()
    assert prod.verify(reviewed).converged
    assert not prod.diff().has_changes

    with pytest.raises(Exception, match="allow_destructive=True"):
        Production.rollback_backup(result.backup)
    outcome = Production.rollback_backup(result.backup, allow_destructive=True)
    assert outcome["restored"] is True
    assert store.get_production("Api.Production") == deployed
    assert not prod.verify(reviewed).converged
