"""Production validation: broken routes, unknown fields and settings that can be checked locally.

Two views of the same checks. ``Production.validate()`` returns IoP's report
(ProductionValidationReport of ProductionValidationIssue: kind, path, message, suggestion), warns
each issue as a ProductionValidationWarning, or raises ProductionValidationError in strict mode.
``check_production`` gives the engine's migration its levelled list: errors (a route to an item
that does not exist) make a production undeployable; warnings only fail in strict mode.
"""

from __future__ import annotations

import functools
import inspect
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from iop.components.settings import coerce_setting_value, describe_settings, missing_required
from iop.production.errors import ProductionError
from iop.production.item_classes import declared_adapter
from iop.production.ports import ROUTE_SETTING_NAMES

if TYPE_CHECKING:
    from collections.abc import Callable

    from iop.production.component import ComponentRef
    from iop.production.production import Production

__all__ = ["ERROR", "WARNING", "ProductionValidationError", "ProductionValidationIssue",
           "ProductionValidationReport", "ProductionValidationWarning", "ValidationIssue",
           "build_report", "check_production", "validate_production"]

ERROR = "error"
WARNING = "warning"

# Settings every business host accepts whatever its class declares (Ens.Host and IoP's own).
STANDARD_HOST_SETTINGS = frozenset({
    "AlertGrace", "AlertGroups", "AlertOnError", "AlertRetryGracePeriod", "ArchiveIO",
    "BusinessPartner", "FailureTimeout", "InactivityTimeout", "QueueCountAlert", "QueueWaitAlert",
    "ReplyCodeActions", "Retry", "RetryInterval", "ThrottleDelay", "SendRequestTimeout",
    "ResponseFrom", "ResponseTargetConfigNames",
}) | ROUTE_SETTING_NAMES
_INTEGER_PRODUCTION_SETTINGS = ("ShutdownTimeout", "UpdateTimeout", "AlertActionWindow")
# Production settings of iop-engine's own (the scheduled purge and store check, the store
# outage alert and stop, durable acknowledgements), set with production_setting().
ENGINE_PRODUCTION_SETTINGS = frozenset({"PurgeKeepDays", "PurgeBodies", "StoreCheckSeconds",
                                        "StoreOutageAlertSeconds", "StoreOutageStopSeconds",
                                        "FlushBeforeAcknowledge"})


class ProductionValidationWarning(UserWarning):
    """A validation issue reported without failing (the default, non-strict mode)."""


@dataclass(frozen=True)
class ValidationIssue:
    """One finding: ``level`` is ``error`` or ``warning``; ``item`` is None for the production."""

    level: str
    production: str
    item: str | None
    message: str

    def __str__(self) -> str:
        where = f"item {self.item}" if self.item else f"production {self.production}"
        return f"{where}: {self.message}"


@dataclass(frozen=True)
class ProductionValidationIssue:
    """One finding, as IoP reports it: ``kind`` (production, setting, route, item), ``path``
    (e.g. ``items.Out.settings.Host.Limit``), ``message`` and an optional ``suggestion``."""

    kind: str
    path: str
    message: str
    suggestion: str = ""

    def to_dict(self) -> dict[str, str]:
        data = {"kind": self.kind, "path": self.path, "message": self.message}
        if self.suggestion:
            data["suggestion"] = self.suggestion
        return data

    def to_text(self) -> str:
        text = f"{self.kind} {self.path}: {self.message}"
        return f"{text} {self.suggestion}" if self.suggestion else text


@dataclass(frozen=True)
class ProductionValidationReport:
    """Every issue ``validate()`` found in one production, in a stable order."""

    production_name: str
    issues: tuple[ProductionValidationIssue, ...] = ()

    @property
    def has_issues(self) -> bool:
        return bool(self.issues)

    def to_dict(self) -> dict[str, Any]:
        return {"production": self.production_name, "has_issues": self.has_issues,
                "issues": [issue.to_dict() for issue in self.issues]}

    def to_text(self) -> str:
        lines = [f"Production validation: {self.production_name}"]
        lines += [f"  {issue.to_text()}" for issue in self.issues] or ["  no issues"]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.to_text()


