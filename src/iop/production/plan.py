"""ProductionChangePlan: the reviewable, granular changes that bring a deployed production to
the Python definition, each with a risk class.

Risk classes:

* ``safe``: adds and value changes; applied by default.
* ``destructive``: replacements the Python definition asks for (an item's class, a route that
  loses targets); applied only with ``allow_destructive``.
* ``blocked``: what is deployed but the Python definition does not declare (extra items,
  settings, fields); planned as removals for review, kept unless ``allow_destructive``.
* ``unsupported``: what the plan cannot apply (runtime-only or dynamic routes with no source
  setting, export fields the model does not know); always skipped.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from iop.production import diff as d
from iop.production.errors import ProductionError
from iop.production.export_shape import production_export
from iop.production.ports import split_targets

if TYPE_CHECKING:
    from iop.production.production import Production

__all__ = ["RISKS", "PlanError", "PlanOperation", "ProductionChangePlan",
           "ProductionPlanOperation", "build_plan", "plan_exports",
           "fingerprint"]

SAFE, DESTRUCTIVE, BLOCKED, UNSUPPORTED = "safe", "destructive", "blocked", "unsupported"
RISKS = (SAFE, DESTRUCTIVE, BLOCKED, UNSUPPORTED)
PLAN_FORMAT = "iop-production-change-plan"
PLAN_VERSION = 1


class PlanError(ProductionError):
    """A plan file is unreadable or does not fit the production it is applied to."""


def fingerprint(definition: Mapping[str, Any] | None) -> str | None:
    """SHA-256 of a definition exactly as stored (None when there is no production)."""
    if definition is None:
        return None
    text = json.dumps(definition, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass
class PlanOperation:
    """One granular change: ``op`` on ``item``/``target``/``name``, from ``before`` to ``after``."""

    id: int | str
    op: str
    risk: str
    name: str
    item: str | None = None
    target: str | None = None
    before: Any = None
    after: Any = None
    reason: str = ""
    # For an operation read from IoP's plan file: its own op_type and path, kept as IoP wrote them.
    iop_op_type: str = ""
    iop_path: str = ""

    def describe(self) -> str:
        """One readable line for reviews, e.g. ``#3 [safe] set @PoolSize of item X: '1' -> '2'``."""
        of = f" of item {self.item}" if self.item else ""
        change = f": {_short(self.before)} -> {_short(self.after)}"
        body = (self.after or {}).get("Production", {}) if self.op == "create_production" else {}
        texts = {
            "create_production": lambda: f"create production {self.name} with "
                                         f"{len(_listed(body.get('Item')))} item(s)",
            "add_item": lambda: f"add item {self.name} [{(self.after or {}).get('@ClassName')}]",
            "remove_item": lambda: f"remove item {self.name} "
                                   f"[{(self.before or {}).get('@ClassName')}]",
            "set_production_attribute": lambda: f"set production {self.name}{change}",
            "set_production_setting": lambda: f"set production setting {self.name}{change}",
            "remove_production_setting": lambda: f"remove production setting {self.name} "
                                                 f"(was {_short(self.before)})",
            "set_item_attribute": lambda: f"set {self.name}{of}{change}",
            "replace_item_class": lambda: f"replace the class{of}{change}",
            "set_setting": lambda: f"set {self.target} setting {self.name}{of}{change}",
            "remove_setting": lambda: f"remove {self.target} setting {self.name}{of} "
                                      f"(was {_short(self.before)})",
            "set_field": lambda: f"set export field {self.name}{of}{change}",
            "remove_field": lambda: f"remove export field {self.name}{of}",
            "runtime_route": lambda: f"runtime route {self.name}",
        }
        text = texts[self.op]() if self.op in texts else f"{self.op} {self.name}{of}"
        return f"#{self.id} [{self.risk}] {text}" + (f" ({self.reason})" if self.reason else "")

    # -- IoP's view of the operation (its plan files name operations this way) ----------------
    @property
    def op_type(self) -> str:
        """IoP's operation type (``add_item``, ``delete_item``, ``set_item_field``, ...)."""
        return self.iop_op_type or _IOP_OP_TYPES.get(self.op, self.op)

    @property
    def path(self) -> str:
        """IoP's path of what the operation changes, e.g. ``items.X.settings.Host.Limit``."""
        return self.iop_path or _iop_path(self)

    @property
    def action(self) -> str:
        if self.op in ("remove_item", "remove_setting", "remove_production_setting",
                       "remove_field"):
            return "remove"
        return "add" if self.op in ("add_item", "create_production") else "change"

    @property
    def kind(self) -> str:
        if self.op in ("add_item", "remove_item", "set_item_attribute", "replace_item_class"):
            return "item"
        if self.op in ("set_setting", "remove_setting"):
            return "setting"
        return "connection" if self.op == "runtime_route" else "production"

    @property
    def supported(self) -> bool:
        return self.risk != UNSUPPORTED

    @property
    def allowed_by_default(self) -> bool:
        return self.risk == SAFE

    @property
    def requires_allow_destructive(self) -> bool:
        return self.risk in (DESTRUCTIVE, BLOCKED)

    def can_apply(self, *, allow_destructive: bool = False) -> bool:
        """Whether apply runs this operation (safe ones always, others only when allowed)."""
        return self.allowed_by_default or (allow_destructive and self.requires_allow_destructive)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PlanOperation:
        """One operation as the engine or IoP wrote it."""
        if "op" in data:
            return cls(**{key: value for key, value in data.items()
                          if key not in _IOP_OPERATION_KEYS})
        from iop.production.plan_import import operation_from_iop

        return operation_from_iop(data, "operation")

    def to_text(self) -> str:
        """IoP's one-line form: ``<id> <op_type> <path> [<risk>]: <reason>``."""
        reason = f": {self.reason}" if self.reason else ""
        return f"{self.id} {self.op_type} {self.path} [{self.risk}]{reason}"

    def to_dict(self) -> dict[str, Any]:
        """The engine's fields, plus IoP's (op_type, action, kind, path, allowed_by_default)."""
        data = asdict(self)
        data.update(op_type=self.op_type, action=self.action, kind=self.kind, path=self.path,
                    allowed_by_default=self.allowed_by_default)
        return data


