"""Production validation: broken routes, unknown fields and settings that can be checked locally.

Errors (a route to an item that does not exist) make a production undeployable; warnings
(unknown fields, undeclared or ill-typed settings, missing required values) are reported and
only fail in strict mode.
"""

from __future__ import annotations

import inspect
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING

from iop.components.settings import coerce_setting_value, describe_settings, missing_required
from iop.production.errors import ProductionError
from iop.production.item_classes import declared_adapter
from iop.production.ports import ROUTE_SETTING_NAMES

if TYPE_CHECKING:
    from collections.abc import Callable

    from iop.production.component import ComponentRef
    from iop.production.production import Production

__all__ = ["ERROR", "WARNING", "ProductionValidationError", "ProductionValidationWarning",
           "ValidationIssue", "check_production", "validate_production"]

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
# Production settings of iop-engine's own (the scheduled purge), set with production_setting().
ENGINE_PRODUCTION_SETTINGS = frozenset({"PurgeKeepDays", "PurgeBodies"})


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


class ProductionValidationError(ProductionError):
    """Validation found issues that must be fixed; ``issues`` lists every one of them."""

    def __init__(self, production: str, issues: list[ValidationIssue]) -> None:
        self.production = production
        self.issues = issues
        more = f" (and {len(issues) - 1} more issue(s))" if len(issues) > 1 else ""
        super().__init__(f"production {production} is not valid: {issues[0]}{more}")


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
    pairs: tuple[tuple[type | None, dict[str, str], str, set[str]], ...] = (
        (ref.component_class, ref.host_settings, "host", set(ref.route_ports())),
        (ref.adapter_class, ref.adapter_settings, "adapter", set()),
    )
    for cls, values, what, ports in pairs:
        if cls is None:
            continue
        declared = {info.name: info for info in describe_settings(cls)}
        for key, value in values.items():
            if key.startswith("%") or key in ports or (what == "host" and key in
                                                        STANDARD_HOST_SETTINGS):
                continue
            info = declared.get(key)
            if info is None:
                if not _plain_attribute(cls, key):
                    issue(WARNING, ref.name, f"{what} setting {key} is not declared by "
                          f"{cls.__qualname__}")
                continue
            try:
                coerce_setting_value(info, value)
            except (TypeError, ValueError):
                issue(WARNING, ref.name, f"{what} setting {key}={value!r} is not a valid "
                      f"{info.python_type}")
        for key in missing_required(cls, values):
            issue(WARNING, ref.name, f"required {what} setting {key} has no value")


def _plain_attribute(cls: type, name: str) -> bool:
    """A public data attribute the engine would set (the host's own, not a method)."""
    value = inspect.getattr_static(cls, name, None)
    return value is not None and not name.startswith("_") and not callable(value)


def validate_production(production: Production, strict: bool = False) -> list[ValidationIssue]:
    """Report the issues: strict mode raises ProductionValidationError if there is any;
    otherwise each is emitted with ``warnings.warn`` and the list is returned."""
    issues = check_production(production)
    if strict and issues:
        raise ProductionValidationError(production.name or "?", issues)
    for found in issues:
        warnings.warn(str(found), ProductionValidationWarning, stacklevel=3)
    return issues