class ProductionValidationError(ProductionError, ValueError):  # IoP: a ValueError
    """Strict validation found issues; ``report`` holds every one of them."""

    def __init__(self, report: ProductionValidationReport, message: str | None = None) -> None:
        self.report = report
        # The engine's own callers (plan, CLI) give a one-line message; IoP's text otherwise.
        super().__init__(message or report.to_text())


def check_production(production: Production) -> list[ValidationIssue]:
    """Every issue of ``production``, errors first; pure, nothing is raised or warned."""
    from iop.production.production import PRODUCTION_SETTING_NAMES

    name = production.name or "?"
    issues: list[ValidationIssue] = []

    def issue(level: str, item: str | None, message: str) -> None:
        issues.append(ValidationIssue(level, name, item, message))

    items = set(production.item_names())
    for ref in production:
        for port_name in ref.route_ports():
            configured = port_name in ref.host_settings
            for target in ref.port(port_name).targets():
                if target in items:
                    continue
                if configured:
                    issue(ERROR, ref.name, f"port {port_name} routes to {target}, which is not "
                          f"an item of production {name}")
                else:
                    issue(WARNING, ref.name, f"port {port_name} defaults to {target}, which is "
                          f"not an item of production {name}")
    for key in production._extra:
        issue(WARNING, None, f"unknown production field {key}")
    for key, value in production.production_settings.items():
        if key not in PRODUCTION_SETTING_NAMES and key not in ENGINE_PRODUCTION_SETTINGS:
            issue(WARNING, None, f"unknown production setting {key}")
        elif key in _INTEGER_PRODUCTION_SETTINGS and value != "" and not _is_int(value):
            issue(WARNING, None, f"production setting {key} must be an integer, not {value!r}")
    for ref in production:
        for key in ref._extra:
            issue(WARNING, ref.name, f"unknown item field {key}")
        _check_adapter(ref, issue)
        _check_settings(ref, issue)
    return sorted(issues, key=lambda i: i.level != ERROR)


def _check_adapter(ref: ComponentRef, issue: Callable[[str, str | None, str], None]) -> None:
    declared = declared_adapter(ref.component_class)
    if ref.adapter_class is None or ref.component_class is None:
        return
    if declared is None:
        issue(WARNING, ref.name, f"adapter_class {ref.adapter_class.__qualname__} is given but "
              f"{ref.component_class.__qualname__}.get_adapter_type() declares no adapter; the "
              "engine runs the host without it")
    elif declared != ref.adapter_class_name:
        issue(WARNING, ref.name, f"adapter_class {ref.adapter_class.__qualname__} is not the "
              f"adapter {ref.component_class.__qualname__} declares; the engine uses {declared}")


def _is_int(text: str) -> bool:
    try:
        int(text, 10)
    except ValueError:
        return False
    return True


def _check_settings(ref: ComponentRef, issue: Callable[[str, str | None, str], None]) -> None:
    """Settings of the item's own classes: undeclared names and missing required values are
    warnings; a value its declared type cannot read (CallInterval "0.1" for an int) is an
    error, refused at migration rather than found by a job that cannot start. Values for an
    engine built-in class (an IRIS class name, the adapter a host declares) are type-checked
    too."""
    host_class = _settings_class(ref.component_class, ref.class_name)
    adapter_class = _settings_class(ref.adapter_class, ref.adapter_class_name
                                    or declared_adapter(host_class))
    pairs: tuple[tuple[type | None, bool, dict[str, str], str, set[str]], ...] = (
        (host_class, ref.component_class is not None, ref.host_settings, "host",
         set(ref.route_ports())),
        (adapter_class, ref.adapter_class is not None, ref.adapter_settings, "adapter", set()),
    )
    for cls, own, values, what, ports in pairs:
        if cls is None:
            continue
        declared = {info.name: info for info in describe_settings(cls)}
        for key, value in values.items():
            if key.startswith("%") or key in ports or (what == "host" and key in
                                                        STANDARD_HOST_SETTINGS):
                continue
            info = declared.get(key)
            if info is None:
                if own and not _plain_attribute(cls, key):
                    issue(WARNING, ref.name, f"{what} setting {key} is not declared by "
                          f"{cls.__qualname__}")
                continue
            try:
                coerce_setting_value(info, value)
            except (TypeError, ValueError):
                issue(ERROR, ref.name, f"{what} setting {key}={value!r} is not a valid "
                      f"{info.python_type}")
        for key in missing_required(cls, values) if own else ():
            issue(WARNING, ref.name, f"required {what} setting {key} has no value")