# IoP's name of the class.
ProductionPlanOperation = PlanOperation

# Keys to_dict adds for IoP: derived from the engine's fields, so reading ignores them.
_IOP_OPERATION_KEYS = frozenset({"op_type", "action", "kind", "path", "allowed_by_default"})
# The engine's operation names -> IoP's, for the plan files both read.
_IOP_OP_TYPES = {
    "remove_item": "delete_item", "set_item_attribute": "set_item_field",
    "set_production_attribute": "set_production_field",
    "set_production_setting": "set_production_field",
    "remove_production_setting": "set_production_field", "runtime_route": "set_route_setting",
    "set_field": "unsupported", "remove_field": "unsupported",
}
# Export attribute names <-> IoP's field names.
ITEM_FIELDS = {"@ClassName": "class_name", "@Category": "category", "@PoolSize": "pool_size",
               "@Enabled": "enabled", "@Foreground": "foreground", "@Comment": "comment",
               "@LogTraceEvents": "log_trace_events", "@Schedule": "schedule"}
PRODUCTION_FIELDS = {"@TestingEnabled": "testing_enabled",
                     "@LogGeneralTraceEvents": "log_general_trace_events",
                     "ActorPoolSize": "actor_pool_size", "Description": "description",
                     "ShutdownTimeout": "shutdown_timeout", "UpdateTimeout": "update_timeout",
                     "AlertNotificationManager": "alert_notification_manager",
                     "AlertNotificationOperation": "alert_notification_operation",
                     "AlertNotificationRecipients": "alert_notification_recipients",
                     "AlertActionWindow": "alert_action_window"}


