"""Production as code through the real CLI: migrate (explain, strict, CLASSES, SCHEMAS), export
drafts that round-trip, plan / review / apply / verify / rollback, bindings, bad input."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

import pytest

from iop import Production
from iop.migration.loader import load_migration, migrate_file
from iop.production.diff import diff_exports

REPO = Path(__file__).resolve().parents[2]

COMPONENTS = '''
from pydantic import BaseModel
from iop import Field, PersistentMessage, PydanticMessage, target


@dataclass
class OrderRequest(Message):
    order_id: str = ""
    amount: float = 0.0


class PricedOrder(PydanticMessage):
    order_id: str = ""
    total: float = 0.0


class OrderMessage(PersistentMessage):
    OrderId: str = Field(required=True, max_length=64)
    Amount: float = 0.0

    class Meta:
        classname = "Demo.Msg.OrderMessage"


class FileService(PollingBusinessService):
    Output = target()

    def on_poll(self):
        pass


class OrderOperation(BusinessOperation):
    Limit = setting(10)

    def on_message(self, request):
        return request
'''

# The two class-style examples of seed 001, "Production Class".
SEED_CLASS_EXAMPLES = '''
from iop import OperationItem, Route, ServiceItem

ORDER_OPERATION = OperationItem("OrderOperation", OrderOperation)


class DemoProduction(Production):
    name = "Demo.Production"
    testing_enabled = True

    services = (
        ServiceItem(
            "FileInput",
            FileService,
            routes=(Route(FileService.Output, ORDER_OPERATION),),
        ),
    )
    operations = (ORDER_OPERATION,)


FILE_OUT = OperationItem("FileOut", "EnsLib.File.PassthroughOperation")


class FileProduction(Production):
    name = "Demo.FileProduction"

    services = (
        ServiceItem(
            "FileIn",
            "EnsLib.File.PassthroughService",
            adapter_settings={"FilePath": "/tmp/in"},
            routes=(Route("TargetConfigNames", FILE_OUT),),
        ),
    )
    operations = (FILE_OUT,)


PRODUCTIONS = [DemoProduction, FileProduction()]
'''

def store_dump(store: Any) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table of the namespace's SQLite store, in a stable order."""
    with sqlite3.connect(store.location) as db:
        tables = [row[0] for row in db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        return {table: sorted(db.execute(f'SELECT * FROM "{table}"').fetchall(), key=repr)
                for table in tables}


def one_error_line(proc: subprocess.CompletedProcess[str], *needles: str) -> str:
    assert proc.returncode == 1, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    assert "Traceback" not in proc.stderr + proc.stdout, proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    for needle in needles:
        assert needle in lines[0], f"{needle!r} not in {lines[0]}"
    return lines[0]


@pytest.fixture
def seed(make_project: Any) -> Any:
    """The seed class-style examples, migrated."""
    project = make_project(COMPONENTS, SEED_CLASS_EXAMPLES)
    project.migrate()
    return project


# -- migrate ----------------------------------------------------------------------------------


def test_explain_prints_the_plan_in_sections_and_writes_nothing(make_project: Any, run_iop: Any,
                                                                  iop_json: Any) -> None:
    project = make_project(COMPONENTS, SEED_CLASS_EXAMPLES + '''
CLASSES = {"Demo.Msg.OrderMessage": OrderMessage, "Python.Orders": OrderOperation}
SCHEMAS = [OrderRequest, PricedOrder]
''')
    for flag in ("--dry-run", "--explain"):
        out = run_iop("-M", project.settings, flag).stdout.splitlines()
        # IoP's layout: a header, then each section followed by a blank line.
        assert out[:4] == [f"Migration plan: {project.settings}", "Mode: LOCAL",
                           "Namespace: USER", ""]
        sections = [line for line in out if line.endswith(":") and not line.startswith(" ")]
        assert sections == ["CLASSES:", "SCHEMAS:", "PRODUCTIONS:", "VALIDATION:"]
        module = project.module
        assert f"  Demo.Msg.OrderMessage -> {module}.OrderMessage (PersistentMessage)" in out
        assert f"  Python.Orders -> {module}.OrderOperation (component)" in out
        assert f"  Python.{module.replace('_', '')}.FileService -> {module}.FileService " \
               "(component)" in out
        schemas = out[out.index("SCHEMAS:") + 1:out.index("PRODUCTIONS:") - 1]
        assert schemas == [f"  {module}.OrderRequest", f"  {module}.PricedOrder"]
        productions = out[out.index("PRODUCTIONS:") + 1:out.index("VALIDATION:") - 1]
        assert productions == ["  Demo.Production", "  Demo.FileProduction"]
        assert out[-1] == "" and "Migration succeeded" not in out
    assert iop_json("-l") == {} and iop_json("--bindings") == []


def test_migrate_writes_classes_schemas_and_productions(make_project: Any, run_iop: Any,
                                                        iop_json: Any, store: Any) -> None:
    project = make_project(COMPONENTS, SEED_CLASS_EXAMPLES + '''
CLASSES = {"Demo.Msg.OrderMessage": OrderMessage}
SCHEMAS = [PricedOrder]
''')
    out = project.migrate().stdout.splitlines()
    assert out[:3] == ["Mode: LOCAL", "Namespace: USER", f"Settings file: {project.settings}"]
    assert [line for line in out if line.endswith(":") and not line.startswith(" ")] == \
        ["CLASSES:", "SCHEMAS:", "PRODUCTIONS:"]
    assert f"  {project.module}.PricedOrder (JSON schema, 2 field(s))" in out
    assert out[-1] == "Migration succeeded"
    bindings = {b["class"]: b for b in iop_json("--bindings")}
    message = bindings["Demo.Msg.OrderMessage"]
    assert message["super"] == "Ens.MessageBody"
    assert message["metadata"] == {
        "IOP_MESSAGE_KIND": "persistent",
        "IOP_PYTHON_CLASS": f"{project.module}.OrderMessage",
        "IOP_PYTHON_CLASSPATH": str(project.root),
    }
    service = bindings[f"Python.{project.module.replace('_', '')}.FileService"]
    assert service["super"] == "IOP.BusinessService" and service["used"] is True
    assert service["used_by"] == [{"production": "Demo.Production", "item": "FileInput"}]
    schema = json.loads(store.get_meta(f"schema:{project.module}.PricedOrder"))
    assert set(schema["schema"]["properties"]) == {"order_id", "total"}
    assert set(iop_json("-l")) == {"Demo.Production", "Demo.FileProduction"}
    assert run_iop("-d").stdout.strip() == "default production: Demo.Production"


def test_meta_classname_must_agree_with_the_classes_key(seed: Any, run_iop: Any,
                                                        store: Any) -> None:
    before = store_dump(store)
    seed.write_settings(SEED_CLASS_EXAMPLES + 'CLASSES = {"Other.Name": OrderMessage}\n')
    one_error_line(run_iop("-m", seed.settings, check=False),
                   "CLASSES['Other.Name']", "Meta.classname is 'Demo.Msg.OrderMessage'")
    assert store_dump(store) == before


def test_main_guard_and_the_files_folder_come_first(make_project: Any, run_iop: Any,
                                                    tmp_path: Path) -> None:
    marker = tmp_path / "main-ran"
    project = make_project(COMPONENTS, f'''
from flask import LOCAL_SHADOW  # the settings folder's flask.py, not the installed Flask
prod = Production("Demo.Guarded")
prod.operation("Op", OrderOperation)
PRODUCTIONS = [prod]
if __name__ == "__main__":
    open({str(marker)!r}, "w").write("ran")
    prod.start()
''')
    (project.root / "flask.py").write_text("LOCAL_SHADOW = True\n")
    assert project.migrate().stdout.splitlines()[-1] == "Migration succeeded"
    assert not marker.exists()
    assert "Demo.Guarded" in run_iop("-l").stdout


def test_validation_warns_and_strict_mode_fails(seed: Any, run_iop: Any, store: Any) -> None:
    seed.write_settings('''
prod = Production("Demo.Production", testing_enabled=True)
prod.operation("OrderOperation", OrderOperation).host_setting("Limit", "many") \\
    .host_setting("Typo", "1")
PRODUCTIONS = [prod]
''')
    before = store_dump(store)
    for extra in (("--dry-run",), ()):
        # A value its setting's type cannot read is an error, strict or not (issue 25).
        for strict in (("--strict-production-validation",), ()):
            line = one_error_line(run_iop("-m", seed.settings, *strict, *extra, check=False),
                                  "production validation failed")
            assert "item OrderOperation: host setting Limit='many' is not a valid int" in line
            assert ("and 1 more issue" in line) == bool(strict), line  # Typo: a warning
            assert "nothing was written" in line
    assert store_dump(store) == before
    seed.write_settings('''
prod = Production("Demo.Production", testing_enabled=True)
prod.operation("OrderOperation", OrderOperation).host_setting("Limit", "12") \\
    .host_setting("Typo", "1")
PRODUCTIONS = [prod]
''')
    line = one_error_line(run_iop("-m", seed.settings, "--strict-production-validation",
                                  check=False), "strict production validation")
    assert "host setting Typo is not declared by OrderOperation" in line
    out = run_iop("-m", seed.settings).stdout.splitlines()
    assert "    warning: item OrderOperation: host setting Typo is not declared by " \
           "OrderOperation" in out
    assert out[-1] == "Migration succeeded"


@pytest.mark.parametrize("source, needles", [
    ("from iop import Production\n\nPRODUCTIONS = [\n", ("syntax error", "line")),
    ("from iop import Production\nimport no_such_module_here\n",
     ("bad_settings.py:2)", "ModuleNotFoundError", "no_such_module_here")),
    ("from iop import Production, ServiceItem\n"
     "class Odd(Production):\n"
     "    name = 'Demo.Odd'\n"
     "    services = ('FileIn',)\n"
     "PRODUCTIONS = [Odd]\n",
     ("PRODUCTIONS[0]: Odd() failed: TypeError: services must contain production item declarations",)),
    ("from iop import Production\nPRODUCTIONS = ['Demo.Production']\n",
     ("PRODUCTIONS[0] is a str, not a Production",)),
    ("from iop import Production\nPRODUCTIONS = [{'Production': {'@Name': 'X', "
     "'Item': [{'@Name': 'A'}]}}]\n", ("PRODUCTIONS[0]", "item A has no @ClassName")),
    ("from iop import Production\n"
     "ok = Production('Demo.New').operation('Op', 'Demo.Op').production\n"
     "bad = Production('Demo.Production')\n"
     "bad.service('In', class_name='EnsLib.File.PassthroughService')"
     ".connect('TargetConfigNames', 'Missing')\n"
     "PRODUCTIONS = [ok, bad]\n",
     ("item In: port TargetConfigNames routes to Missing", "nothing was written")),
    ("from iop import OperationItem, Production, Route, ServiceItem\n"
     "class Broken(Production):\n"
     "    name = 'Demo.Production'\n"
     "    services = (ServiceItem('In', 'EnsLib.File.PassthroughService', routes=(\n"
     "        Route('TargetConfigNames', OperationItem('Ghost', 'Demo.Ghost')),)),)\n"
     "PRODUCTIONS = [Broken]\n",
     ("item In: port TargetConfigNames routes to Ghost", "nothing was written")),
    ("from iop import Production\nREMOTE_SETTINGS = 'http://x'\n", ("REMOTE_SETTINGS",)),
    ("from iop import Production\nCLASSES = {'X': int}\n", ("CLASSES['X'] is int",)),
    ("from iop import Production\nSCHEMAS = [1]\n", ("SCHEMAS[0]",)),
], ids=["syntax", "import", "bad-declaration", "not-a-production", "bad-export", "missing-route-target",
        "class-style-missing-route-target", "remote-settings", "classes", "schemas"])
def test_bad_settings_files_leave_the_store_unchanged(seed: Any, run_iop: Any, store: Any,
                                                      tmp_path: Path, source: str,
                                                      needles: tuple[str]) -> None:
    bad = tmp_path / "bad_settings.py"
    bad.write_text(source)
    before = store_dump(store)
    assert before["productions"] and before["bindings"]  # there is something to lose
    for command in (("-m", bad), ("-M", bad, "--dry-run")):
        one_error_line(run_iop(*command, check=False), *needles)
    plan_needles = [n for n in needles if n != "nothing was written"]
    one_error_line(run_iop("--plan", bad, "--production", "Demo.Production", check=False),
                   *plan_needles)
    assert store_dump(store) == before


def test_apply_with_a_broken_settings_file_changes_nothing(seed: Any, run_iop: Any, store: Any,
                                                          tmp_path: Path) -> None:
    seed.write_settings(SEED_CLASS_EXAMPLES.replace("testing_enabled = True",
                                                    "testing_enabled = False"))
    plan = tmp_path / "plan.json"
    run_iop("--plan", seed.settings, "--production", "Demo.Production", "--out", plan)
    seed.settings.write_text(seed.settings.read_text() + "\ndef broken(:\n")
    before = store_dump(store)
    backups = tmp_path / "backups"
    one_error_line(run_iop("--apply-plan", plan, "--settings", seed.settings, "--backup-dir",
                           backups, check=False), "syntax error", str(seed.settings))
    assert store_dump(store) == before and not backups.exists()


# -- export drafts round-trip ---------------------------------------------------------------


# The instance-style examples of seed 001, "Production Class", and a fan-out Route.
SEED_INSTANCE_EXAMPLES = """
from iop import OperationItem, Route, ServiceItem

fluent = (
    Production("Demo.Fluent")
    .testing()
    .tracing()
    .actor_pool(2)
    .describe("Order ingestion")
)
orders = fluent.operation(OrderOperation)
file = (
    fluent.service("FileInput", FileService)
    .pool(2)
    .host_setting("Limit", 10)
    .adapter_setting("Charset", "utf-8")
    .connect("Output", orders)
)

manual = Production("Demo.Manual")
out = manual.operation("FileOut", class_name="EnsLib.File.PassthroughOperation")
inp = (
    manual.service("FileIn", class_name="EnsLib.File.PassthroughService")
    .adapter_setting("FilePath", "/tmp/in")
    .connect("TargetConfigNames", out)
)
other = manual.service("FileIn2", class_name="EnsLib.File.PassthroughService")
manual.connect(other.port("TargetConfigNames"), out)

alerts = (
    Production("Demo.Alerts")
    .timeouts(shutdown=120, update=10)
    .alerting(
        manager="Alerts.Manager",
        operation="Alerts.Operation",
        recipients="ops@example.com",
        action_window=60,
    )
)
alerts.operation("Alerts.Operation", class_name="EnsLib.File.PassthroughOperation")

AUDIT = OperationItem("AuditOperation", "EnsLib.File.PassthroughOperation")
ORDERS = OperationItem("OrderOperation", "EnsLib.File.PassthroughOperation")


class FanOut(Production):
    name = "Demo.FanOut"
    services = (ServiceItem("In", "EnsLib.File.PassthroughService",
                            routes=(Route("TargetConfigNames", (AUDIT, ORDERS)),)),)
    operations = (AUDIT, ORDERS)


PRODUCTIONS = CLASS_STYLE + [fluent, manual, alerts, FanOut]
"""


def _round_trip(run_iop: Any, store: Any, name: str, folder: Path) -> None:
    """Export ``name`` as a python and a class draft; each re-imports (in this process and
    through the migration path) to a production the diff finds no change in."""
    before = store.get_production(name)
    assert before is not None
    for fmt in ("python", "class"):
        draft = folder / f"draft_{fmt}_{name.replace('.', '_')}.py"
        draft.write_text(run_iop("-e", name, "--format", fmt).stdout)
        reimported = load_migration(str(draft)).production(name)
        assert not reimported.diff(before).has_changes, f"{fmt}: {reimported.diff(before)}"
        assert not Production.from_dict(before).diff(reimported).has_changes
        assert migrate_file(store, str(draft))[-1] == "Migration succeeded"
        after = store.get_production(name)
        assert not diff_exports(before, after).has_changes, f"{fmt}: {diff_exports(before, after)}"
        if fmt == "python":  # same items in the same order: the very same export
            assert after == before


@pytest.mark.slow  # over 20 s
def test_seed_examples_round_trip(seed: Any, run_iop: Any, store: Any, tmp_path: Path) -> None:
    seed.write_settings(SEED_CLASS_EXAMPLES.replace("PRODUCTIONS =", "CLASS_STYLE =")
                        + SEED_INSTANCE_EXAMPLES)
    seed.migrate()
    names = ("Demo.Production", "Demo.FileProduction", "Demo.Fluent", "Demo.Manual",
             "Demo.Alerts", "Demo.FanOut")
    assert set(json.loads(run_iop("-l").stdout)) == set(names)
    for name in names:
        _round_trip(run_iop, store, name, tmp_path)
    draft = run_iop("-e", "Demo.FileProduction", "--format", "class").stdout
    assert "FILE_IN = ServiceItem(" in draft  # the built-in's role is known
    assert "routes=(Route('TargetConfigNames', FILE_OUT),)," in draft
    fan_out = run_iop("-e", "Demo.FanOut", "--format", "class").stdout
    assert "routes=(Route('TargetConfigNames', (AUDIT_OPERATION, ORDER_OPERATION,)),)," \
        in fan_out
    fluent = run_iop("-e", "Demo.Fluent", "--format", "python").stdout
    assert "file_input.host_setting('Limit', '10')" in fluent
    assert "file_input.adapter_setting('Charset', 'utf-8')" in fluent
    assert "prod.connect(file_input.port('Output'), order_operation)" in fluent
    alerts = run_iop("-e", "Demo.Alerts", "--format", "python").stdout
    assert "'AlertNotificationRecipients': 'ops@example.com'," in alerts


def test_demo_example_round_trips(run_iop: Any, store: Any, tmp_path: Path) -> None:
    demo = tmp_path / "demo"
    shutil.copytree(REPO / "examples" / "demo", demo,
                    ignore=shutil.ignore_patterns("__pycache__"))
    run_iop("-m", demo / "settings.py")
    _round_trip(run_iop, store, "Demo.Production", tmp_path)
    # The CLI's own plan command finds nothing to change either.
    for fmt in ("python", "class"):
        draft = tmp_path / f"cli_{fmt}.py"
        draft.write_text(run_iop("-e", "Demo.Production", "--format", fmt).stdout)
        plan = json.loads(run_iop("--plan", draft, "--production", "Demo.Production").stdout)
        assert plan["operations"] == [], f"{fmt} draft: {plan['operations']}"


def test_graph_and_mermaid_exports(seed: Any, run_iop: Any) -> None:
    graph = run_iop("-e", "Demo.Production", "--format", "graph").stdout.splitlines()
    assert graph[0] == "Demo.Production"  # IoP's ProductionGraph.to_text()
    assert "    Output -> OrderOperation [runtime]" in graph
    mermaid = run_iop("-e", "Demo.FileProduction", "--format", "mermaid").stdout.splitlines()
    assert mermaid[0] == "flowchart LR"
    assert '    n0 -->|"TargetConfigNames"| n1' in mermaid
    assert mermaid.index("    subgraph services[Services]") < \
        mermaid.index("    subgraph operations[Operations]")
    run_iop("-d", "Demo.FileProduction")
    assert run_iop("-e", "--format", "graph").stdout.startswith("Demo.FileProduction\n")
    one_error_line(run_iop("-e", "No.Such", "--format", "python", check=False), "No.Such")


# -- plan / review / apply / verify / rollback ----------------------------------------------------


DEPLOYED_WITH_EXTRAS = '''
prod = Production("Demo.Production", testing_enabled=True)
prod.service("FileInput", FileService).connect("Output", "OrderOperation") \\
    .adapter_setting("CallInterval", "30").host_setting("Legacy", "keep me")
prod.operation("OrderOperation", OrderOperation).host_setting("Limit", "5")
prod.operation("LegacyOperation", "EnsLib.File.PassthroughOperation") \\
    .adapter_setting("FilePath", "/legacy")
prod.production_setting("AlertActionWindow", "90")
# Deployed as an IRIS export with a field the Python model does not know.
deployed = prod.to_dict()
deployed["Demo.Production"]["Item"][0]["@InactivityTimeout"] = "30"
PRODUCTIONS = [deployed]
'''

DESIRED = '''
prod = Production("Demo.Production", testing_enabled=True).timeouts(shutdown=30)
file = prod.service("FileInput", FileService).adapter_setting("CallInterval", "5")
orders = prod.operation("OrderOperation", OrderOperation).pool(2).host_setting("Limit", "50")
prod.connect(file.Output, orders)
PRODUCTIONS = [prod]
'''


def test_plan_apply_verify_rollback(make_project: Any, run_iop: Any, tmp_path: Path) -> None:
    desired = make_project(COMPONENTS, DEPLOYED_WITH_EXTRAS)
    desired.migrate()
    before = run_iop("-e", "Demo.Production").stdout
    desired.write_settings(DESIRED)
    plan_path = tmp_path / "plan.json"
    backups = tmp_path / "backups"

    out = run_iop("--plan", desired.settings, "--production", "Demo.Production",
                  "--out", plan_path).stdout
    plan = json.loads(plan_path.read_text())
    risks = {(op["op"], op["item"], op["name"]): op["risk"] for op in plan["operations"]}
    assert risks == {
        ("set_production_setting", None, "ShutdownTimeout"): "safe",
        ("remove_production_setting", None, "AlertActionWindow"): "blocked",
        ("set_setting", "FileInput", "CallInterval"): "safe",
        ("remove_setting", "FileInput", "Legacy"): "blocked",
        ("set_item_attribute", "OrderOperation", "@PoolSize"): "safe",
        ("set_setting", "OrderOperation", "Limit"): "safe",
        ("remove_item", None, "LegacyOperation"): "blocked",
        ("remove_field", "FileInput", "@InactivityTimeout"): "blocked",
    }
    assert f"Plan saved to {plan_path}" in out and "[blocked] remove item LegacyOperation" in out
    review = run_iop("--review-plan", plan_path).stdout
    assert "8 operation(s): 4 safe, 0 destructive, 4 blocked, 0 unsupported" in review
    assert "BLOCKED: kept unless --allow-destructive" in review
    assert "[blocked] remove export field @InactivityTimeout of item FileInput" in review

    applied = run_iop("--apply-plan", plan_path, "--settings", desired.settings,
                      "--backup-dir", backups).stdout
    assert applied.startswith("Applied 4 operation(s) to production Demo.Production, skipped 4")
    assert "warning" not in applied  # --settings bound the classes
    [backup] = list(backups.iterdir())
    assert f"Backup: {backup}" in applied
    assert json.loads((backup / "production.json").read_text()) == json.loads(before)
    after = json.loads(run_iop("-e", "Demo.Production").stdout)["Production"]
    items = {i["@Name"]: i for i in after["Item"]}
    assert "LegacyOperation" in items  # blocked: kept
    assert items["LegacyOperation"] == json.loads(before)["Production"]["Item"][2]
    assert items["FileInput"]["@InactivityTimeout"] == "30"
    assert {"@Target": "Host", "@Name": "Legacy", "#text": "keep me"} in items["FileInput"]["Setting"]
    assert {"@Name": "AlertActionWindow", "#text": "90"} in after["Setting"]
    assert items["OrderOperation"]["@PoolSize"] == "2"
    assert {"@Target": "Adapter", "@Name": "CallInterval", "#text": "5"} in \
        items["FileInput"]["Setting"]

    verified = run_iop("--verify-plan", plan_path)
    assert verified.stdout.startswith("Production Demo.Production: safe operations converged")
    assert "  not applied: #" in verified.stdout

    # The deployed production changed since the plan: apply refuses and writes nothing.
    changed = run_iop("-e", "Demo.Production").stdout
    one_error_line(run_iop("--apply-plan", plan_path, "--settings", desired.settings,
                           "--backup-dir", backups, check=False),
                   "changed since the plan was made")
    assert run_iop("-e", "Demo.Production").stdout == changed and len(list(backups.iterdir())) == 1

    one_error_line(run_iop("--rollback-backup", backup, check=False), "--allow-destructive")
    assert run_iop("-e", "Demo.Production").stdout == changed
    restored = run_iop("--rollback-backup", backup, "--allow-destructive").stdout
    assert restored.strip() == f"Production Demo.Production restored from {backup}"
    assert run_iop("-e", "Demo.Production").stdout == before
    not_converged = run_iop("--verify-plan", plan_path, check=False)
    assert not_converged.returncode == 1 and "NOT converged" in not_converged.stdout


def test_allow_destructive_removes_what_python_does_not_declare(make_project: Any, run_iop: Any,
                                                                 tmp_path: Path) -> None:
    desired = make_project(COMPONENTS, DEPLOYED_WITH_EXTRAS)
    desired.migrate()
    desired.write_settings(DESIRED)
    plan_path = tmp_path / "plan.json"
    run_iop("--plan", desired.settings, "--out", plan_path)
    out = run_iop("--apply-plan", plan_path, "--settings", desired.settings, "--backup-dir",
                  tmp_path / "b", "--allow-destructive").stdout
    assert out.startswith("Applied 8 operation(s) to production Demo.Production, skipped 0")
    assert "LegacyOperation" not in run_iop("-e", "Demo.Production").stdout
    assert json.loads(run_iop("--plan", desired.settings).stdout)["operations"] == []


def test_plan_of_a_new_production_creates_it(make_project: Any, run_iop: Any,
                                             tmp_path: Path) -> None:
    desired = make_project(COMPONENTS, DESIRED)
    plan_path = tmp_path / "plan.json"
    out = run_iop("--plan", desired.settings, "--out", plan_path).stdout
    assert "Plan for production Demo.Production (not deployed yet)" in out
    assert "[safe] create production Demo.Production with 2 item(s)" in out
    run_iop("--apply-plan", plan_path, "--settings", desired.settings, "--backup-dir",
            tmp_path / "b")
    bindings = {b["class"] for b in json.loads(run_iop("--bindings").stdout)}
    assert f"Python.{desired.module.replace('_', '')}.FileService" in bindings
    [backup] = list((tmp_path / "b").iterdir())
    assert json.loads((backup / "production.json").read_text()) is None
    out = run_iop("--rollback-backup", backup, "--allow-destructive").stdout
    assert out.startswith("Production Demo.Production removed")
    assert json.loads(run_iop("-l").stdout) == {}


def test_apply_without_settings_is_refused_as_iop_does(make_project: Any, run_iop: Any,
                                                       tmp_path: Path) -> None:
    desired = make_project(COMPONENTS, DESIRED)
    plan_path = tmp_path / "plan.json"
    run_iop("--plan", desired.settings, "--out", plan_path)
    one_error_line(run_iop("--apply-plan", plan_path, "--backup-dir", tmp_path / "b",
                           check=False), "--apply-plan requires --settings.")
    assert not (tmp_path / "b").exists() and json.loads(run_iop("-l").stdout) == {}


def test_plan_command_errors(seed: Any, run_iop: Any, tmp_path: Path) -> None:
    one_error_line(run_iop("--plan", seed.settings, check=False), "several productions",
                   "Demo.Production", "Demo.FileProduction")
    one_error_line(run_iop("--plan", seed.settings, "--production", "Nope", check=False),
                   "no production Nope")
    one_error_line(run_iop("--review-plan", tmp_path / "none.json", check=False), "none.json")
    one_error_line(run_iop("-l", "--out", "x.json", check=False), "--out goes with --plan")
    for stray, needle in ((("--format", "python"), "--format goes with -e/--export"),
                          (("--allow-destructive",), "--allow-destructive goes with"),
                          (("-l", "--dry-run"), "--dry-run goes with -m/-M"),
                          (("--strict-production-validation",), "goes with -m/-M"),
                          (("-l", "--unused"), "--unused goes with --bindings")):
        one_error_line(run_iop(*stray, check=False), needle)
    bad = tmp_path / "plan.json"
    bad.write_text("[]")
    one_error_line(run_iop("--apply-plan", bad, "--settings", seed.settings, check=False),
                   "not a production change plan")
    one_error_line(run_iop("--rollback-backup", tmp_path / "nope", "--allow-destructive",
                           check=False), "does not exist")


# -- bindings ---------------------------------------------------------------------------------------


def test_bindings_listing_and_unbind(seed: Any, run_iop: Any, iop_json: Any) -> None:
    module = seed.module
    seed.write_settings(SEED_CLASS_EXAMPLES + 'CLASSES = {"Python.Spare": OrderOperation}\n')
    seed.migrate()
    unused = [b["class"] for b in iop_json("--bindings", "--unused")]
    assert unused == ["Python.Spare"]
    used = f"Python.{module.replace('_', '')}.OrderOperation"
    line = one_error_line(run_iop("--unbind", used, check=False), used)
    assert "Demo.Production/OrderOperation" in line
    assert used in {b["class"] for b in iop_json("--bindings")}
    assert run_iop("--unbind", "Python.Spare").stdout.strip() == "Removed binding Python.Spare."
    assert iop_json("--bindings", "--unused") == []
