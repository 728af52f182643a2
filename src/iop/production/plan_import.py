"""Read a plan file written by IoP (``ProductionChangePlan.save`` of IoP 4.1.1) as the engine's plan.

IoP names each operation by ``op_type`` and a ``path`` (``items.X.settings.Host.Limit``) and
gives item values as field signatures; the engine's plan works on the IRIS export shape. The
conversion keeps IoP's risk, reason and fingerprints; apply checks IoP's fingerprints with IoP's
own formula (SHA-256 of the production's ``to_dict()``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from iop.production.plan import (
    ITEM_FIELDS,
    PRODUCTION_FIELDS,
    RISKS,
    SAFE,
    UNSUPPORTED,
    PlanError,
    PlanOperation,
)

if TYPE_CHECKING:
    from iop.production.plan import ProductionChangePlan

__all__ = ["IOP_SCHEME", "iop_fingerprint", "operation_from_iop", "plan_from_iop"]

IOP_SCHEME = "iop"
_FIELD_ATTRIBUTES = {field: attribute for attribute, field in ITEM_FIELDS.items()}
_PRODUCTION_ATTRIBUTES = {field: attribute for attribute, field in PRODUCTION_FIELDS.items()}
# Production fields that the export holds as production settings rather than attributes.
_PRODUCTION_SETTINGS = frozenset({"ShutdownTimeout", "UpdateTimeout", "AlertNotificationManager",
                                  "AlertNotificationOperation", "AlertNotificationRecipients",
                                  "AlertActionWindow"})


def iop_fingerprint(definition: Mapping[str, Any] | None) -> str:
    """IoP's fingerprint of a stored production: SHA-256 of its ``to_dict()`` as compact JSON."""
    from iop.production.production import Production

    if definition is None:
        return ""
    payload = Production.from_dict(definition).to_dict()
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _item_entry(name: str, signature: Mapping[str, Any]) -> dict[str, Any]:
    """An export item entry from IoP's item signature."""
    entry: dict[str, Any] = {"@Name": name}
    for attribute, field in ITEM_FIELDS.items():
        entry[attribute] = str(signature.get(field, "") or "")
    settings = [{"@Target": target, "@Name": key, "#text": str(value)}
                for target, group in (("Host", "host_settings"), ("Adapter", "adapter_settings"))
                for key, value in dict(signature.get(group) or {}).items()]
    settings += [dict(other) for other in signature.get("other_settings") or []]
    entry["Setting"] = settings
    return entry


def _operation(number: int | str, raw: Mapping[str, Any], where: str) -> PlanOperation:
    op_type = str(raw.get("op_type") or "")
    path = str(raw.get("path") or "")
    risk = str(raw.get("risk") or SAFE)
    if risk not in RISKS:
        raise PlanError(f"{where} operation {raw.get('id')} has unknown risk {risk!r}")
    reason = str(raw.get("reason") or "")
    before, after = raw.get("before"), raw.get("after")
    item = raw.get("item")
    setting = raw.get("setting")
    target = raw.get("target")
    field = str(raw.get("field") or path.rpartition(".")[2])

    number = raw.get("id") or number

    def made(op: str, name: str, **more: Any) -> PlanOperation:
        return PlanOperation(number, op, risk, name, before=more.pop("before", before),
                             after=more.pop("after", after), reason=reason,
                             iop_op_type=op_type, iop_path=path, **more)

    if op_type == "add_item" and isinstance(after, Mapping):
        return made("add_item", str(item), after=_item_entry(str(item), after))
    if op_type == "delete_item" and isinstance(before, Mapping):
        return made("remove_item", str(item), before=_item_entry(str(item), before))
    if op_type in ("set_item_field", "replace_item_class") and field in _FIELD_ATTRIBUTES:
        op = "replace_item_class" if field == "class_name" else "set_item_attribute"
        return made(op, _FIELD_ATTRIBUTES[field], item=item)
    if op_type in ("set_setting", "remove_setting") and target in ("Host", "Adapter"):
        return made(op_type, str(setting), item=item, target=target,
                    after=None if op_type == "remove_setting" else after)
    if op_type in ("set_route_setting", "remove_route") and setting:
        targets = after if isinstance(after, list) else []
        return made("set_setting", str(setting), item=item, target="Host",
                    before=",".join(before) if isinstance(before, list) else before,
                    after=None if op_type == "remove_route" else ",".join(map(str, targets)))
    if op_type == "set_production_field" and field in _PRODUCTION_ATTRIBUTES:
        attribute = _PRODUCTION_ATTRIBUTES[field]
        op = "set_production_setting" if attribute in _PRODUCTION_SETTINGS \
            else "set_production_attribute"
        return made(op, attribute)
    # What the engine cannot map (settings aimed at other targets, runtime-only routes) is
    # kept for review and never applied.
    return PlanOperation(number, op_type or "unsupported", UNSUPPORTED, path, before=before,
                         after=after, reason=reason or "not applicable by iop-engine",
                         iop_op_type=op_type, iop_path=path)


def operation_from_iop(raw: Mapping[str, Any], where: str) -> PlanOperation:
    """The engine's operation for one operation of an IoP plan."""
    if "id" not in raw or "op_type" not in raw:
        raise PlanError(f"{where} needs an id and an op_type")
    return _operation(str(raw["id"]), raw, where)


def plan_from_iop(cls: type[ProductionChangePlan], data: Mapping[str, Any],
                  where: str) -> ProductionChangePlan:
    """The engine's plan for an IoP plan document; PlanError names what is wrong."""
    production = data.get("production") or data.get("production_name")
    if not isinstance(production, str) or not production:
        raise PlanError(f"{where} names no production")
    raw_operations = data.get("operations") or []
    if not isinstance(raw_operations, list) or not all(isinstance(op, Mapping)
                                                       for op in raw_operations):
        raise PlanError(f"{where} has malformed operations")
    operations = [_operation(number, raw, where)
                  for number, raw in enumerate(raw_operations, start=1)]
    plan = cls(production, operations, str(data.get("source_fingerprint") or "") or None,
               str(data.get("desired_fingerprint") or "") or None,
               str(data.get("namespace") or "") or None, None,
               str(data.get("created_at") or ""))
    plan.fingerprint_scheme = IOP_SCHEME
    plan.iop_id = str(data.get("id") or "")
    return plan