def _iop_path(op: PlanOperation) -> str:
    if op.op == "create_production":
        return "production"
    if op.op in ("add_item", "remove_item"):
        return f"items.{op.name}"
    if op.op in ("set_setting", "remove_setting"):
        return f"items.{op.item}.settings.{op.target or 'Host'}.{op.name}"
    if op.op == "runtime_route":
        return f"connections.{op.item}"
    if op.item:
        return f"items.{op.item}.{ITEM_FIELDS.get(op.name, op.name)}"
    return f"production.{PRODUCTION_FIELDS.get(op.name, op.name)}"


def _listed(value: Any) -> list[Any]:
    return [] if value is None else [value] if isinstance(value, Mapping) else list(value)


def _short(value: Any) -> str:
    if value is None:
        return "(unset)"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


@dataclass
class ProductionChangePlan:
    """A saved, reviewable plan for one production; apply it with ``Production.apply``."""

    production: str
    operations: list[PlanOperation]
    base_fingerprint: str | None
    desired_fingerprint: str | None = None
    namespace: str | None = None
    source: str | None = None
    created: str = field(default_factory=lambda: time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                                 time.gmtime()))
    # "iop" for a plan read from IoP's file: its fingerprints follow IoP's formula.
    fingerprint_scheme: str = "engine"
    iop_id: str = ""

    def __post_init__(self) -> None:
        self.namespace = self.namespace or ""  # IoP's "no namespace" is empty text

    def base_matches(self, current: Mapping[str, Any] | None) -> bool:
        """Whether the deployed definition is still the one the plan was made against."""
        return self._fingerprint(current) == self.base_fingerprint

    def desired_matches(self, desired: Mapping[str, Any]) -> bool:
        """Whether the Python definition is still the one the plan was made from."""
        return not self.desired_fingerprint or \
            self._fingerprint(desired) == self.desired_fingerprint

    def _fingerprint(self, definition: Mapping[str, Any] | None) -> str | None:
        if self.fingerprint_scheme == "iop":
            from iop.production.plan_import import iop_fingerprint

            return iop_fingerprint(definition) or None
        return fingerprint(definition)

    def by_risk(self, *risks: str) -> list[PlanOperation]:
        """Operations of the given risk classes, in plan order."""
        return [op for op in self.operations if op.risk in risks]

    @property
    def counts(self) -> dict[str, int]:
        """Number of operations per risk class."""
        return {risk: len(self.by_risk(risk)) for risk in RISKS}

    @property
    def has_changes(self) -> bool:
        return bool(self.operations)

    # -- IoP's names ------------------------------------------------------------------------
    @property
    def id(self) -> str:
        """A stable identifier: SHA-256 of the production, fingerprints and operations."""
        payload = {"production": self.production, "source": self.base_fingerprint,
                   "desired": self.desired_fingerprint,
                   "operations": [asdict(op) for op in self.operations]}
        text = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
        return self.iop_id or hashlib.sha256(text.encode()).hexdigest()

    @property
    def production_name(self) -> str:
        return self.production

    @property
    def created_at(self) -> str:
        return self.created

    @property
    def source_fingerprint(self) -> str:
        return self.base_fingerprint or ""

    @property
    def safe_operations(self) -> tuple[PlanOperation, ...]:
        return tuple(op for op in self.operations if op.allowed_by_default)

    @property
    def blocked_operations(self) -> tuple[PlanOperation, ...]:
        return tuple(op for op in self.operations if not op.allowed_by_default)

    def operations_for_apply(self, *, allow_destructive: bool = False
                             ) -> tuple[PlanOperation, ...]:
        return tuple(op for op in self.operations
                     if op.can_apply(allow_destructive=allow_destructive))

    def to_dict(self) -> dict[str, Any]:
        """The JSON document ``save`` writes; IoP's ProductionChangePlan.load reads it too."""
        return {"format": PLAN_FORMAT, "version": PLAN_VERSION, "id": self.id,
                "production": self.production, "namespace": self.namespace or "",
                "source": self.source, "created": self.created, "created_at": self.created,
                "base_fingerprint": self.base_fingerprint,
                "source_fingerprint": self.source_fingerprint,
                "desired_fingerprint": self.desired_fingerprint or "",
                "has_changes": self.has_changes, "counts": self.counts,
                "operations": [op.to_dict() for op in self.operations],
                "metadata": {"generator": "iop-engine", "default_policy": "safe-only"},
                "fingerprint_scheme": self.fingerprint_scheme}

    @classmethod
    def from_dict(cls, data: Any, where: str = "plan") -> ProductionChangePlan:
        """Read a plan document; PlanError names what is wrong."""
        if isinstance(data, Mapping) and "format" not in data and "id" in data:
            from iop.production.plan_import import plan_from_iop

            return plan_from_iop(cls, data, where)
        if not isinstance(data, Mapping) or data.get("format") != PLAN_FORMAT:
            raise PlanError(f"{where} is not a production change plan (no \"format\": "
                            f"\"{PLAN_FORMAT}\")")
        if data.get("version") != PLAN_VERSION:
            raise PlanError(f"{where} has plan version {data.get('version')!r}; this iop "
                            f"reads version {PLAN_VERSION}")
        if not isinstance(data.get("production"), str) or not data["production"]:
            raise PlanError(f"{where} names no production")
        operations = []
        for index, raw in enumerate(data.get("operations") or []):
            try:
                op = PlanOperation(**{key: value for key, value in raw.items()
                                      if key not in _IOP_OPERATION_KEYS})
            except TypeError as exc:
                raise PlanError(f"{where} operation {index + 1} is malformed: {exc}") from None
            if op.risk not in RISKS:
                raise PlanError(f"{where} operation #{op.id} has unknown risk {op.risk!r}")
            operations.append(op)
        scheme = data.get("fingerprint_scheme") or "engine"
        return cls(data["production"], operations, data.get("base_fingerprint"),
                   data.get("desired_fingerprint") or None, data.get("namespace") or None,
                   data.get("source"), data.get("created") or "", str(scheme),
                   str(data["id"]) if scheme == "iop" else "")

    def save(self, path: str | os.PathLike[str]) -> str:
        """Write the plan as JSON; returns the path written."""
        path = os.fspath(path)
        folder = os.path.dirname(os.path.abspath(path))
        os.makedirs(folder, exist_ok=True)
        with open(path, "w", encoding="utf-8") as fh:
            json.dump(self.to_dict(), fh, indent=2, ensure_ascii=False)
            fh.write("\n")
        return path

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> ProductionChangePlan:
        """Read a plan written by ``save``."""
        path = os.fspath(path)
        try:
            with open(path, encoding="utf-8") as fh:
                data = json.load(fh)
        except OSError as exc:
            raise PlanError(f"cannot read plan {path}: {exc.strerror}") from None
        except json.JSONDecodeError as exc:
            raise PlanError(f"plan {path} is not valid JSON: {exc.msg} (line {exc.lineno})") \
                from None
        return cls.from_dict(data, f"plan {path}")

    def __str__(self) -> str:
        counts = ", ".join(f"{n} {risk}" for risk, n in self.counts.items())
        state = "not deployed yet" if self.base_fingerprint is None \
            else f"deployed fingerprint {self.base_fingerprint[:12]}"
        lines = [f"Plan for production {self.production} ({state})",
                 f"  created {self.created}" + (f" from {self.source}" if self.source else ""),
                 f"  {len(self.operations)} operation(s): {counts}"]
        if not self.operations:
            lines.append("  no changes: the deployed production matches the Python definition")
        notes = {SAFE: "applied by apply", DESTRUCTIVE: "applied only with --allow-destructive",
                 BLOCKED: "kept unless --allow-destructive (not declared in Python)",
                 UNSUPPORTED: "never applied"}
        for risk in RISKS:
            ops = self.by_risk(risk)
            if ops:
                lines.append(f"{risk.upper()}: {notes[risk]}")
                lines += [f"  {op.describe()}" for op in ops]
        return "\n".join(lines)


