"""Apply a ProductionChangePlan to the store: fingerprint check, backup directory, granular edits;
verify convergence afterwards; roll back from a backup.

A backup directory ``<backup_dir>/<UTC time>-<fingerprint[:12]>`` holds ``production.json``
(the full export before the change, ``null`` if the production did not exist), ``plan.json``
and ``manifest.json``.
"""

from __future__ import annotations

import copy
import json
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from iop.production.diff import canonical_export, index_export
from iop.production.errors import ProductionError
from iop.production.plan import (
    BLOCKED,
    DESTRUCTIVE,
    SAFE,
    PlanError,
    PlanOperation,
    ProductionChangePlan,
    fingerprint,
)
from iop.store.private import FOLDER_MODE, make_private_folder, open_private

__all__ = ["ApplyResult", "ProductionApplyResult", "ProductionVerifyResult", "VerifyResult", "apply_operations", "operation_state", "read_backup",
           "select_operations", "write_backup"]

BACKUP_FORMAT = "iop-production-backup"
DEFAULT_BACKUP_DIR = os.path.join(".iop", "backups")


@dataclass
class ApplyResult:
    """What ``apply`` did: operations applied and skipped (with why), and where the backup is."""

    production: str
    applied: list[PlanOperation] = field(default_factory=list)
    skipped: list[tuple[PlanOperation, str]] = field(default_factory=list)
    backup: str | None = None
    updated_running: bool = False
    # Class names the applied items use that nothing resolves yet (apply without settings).
    unbound: list[str] = field(default_factory=list)

    @property
    def success(self) -> bool:
        """IoP's name: no operation failed (a failing apply raises and changes nothing)."""
        return True

    @property
    def production_name(self) -> str:
        return self.production

    @property
    def backup_path(self) -> str:
        return self.backup or ""

    @property
    def updated_runtime(self) -> bool:
        return self.updated_running

    def to_dict(self) -> dict[str, Any]:
        return {"production": self.production, "applied": [op.id for op in self.applied],
                "skipped": [{"id": op.id, "risk": op.risk, "reason": why}
                            for op, why in self.skipped],
                "backup": self.backup, "updated_running": self.updated_running,
                "unbound": list(self.unbound)}

    def __str__(self) -> str:
        lines = [f"Applied {len(self.applied)} operation(s) to production {self.production}, "
                 f"skipped {len(self.skipped)}"]
        lines += [f"  applied {op.describe()}" for op in self.applied]
        lines += [f"  skipped {op.describe()}: {why}" for op, why in self.skipped]
        if self.backup:
            lines.append(f"Backup: {self.backup}")
        if self.updated_running:
            lines.append(f"Running production {self.production} updated")
        lines += [f"warning: class {name} is not bound; its items cannot start until a "
                  "migration (or --apply-plan with --settings) binds it" for name in self.unbound]
        return "\n".join(lines)


ProductionApplyResult = ApplyResult


@dataclass
class ProductionVerifyResult:
    """Per operation: ``converged`` (the store shows the planned state) or ``pending``; IoP's
    ``success`` and operation lists are derived from it."""

    production: str
    states: list[tuple[PlanOperation, str]]
    plan_id: str = ""
    warnings: tuple[str, ...] = ()

    @property
    def converged(self) -> bool:
        """True when every safe operation shows its planned state."""
        return all(state == "converged" for op, state in self.states if op.risk == SAFE)

    @property
    def success(self) -> bool:
        """IoP's name: no safe operation failed to converge."""
        return self.converged

    @property
    def production_name(self) -> str:
        return self.production

    @property
    def converged_operations(self) -> tuple[str, ...]:
        return tuple(str(op.id) for op, state in self.states
                     if op.risk == SAFE and state == "converged")

    @property
    def failed_operations(self) -> tuple[dict[str, Any], ...]:
        return tuple(op.to_dict() for op, state in self.states
                     if op.risk == SAFE and state != "converged")

    @property
    def residual_operations(self) -> tuple[dict[str, Any], ...]:
        return tuple(op.to_dict() for op, _ in self.states if op.risk != SAFE)

    def to_dict(self) -> dict[str, Any]:
        """IoP's keys (plan_id, production, success, converged/failed/residual operations) and
        the engine's per-operation states."""
        data: dict[str, Any] = {
            "plan_id": self.plan_id, "production": self.production, "success": self.success,
            "converged_operations": list(self.converged_operations),
            "failed_operations": list(self.failed_operations),
            "residual_operations": list(self.residual_operations),
            "converged": self.converged,
            "operations": [{"id": op.id, "op": op.op, "risk": op.risk, "state": state}
                           for op, state in self.states]}
        if self.warnings:
            data["warnings"] = list(self.warnings)
        return data

    def __str__(self) -> str:
        verdict = "converged" if self.converged else "NOT converged"
        lines = [f"Production {self.production}: safe operations {verdict}"]
        lines += [f"  {_label(op, state)}: {op.describe()}" for op, state in self.states]
        return "\n".join(lines)


VerifyResult = ProductionVerifyResult