def _plain_attribute(cls: type, name: str) -> bool:
    """A public data attribute the engine would set (the host's own, not a method)."""
    value = inspect.getattr_static(cls, name, None)
    return value is not None and not name.startswith("_") and not callable(value)


def validate_production(production: Production, *, strict: bool = False,
                        warn: bool = True) -> ProductionValidationReport:
    """IoP's report of ``production``: strict mode raises ProductionValidationError when there is
    any issue; otherwise each issue is warned (unless ``warn`` is false) and the report returned."""
    report = build_report(production)
    if report.has_issues and strict:
        raise ProductionValidationError(report)
    if report.has_issues and warn:
        for found in report.issues:
            warnings.warn(found.to_text(), ProductionValidationWarning, stacklevel=3)
    return report


# -- IoP's report --------------------------------------------------------------------------

# The Production fields IoP serializes; any other public instance attribute is a likely typo.
IOP_PRODUCTION_FIELDS = frozenset({
    "name", "testing_enabled", "log_general_trace_events", "actor_pool_size", "description",
    "shutdown_timeout", "update_timeout", "alert_notification_manager",
    "alert_notification_operation", "alert_notification_recipients", "alert_action_window",
    "namespace",
})
_UNKNOWN_SETTING = "Unknown setting name."


@functools.cache
def _own_public_attributes() -> frozenset[str]:
    """Public attributes a bare Production sets on itself (engine ones such as ``director``)."""
    from iop.production.production import Production

    probe = Production("Validation.Probe")
    return frozenset(key for key in vars(probe) if not key.startswith("_"))


def build_report(production: Production) -> ProductionValidationReport:
    """IoP's validation report of ``production``, plus what the engine knows beyond IoP without
    IRIS (its built-in IRIS classes' settings, typed values, required settings)."""
    from iop.production.production import PRODUCTION_SETTING_NAMES

    issues: list[ProductionValidationIssue] = []
    known = IOP_PRODUCTION_FIELDS | _own_public_attributes()
    for attribute in sorted(vars(production)):
        if not attribute.startswith("_") and attribute not in known:
            issues.append(ProductionValidationIssue(
                "production", f"production.{attribute}",
                "Unknown public Production attribute. Only documented Production fields are "
                "serialized."))
    for key in sorted(production._extra):
        issues.append(ProductionValidationIssue("production", f"production.{key}",
                                                "Unknown production dictionary key."))
    for key, value in production.production_settings.items():
        path = f"production.settings.{key}"
        if key not in PRODUCTION_SETTING_NAMES and key not in ENGINE_PRODUCTION_SETTINGS:
            issues.append(ProductionValidationIssue("production", path,
                                                    "Unknown production-level setting."))
        elif key in _INTEGER_PRODUCTION_SETTINGS and value != "" and not _is_int(value):
            issues.append(ProductionValidationIssue(
                "production", path, f"Production setting value {value!r} is not an integer."))
    for ref in production:
        issues += _item_issues(ref)
    issues += _route_issues(production)
    return ProductionValidationReport(production.name or "Production", tuple(issues))