def _route_losses(before: str | None, after: str | None) -> list[str]:
    kept = set(split_targets(after))
    return [t for t in split_targets(before) if t not in kept]


def _operation(change: d.Change, route_ports: Mapping[str, set[str]]) -> tuple[str, str, str]:
    """(op, risk, reason) for one diff change."""
    scope, action = change.scope, change.action
    if scope == d.PRODUCTION:
        return "create_production", SAFE, ""
    if scope == d.PRODUCTION_ATTRIBUTE:
        return "set_production_attribute", SAFE, ""
    if scope == d.PRODUCTION_SETTING:
        if action == d.REMOVE:
            return "remove_production_setting", BLOCKED, "deployed, not declared in Python"
        return "set_production_setting", SAFE, ""
    if scope == d.ITEM:
        if action == d.REMOVE:
            return "remove_item", BLOCKED, "deployed, not declared in Python"
        return "add_item", SAFE, ""
    if scope == d.ITEM_ATTRIBUTE:
        if change.name == "@ClassName":
            return "replace_item_class", DESTRUCTIVE, "the item's class is replaced"
        return "set_item_attribute", SAFE, ""
    if scope == d.SETTING:
        if action == d.REMOVE:
            return "remove_setting", BLOCKED, "deployed, not declared in Python"
        ports = route_ports.get(change.item or "", set())
        lost = _route_losses(change.before, change.after) if change.name in ports else []
        if lost and change.target == "Host":
            return "set_setting", DESTRUCTIVE, f"drops route(s) to {', '.join(lost)}"
        return "set_setting", SAFE, ""
    # Export fields the model does not know: never written, kept when only deployed.
    if action == d.REMOVE:
        return "remove_field", BLOCKED, "deployed export field, not declared in Python"
    return "set_field", UNSUPPORTED, "export fields the Python model does not know"