def _label(op: PlanOperation, state: str) -> str:
    if state == "pending" and op.risk != SAFE:
        return "not applied"
    return state


def select_operations(plan: ProductionChangePlan, allow_destructive: bool
                      ) -> tuple[list[PlanOperation], list[tuple[PlanOperation, str]]]:
    """Split the plan into operations to apply and (operation, reason) to skip."""
    chosen, skipped = [], []
    for op in plan.operations:
        if op.risk == SAFE or (allow_destructive and op.risk in (DESTRUCTIVE, BLOCKED)):
            chosen.append(op)
        elif op.risk in (DESTRUCTIVE, BLOCKED):
            skipped.append((op, f"{op.risk}: needs allow_destructive"))
        else:
            skipped.append((op, "unsupported: never applied"))
    return chosen, skipped


# -- editing the export shape -------------------------------------------------------------


def _settings(owner: dict[str, Any]) -> list[dict[str, Any]]:
    value = owner.get("Setting")
    listed: list[dict[str, Any]] = [] if value is None else \
        [value] if isinstance(value, dict) else list(value)
    owner["Setting"] = listed
    return listed


def _items(body: dict[str, Any]) -> list[dict[str, Any]]:
    value = body.get("Item")
    listed: list[dict[str, Any]] = [] if value is None else \
        [value] if isinstance(value, dict) else list(value)
    body["Item"] = listed
    return listed


def _find_item(body: dict[str, Any], name: str | None) -> dict[str, Any]:
    for entry in _items(body):
        if entry.get("@Name") == name:
            return entry
    raise PlanError(f"item {name} is not in the deployed production")


def _set_setting(owner: dict[str, Any], target: str, name: str, value: str | None) -> None:
    entries = _settings(owner)
    # Production-level settings carry no @Target in IoP's shape; item settings default to Host.
    implied = "Production" if target == "Production" else "Host"
    matches = [e for e in entries if (e.get("@Target") or implied) == target
               and e.get("@Name") == name]
    if value is None:
        owner["Setting"] = [e for e in entries if e not in matches]
        return
    entry = matches[0] if matches else {"@Target": target, "@Name": name}
    if value:
        entry["#text"] = value
    else:
        entry.pop("#text", None)
    if not matches:
        entries.append(entry)


def _apply_one(definition: dict[str, Any] | None, op: PlanOperation) -> dict[str, Any]:
    if op.op == "create_production":
        return copy.deepcopy(op.after)
    if definition is None:
        raise PlanError(f"operation #{op.id} needs the production to exist")
    body = definition["Production"]
    if op.op in ("set_production_attribute", "set_field", "remove_field") and op.item is None:
        if op.after is None:
            body.pop(op.name, None)
        else:
            body[op.name] = copy.deepcopy(op.after)
    elif op.op in ("set_production_setting", "remove_production_setting"):
        _set_setting(body, "Production", op.name, op.after)
    elif op.op == "add_item":
        if any(e.get("@Name") == op.name for e in _items(body)):
            raise PlanError(f"item {op.name} already exists")
        _items(body).append(copy.deepcopy(op.after))
    elif op.op == "remove_item":
        body["Item"] = [e for e in _items(body) if e.get("@Name") != op.name]
    elif op.op in ("set_item_attribute", "replace_item_class", "set_field", "remove_field"):
        entry = _find_item(body, op.item)
        if op.after is None:
            entry.pop(op.name, None)
        else:
            entry[op.name] = copy.deepcopy(op.after)
    elif op.op in ("set_setting", "remove_setting"):
        _set_setting(_find_item(body, op.item), op.target or "Host", op.name, op.after)
    else:
        raise PlanError(f"operation #{op.id} ({op.op}) cannot be applied")
    return definition


def apply_operations(definition: Mapping[str, Any] | None, operations: list[PlanOperation]
                     ) -> dict[str, Any]:
    """A new definition: ``definition`` (untouched) with the operations applied in order."""
    result = copy.deepcopy(dict(definition)) if definition is not None else None
    for op in operations:
        result = _apply_one(result, op)
    if result is None:
        raise PlanError("the plan leaves no production to store")
    canonical_export(result)  # refuse to store a shape the engine cannot read
    return result


# -- verify ---------------------------------------------------------------------------------------


def operation_state(definition: Mapping[str, Any] | None, op: PlanOperation) -> str:
    """``converged`` when the definition shows what the operation asked for, else ``pending``."""
    if definition is None or op.op == "runtime_route":
        return "pending"
    try:
        have = index_export(definition)
    except ProductionError:
        return "pending"
    return "converged" if _current_value(have, op) == _wanted_value(op) else "pending"


def _item_view(index: Mapping[str, Any], name: str | None) -> Any:
    item = index["items"].get(name)
    return None if item is None else (item["attributes"], item["settings"], item["fields"])


def _wanted_value(op: PlanOperation) -> Any:
    if op.op == "create_production":
        return _whole(index_export(op.after))
    if op.op == "add_item":
        return _item_view(index_export({"Production": {"@Name": "Added.Item", "Item": [op.after]}}),
                          op.name)
    return op.after


