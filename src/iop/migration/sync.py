"""Production.sync(): register one Python production through the migration path."""

from __future__ import annotations

import os
from typing import Any

from iop.migration.classes import MigrationError, classpath_of, component_binding
from iop.migration.loader import MigrationPlan, ProductionEntry
from iop.migration.writer import explain, write
from iop.production.errors import ProductionError
from iop.production.export_shape import production_export
from iop.production.production import Production
from iop.store.base import Store

__all__ = ["sync_production"]


def sync_production(store: Store, production: Production) -> dict[str, Any]:
    """Validate, then write the production's bindings and definition; returns a summary."""
    try:
        classes = production.python_classes()
        definition = production_export(production)
    except ProductionError as exc:
        raise MigrationError(f"production {production.name}: {exc}") from None
    folder = os.getcwd()
    for cls in classes.values():
        folder = classpath_of(cls, folder)
        break
    plan = MigrationPlan(os.path.join(folder, "<sync>"))
    plan.production_bindings = [component_binding(name, cls, folder)
                                for name, cls in classes.items()]
    plan.productions = [ProductionEntry(production.name or "", definition, production)]
    lines = explain(plan, store)
    write(plan, store)
    return {"production": production.name, "namespace": store.namespace,
            "bindings": sorted(classes), "lines": lines}
