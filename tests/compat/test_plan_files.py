"""Plan files and backups shared with IoP 4.1.1: a plan saved by either package is loaded by the
other (ProductionChangePlan.load / save / to_dict) and both read it the same way; the engine
reads IoP's backup directories; rollback_backup refuses without allow_destructive before it
touches anything; ProductionVerifyResult.success."""

from __future__ import annotations

import json
from pathlib import Path

from compat_harness import IOP, OURS, SHARED_COMPONENTS, differential, run

COMPONENTS = {"plan_components.py": SHARED_COMPONENTS + '''
    def build(folder, pool, extra):
        from iop import Production

        prod = Production("Plan.Production", testing_enabled=True)
        router = prod.process("Router", Router, class_name="Demo.Router")
        store = prod.operation("Store", Store, class_name="Demo.Store")
        store.host_setting("Folder", folder)
        store.pool_size = pool
        prod.connect(router.Next, store)
        if extra:
            prod.operation("Extra", class_name="Demo.Extra").adapter_setting("FilePath", "/o")
        else:
            prod.operation("Old", class_name="Demo.Old")
        return prod
'''}

WRITE_PLAN = '''
    from plan_components import build

    plan = build("/a", 2, True).plan(build("/b", 1, False))
    plan.save("written/plan.json")
    check("saved", lambda: True)
'''

# Read the same plan file in both packages and report what an IoP user looks at.
READ_PLAN = '''
    from iop import ProductionChangePlan

    plan = ProductionChangePlan.load("plan.json")
    check("plan", lambda: [plan.id, plan.production_name, plan.namespace, plan.created_at,
                           plan.source_fingerprint, plan.desired_fingerprint, plan.has_changes])
    check("operations", lambda: [[str(op.id), op.op_type, op.path, op.risk, op.allowed_by_default,
                                  op.supported] for op in plan.operations])
    check("safe", lambda: [str(op.id) for op in plan.safe_operations])
    check("blocked", lambda: [str(op.id) for op in plan.blocked_operations])
    check("for apply", lambda: [str(op.id) for op in plan.operations_for_apply()])
    check("for apply, destructive allowed", lambda: [
        str(op.id) for op in plan.operations_for_apply(allow_destructive=True)])
    check("round trip", lambda: ProductionChangePlan.from_dict(plan.to_dict()).to_dict()
          == plan.to_dict())
    check("to_dict keys", lambda: sorted(k for k in plan.to_dict()
                                         if k in ("id", "production", "namespace", "created_at",
                                                  "source_fingerprint", "desired_fingerprint",
                                                  "has_changes", "operations")))
'''


def _written(python: Path, tmp: Path) -> str:
    workdir = tmp / python.parent.parent.name
    run(python, COMPONENTS, WRITE_PLAN, workdir)
    return (workdir / "written" / "plan.json").read_text(encoding="utf-8")


def test_a_plan_iop_saved_reads_the_same_in_both(tmp_path: Path) -> None:
    iop_plan = _written(IOP, tmp_path / "write")
    assert "format" not in json.loads(iop_plan)  # IoP's own file, none of the engine's keys
    differential({"plan.json": iop_plan}, READ_PLAN, tmp_path / "read")


def test_a_plan_the_engine_saved_reads_the_same_in_both(tmp_path: Path) -> None:
    our_plan = _written(OURS, tmp_path / "write")
    differential({"plan.json": our_plan}, READ_PLAN, tmp_path / "read", intended={
        # Same words, engine meaning: a deployed item the Python side does not declare is
        # "blocked" (kept unless allowed), which IoP's policy has no class for.
        "for apply, destructive allowed": "IoP never applies a risk class it does not know "
                                          "(blocked); the engine applies blocked removals when "
                                          "destructive operations are allowed"})


ROLLBACK = '''
    import os
    from iop import Production

    os.makedirs("backup")
    check("refused", lambda: Production.rollback_backup("backup"))
    check("refused, missing directory", lambda: Production.rollback_backup("nowhere"))
    check("nothing touched", lambda: sorted(os.listdir("backup")))
'''


def test_rollback_refuses_without_allow_destructive_before_touching_anything(
        tmp_path: Path) -> None:
    theirs = differential({}, ROLLBACK, tmp_path)
    assert theirs["refused"]["raises"] == "RuntimeError"


VERIFY = '''
    from iop import ProductionVerifyResult

    check("success property", lambda: isinstance(ProductionVerifyResult.success, property))
'''


def test_verify_result_has_success(tmp_path: Path) -> None:
    differential({}, VERIFY, tmp_path)


def test_the_engine_reads_an_iop_backup(tmp_path: Path) -> None:
    from iop.production.apply import read_backup

    backup = tmp_path / "20260604T120000Z-121398213f9f"
    backup.mkdir()
    export = {"Plan.Production": {"@Name": "Plan.Production", "@TestingEnabled": "true",
                                  "Item": [{"@Name": "Store", "@ClassName": "Demo.Store",
                                            "@PoolSize": "1", "@Enabled": "true"}]}}
    (backup / "production.json").write_text(json.dumps(export))
    (backup / "metadata.json").write_text(json.dumps({
        "backup_id": backup.name, "namespace": "USER", "production": "Plan.Production",
        "plan_id": "121398213f9f"}))
    manifest, definition = read_backup(backup)
    assert (manifest["production"], manifest["namespace"]) == ("Plan.Production", "USER")
    assert definition is not None
    assert definition["Production"]["Item"][0]["@ClassName"] == "Demo.Store"


OPERATION = '''
    import json
    from iop import ProductionChangePlan, ProductionPlanOperation

    plan = ProductionChangePlan.load("plan.json")
    for op in plan.operations:
        again = ProductionPlanOperation.from_dict(json.loads(json.dumps(op.to_dict())))
        check(f"operation {op.id}", lambda: [again.op_type, again.path, again.risk,
                                             again.to_text()])
'''


def test_operations_read_back_from_their_dict(tmp_path: Path) -> None:
    iop_plan = _written(IOP, tmp_path / "write")
    differential({"plan.json": iop_plan}, OPERATION, tmp_path / "read")