def _whole(index: Mapping[str, Any]) -> Any:
    return (index["attributes"], index["settings"], index["fields"],
            {name: _item_view(index, name) for name in index["items"]})


def _current_value(have: Mapping[str, Any], op: PlanOperation) -> Any:
    if op.op == "create_production":
        return _whole(have)
    if op.op in ("add_item", "remove_item"):
        return _item_view(have, op.name)
    if op.item is None:
        if op.op.endswith("production_setting"):
            return have["settings"].get(op.name)
        return have["attributes"].get(op.name, have["fields"].get(op.name))
    item = have["items"].get(op.item)
    if item is None:
        return _MISSING
    if op.op.endswith("_setting"):
        return item["settings"].get((op.target or "Host", op.name))
    return item["attributes"].get(op.name, item["fields"].get(op.name))


_MISSING = object()


# -- backups --------------------------------------------------------------------------------------


def write_backup(backup_dir: str | os.PathLike[str], plan: ProductionChangePlan,
                 definition: Mapping[str, Any] | None, namespace: str) -> str:
    """Write the backup directory for an apply; returns its path."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    base = os.path.join(os.fspath(backup_dir), f"{stamp}-{(fingerprint(definition) or '0' * 12)[:12]}")
    path, n = base, 1
    while os.path.exists(path):
        n += 1
        path = f"{base}-{n}"
    # Private: a backup holds every setting of the production, credentials included.
    make_private_folder(os.path.dirname(os.path.abspath(path)))
    os.mkdir(path, FOLDER_MODE)
    _write_json(os.path.join(path, "production.json"), definition)
    _write_json(os.path.join(path, "plan.json"), plan.to_dict())
    _write_json(os.path.join(path, "manifest.json"), {
        "format": BACKUP_FORMAT, "production": plan.production, "namespace": namespace,
        "fingerprint": fingerprint(definition), "created": stamp,
    })
    # IoP's rollback reads metadata.json (and production.json): written so it can use ours.
    _write_json(os.path.join(path, "metadata.json"), {
        "backup_id": os.path.basename(path), "created_at": stamp, "namespace": namespace,
        "production": plan.production, "plan_id": plan.id,
        "source_fingerprint": plan.source_fingerprint,
        "desired_fingerprint": plan.desired_fingerprint or "",
    })
    return os.path.abspath(path)


def _write_json(path: str, data: Any) -> None:
    with open_private(path, "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=2, ensure_ascii=False)
        fh.write("\n")


def read_backup(path: str | os.PathLike[str]) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """(manifest, production export or None) of a backup directory; PlanError if unusable."""
    path = os.fspath(path)
    if not os.path.isdir(path):
        raise PlanError(f"backup directory {path} does not exist")
    if not os.path.exists(os.path.join(path, "manifest.json")) and \
            os.path.exists(os.path.join(path, "metadata.json")):
        return _read_iop_backup(path)
    try:
        with open(os.path.join(path, "manifest.json"), encoding="utf-8") as fh:
            manifest = json.load(fh)
        with open(os.path.join(path, "production.json"), encoding="utf-8") as fh:
            definition = json.load(fh)
    except OSError as exc:
        raise PlanError(f"backup {path} is incomplete: {exc.filename} {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise PlanError(f"backup {path} has a damaged file: {exc.msg}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != BACKUP_FORMAT:
        raise PlanError(f"{path} is not an iop production backup (manifest.json)")
    if definition is not None:
        if fingerprint(definition) != manifest.get("fingerprint"):
            raise PlanError(f"backup {path}: production.json does not match its fingerprint")
        canonical_export(definition)
    return manifest, definition


def _read_iop_backup(path: str) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """(manifest, export) of a backup IoP's apply wrote: metadata.json names the production and
    namespace; production.json holds the export, under "Production" or the production's name."""
    try:
        with open(os.path.join(path, "metadata.json"), encoding="utf-8") as fh:
            metadata = json.load(fh)
        with open(os.path.join(path, "production.json"), encoding="utf-8") as fh:
            exported = json.load(fh)
    except OSError as exc:
        raise PlanError(f"backup {path} is incomplete: {exc.filename} {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise PlanError(f"backup {path} has a damaged file: {exc.msg}") from None
    if not isinstance(metadata, dict) or not isinstance(exported, dict) or not exported:
        raise PlanError(f"{path} is not a production backup (metadata.json, production.json)")
    name = str(metadata.get("production") or next(iter(exported)))
    body = exported.get("Production", exported.get(name, next(iter(exported.values()))))
    if not isinstance(body, dict):
        raise PlanError(f"backup {path}: production.json holds no production definition")
    definition = {"Production": {"@Name": name, **body}}
    canonical_export(definition)
    manifest = {"format": BACKUP_FORMAT, "production": name,
                "namespace": metadata.get("namespace") or None,
                "fingerprint": fingerprint(definition), "created": metadata.get("created_at")}
    return manifest, definition