def build_plan(
    desired: Production,
    current: Mapping[str, Any] | None,
    *,
    runtime_routes: Iterable[tuple[str, str]] = (),
    namespace: str | None = None,
    source: str | None = None,
) -> ProductionChangePlan:
    """Plan the changes that bring ``current`` (the stored export, None if absent) to ``desired``.

    ``runtime_routes`` are (source, target) routes seen at runtime with no source setting; they
    are listed as unsupported.
    """
    wanted = production_export(desired)
    ports = {ref.name: set(ref.route_ports()) for ref in desired}
    return plan_exports(desired.name or "", wanted, current, ports, runtime_routes=runtime_routes,
                        namespace=namespace, source=source)


def plan_exports(
    production: str,
    wanted: Mapping[str, Any],
    current: Mapping[str, Any] | None,
    route_ports: Mapping[str, set[str]],
    *,
    runtime_routes: Iterable[tuple[str, str]] = (),
    namespace: str | None = None,
    source: str | None = None,
) -> ProductionChangePlan:
    """Plan the changes that bring ``current`` to the export ``wanted`` (build_plan's step
    once the desired production is an export); ``route_ports`` names each item's settings
    that hold its targets, so that a setting losing targets is planned as destructive."""
    delta = d.diff_exports(wanted, current)
    operations: list[PlanOperation] = []
    for change in delta:
        op, risk, reason = _operation(change, route_ports)
        operations.append(PlanOperation(len(operations) + 1, op, risk, change.name, change.item,
                                        change.target, change.before, change.after, reason))
    for route_source, route_target in runtime_routes:
        operations.append(PlanOperation(
            len(operations) + 1, "runtime_route", UNSUPPORTED, f"{route_source} -> {route_target}",
            route_source, None, None, None, "runtime-only or dynamic route with no source setting",
        ))
    return ProductionChangePlan(production, operations, fingerprint(current),
                                fingerprint(wanted), namespace, source)
