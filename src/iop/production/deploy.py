"""The store side of the change workflow: apply a plan, verify it, roll back from a backup.

Every function takes the namespace's store; a running production that is changed is updated
in place (only the changed items restart).
"""

from __future__ import annotations

import json
import os
import time
from typing import TYPE_CHECKING, Any

from iop.production.apply import (
    DEFAULT_BACKUP_DIR,
    ApplyResult,
    VerifyResult,
    apply_operations,
    operation_state,
    read_backup,
    select_operations,
    write_backup,
)
from iop.production.errors import ProductionError
from iop.production.export_shape import production_export
from iop.production.plan import PlanError, PlanOperation, ProductionChangePlan, fingerprint
from iop.store.private import open_private

if TYPE_CHECKING:
    from iop.production.production import Production
    from iop.store.base import Store

__all__ = ["RemoteNotSupported", "apply_plan", "rollback_backup", "verify_plan"]


class RemoteNotSupported(ProductionError):
    """Apply and rollback over the remote REST API are blocked in v1."""


def _update_if_running(store: Store, name: str) -> bool:
    from iop.engine import control

    running, status = control.current_status(store)
    # Only a production whose jobs run can reload items: a suspended one (stopped with
    # synchronous requests queued) or a troubled one picks the saved definition up at its
    # next start, so the change saved just before is all there is to do.
    if running != name or status != "running":
        return False
    control.update(store)
    return True


def apply_plan(
    store: Store,
    plan: ProductionChangePlan,
    *,
    desired: Production | None = None,
    allow_destructive: bool = False,
    backup_dir: str | os.PathLike[str] | None = None,
    check_unbound: bool = True,
) -> ApplyResult:
    """Apply the plan's selected operations; refuses when the deployed production (or the
    Python definition, if given) changed since the plan was made. ``check_unbound=False``
    skips resolving the new items' classes (which imports them): for a caller that already
    checked them in its contained child, the server's portal."""
    if plan.namespace and plan.namespace != store.namespace:
        raise PlanError(f"the plan for {plan.production} was made in namespace {plan.namespace}, "
                        f"not {store.namespace}")
    current = store.get_production(plan.production)
    if not plan.base_matches(current):
        raise PlanError(
            f"production {plan.production} changed since the plan was made (fingerprint "
            f"{(fingerprint(current) or 'none')[:12]}, plan expects "
            f"{(plan.base_fingerprint or 'none')[:12]}); make a new plan"
        )
    if desired is not None:
        if desired.name != plan.production:
            raise PlanError(f"the plan is for production {plan.production}, not {desired.name}")
        if not plan.desired_matches(production_export(desired)):
            raise PlanError(f"the Python definition of {plan.production} changed since the plan "
                            "was made; make a new plan")
    chosen, skipped = select_operations(plan, allow_destructive)
    result = ApplyResult(plan.production, skipped=skipped)
    if not chosen:
        return result
    updated = apply_operations(current, chosen)
    result.backup = write_backup(backup_dir or DEFAULT_BACKUP_DIR, plan, current, store.namespace)
    if desired is not None:
        _bind_classes(store, desired, _class_names(chosen))
    elif check_unbound:
        result.unbound = _unbound(store, _class_names(chosen))
    store.save_production(plan.production, updated)
    result.applied = chosen
    result.updated_running = _update_if_running(store, plan.production)
    return result


def _class_names(operations: list[PlanOperation]) -> set[str]:
    """Class names of the items the operations create, add or re-class."""
    names: set[str] = set()
    for op in operations:
        if op.op == "create_production":
            items = op.after["Production"].get("Item") or []
            names.update(str(i.get("@ClassName") or "")
                         for i in ([items] if isinstance(items, dict) else items))
        elif op.op == "add_item":
            names.add(op.after.get("@ClassName"))
        elif op.op == "replace_item_class":
            names.add(op.after)
    return names


def _bind_classes(store: Store, desired: Production, class_names: set[str]) -> None:
    """Bind the Python classes (and their import roots) of the items the plan brings in."""
    from iop.migration.classes import component_binding

    for class_name, cls in desired.python_classes().items():
        if class_name in class_names:
            binding = component_binding(class_name, cls)
            if binding.classpath:
                store.add_classpath(binding.classpath)
            store.put_binding(binding)


def _unbound(store: Store, class_names: set[str]) -> list[str]:
    """The class names no binding, built-in or import on the store's classpaths resolves."""
    from iop.engine import registry

    missing = []
    for name in sorted(n for n in class_names if n):
        try:
            registry.resolve(store, name)
        except Exception:  # unknown, or its module fails to import: either way it cannot start
            missing.append(name)
    return missing


def verify_plan(store: Store, plan: ProductionChangePlan) -> VerifyResult:
    """Re-read the deployed production and report, per operation, whether it converged."""
    current = store.get_production(plan.production)
    return VerifyResult(plan.production, [(op, operation_state(current, op))
                                          for op in plan.operations], plan.id)


def rollback_backup(store: Store, path: str | os.PathLike[str],
                    allow_destructive: bool = False, update: bool = True) -> dict[str, Any]:
    """Restore the production export saved in a backup directory (exactly as it was); with
    ``update`` a running production reloads the items that changed."""
    manifest, definition = read_backup(path)
    name = str(manifest.get("production") or "")
    if not allow_destructive:
        raise PlanError(f"rollback replaces the whole production {name}; it needs "
                        "allow_destructive=True (--allow-destructive)")
    if manifest.get("namespace") not in (None, store.namespace):
        raise PlanError(f"backup {os.fspath(path)} is from namespace {manifest['namespace']}, "
                        f"not {store.namespace}")
    current = store.get_production(name)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    with open_private(os.path.join(os.fspath(path), f"before-rollback-{stamp}.json"), "w",
                      encoding="utf-8") as fh:
        json.dump(current, fh, indent=2, ensure_ascii=False)
    if definition is None:
        from iop.engine import control

        running, status = control.current_status(store)
        if running == name and status != "stopped":
            raise PlanError(f"production {name} is running; stop it before rolling back its "
                            "creation")
        store.delete_production(name)
        return {"production": name, "restored": False, "deleted": True, "updated_running": False}
    store.save_production(name, definition)
    return {"production": name, "restored": True, "deleted": False,
            "updated_running": update and _update_if_running(store, name)}