def _settings_class(cls: type | None, class_name: str | None) -> type | None:
    """The class whose settings an item's values are checked against: its Python class, or the
    engine's own implementation of the IRIS class it names (IoP asks IRIS for those)."""
    if cls is not None:
        return cls
    if not class_name:
        return None
    from iop.engine.registry import builtin_class

    return builtin_class(class_name)


def _item_issues(ref: ComponentRef) -> list[ProductionValidationIssue]:
    issues = [ProductionValidationIssue("item", f"items.{ref.name}.{key}",
                                        "Unknown item dictionary key.")
              for key in sorted(ref._extra)]
    host_class = _settings_class(ref.component_class, ref.class_name)
    host_path = f"items.{ref.name}.settings.Host"
    issues += _setting_issues(host_class, ref.host_settings, host_path,
                              STANDARD_HOST_SETTINGS | set(ref.route_ports()),
                              own_class=ref.component_class is not None)
    adapter_path = f"items.{ref.name}.settings.Adapter"
    if ref.kind == "process" and ref.adapter_settings:
        issues.append(ProductionValidationIssue(
            "setting", adapter_path, "Business process items do not support adapter settings."))
    adapter_class = _settings_class(ref.adapter_class,
                                    ref.adapter_class_name or declared_adapter(host_class))
    issues += _setting_issues(adapter_class, ref.adapter_settings, adapter_path, set(),
                              own_class=ref.adapter_class is not None)
    declared = declared_adapter(ref.component_class)
    if ref.adapter_class is not None and ref.component_class is not None \
            and declared != ref.adapter_class_name:
        engine_uses = f"the engine uses {declared}" if declared else \
            "the engine runs the host without it"
        issues.append(ProductionValidationIssue(
            "item", f"items.{ref.name}.adapter_class",
            f"Adapter class {ref.adapter_class.__qualname__} is not the adapter "
            f"{ref.component_class.__qualname__}.get_adapter_type() declares; {engine_uses}."))
    return issues


def _setting_issues(cls: type | None, values: dict[str, str], path: str,
                    always_known: set[str] | frozenset[str], *, own_class: bool
                    ) -> list[ProductionValidationIssue]:
    """Unknown names; for the item's own Python class also ill-typed and missing required
    values (for an IRIS class only the names are checked, as IRIS's dictionary would)."""
    from iop.production.ports import ROUTE_ALIASES

    if cls is None:
        return []
    issues = []
    declared = {info.name: info for info in describe_settings(cls)}
    for key in sorted(values):
        if key.startswith("%") or key in always_known:
            continue
        info = declared.get(key)
        if info is None:
            alias = ROUTE_ALIASES.get(key)
            if alias and (alias in declared or alias in always_known):
                issues.append(ProductionValidationIssue(
                    "setting", f"{path}.{key}", "Setting name is accepted as a known alias for "
                    "validation, but IoP will emit the original name.", f"Use {alias!r}."))
            elif not _plain_attribute(cls, key):
                issues.append(ProductionValidationIssue("setting", f"{path}.{key}",
                                                        _UNKNOWN_SETTING))
            continue
        if not own_class:
            continue
        try:
            coerce_setting_value(info, values[key])
        except (TypeError, ValueError):
            issues.append(ProductionValidationIssue(
                "setting", f"{path}.{key}",
                f"Value {values[key]!r} is not a valid {info.python_type}."))
    for key in missing_required(cls, values) if own_class else ():
        issues.append(ProductionValidationIssue("setting", f"{path}.{key}",
                                                "Required setting has no value."))
    return issues


def _route_issues(production: Production) -> list[ProductionValidationIssue]:
    items = set(production.item_names())
    issues = []
    for ref in production:
        for port_name in ref.route_ports():
            for target in ref.port(port_name).targets():
                if target not in items:
                    issues.append(ProductionValidationIssue(
                        "route", f"items.{ref.name}.settings.Host.{port_name}",
                        f"Target setting references missing production item {target!r}.",
                        f"Add a production item named {target!r}, or update/remove this "
                        "target setting."))
    return issues
