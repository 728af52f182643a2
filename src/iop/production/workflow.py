"""The change workflow methods of Production: diff, graph_diff, validate, plan, apply, verify,
rollback_backup and sync (seed 001, "Production Class")."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from iop.production.diff import ProductionDiff, diff_productions
from iop.production.export_shape import production_export
from iop.production.graph import production_edges
from iop.production.plan import ProductionChangePlan, build_plan
from iop.production.validation import ProductionValidationReport, validate_production

if TYPE_CHECKING:
    from iop.production.apply import ApplyResult, VerifyResult
    from iop.production.production import Production
    from iop.store.base import Store

__all__ = ["WorkflowMixin", "plan_against", "plan_against_store"]


def plan_against(desired: Production, current: Mapping[str, Any] | None,
                 observed: Mapping[tuple[str, str], str], *, namespace: str | None = None,
                 source: str | None = None) -> ProductionChangePlan:
    """The plan from ``current`` to ``desired``; routes seen only at runtime (no source setting
    in ``desired``) are listed as unsupported. Refuses a desired production with errors."""
    from iop.production.validation import (
        ERROR,
        ProductionValidationError,
        build_report,
        check_production,
    )

    errors = [issue for issue in check_production(desired) if issue.level == ERROR]
    if errors:
        report = build_report(desired)
        routes = tuple(issue for issue in report.issues if issue.kind == "route")
        more = f" (and {len(errors) - 1} more error(s))" if len(errors) > 1 else ""
        raise ProductionValidationError(
            ProductionValidationReport(report.production_name, routes),
            f"production {desired.name} is not valid: {errors[0]}{more}")
    backed = {(e.source, e.target) for e in production_edges(desired) if e.port}
    runtime_only = [pair for pair in observed if pair not in backed]
    return build_plan(desired, current, runtime_routes=runtime_only, namespace=namespace,
                      source=source)


def plan_against_store(desired: Production, store: Store, source: str | None = None
                       ) -> ProductionChangePlan:
    """The plan from the production deployed in ``store`` to ``desired``."""
    from iop.production.deployed import observed_routes

    current = store.get_production(desired.name or "")
    observed = observed_routes(store, set(desired.item_names())) if current is not None else {}
    return plan_against(desired, current, observed, namespace=store.namespace, source=source)


def _remote(production: Any) -> bool:
    return getattr(getattr(production, "director", None), "mode", "local") == "remote"


def _check_local(production: Any, action: str) -> None:
    from iop.production.deploy import RemoteNotSupported

    if _remote(production):
        raise RemoteNotSupported(f"{action} over the remote REST API is blocked in v1; run it "
                                 "on the engine's host (local mode)")


class WorkflowMixin:
    """Compare, plan, apply, verify and roll back a Production against the deployed one."""

    name: str | None

    def _other_export(self: Any, other: Any) -> Mapping[str, Any] | None:
        if other is None:
            from iop.production.lifecycle import store_of

            return store_of(self).get_production(self.name)
        if isinstance(other, Mapping):
            return other
        return production_export(other)

    def _other_production(self: Any, other: Any) -> Any:
        """``other`` as a Production: the deployed one (an empty one if nothing is deployed
        yet) for None, rebuilt from an export dict, or as given."""
        from iop.production.production import Production

        if other is None:
            from iop.production.deployed import from_store
            from iop.production.lifecycle import store_of

            store = store_of(self)
            if store.get_production(self.name) is None:
                return Production(self.name)
            return from_store(store, self.name)
        if isinstance(other, Production):
            return other
        if isinstance(other, Mapping):
            return Production.from_dict(other)
        raise TypeError("other must be a Production, production dictionary, or None")

    def diff(self: Any, other: Any = None) -> ProductionDiff:
        """Changes that make ``other`` (default: the deployed production) match this one, blind
        to import metadata such as route origins."""
        return diff_productions(self, self._other_production(other))

    def diff_deployable(self: Any, other: Any = None) -> ProductionDiff:
        """IoP's name for ``diff()``."""
        return self.diff(other)

    def graph_diff(self: Any, other: Any = None) -> ProductionDiff:
        """Like ``diff()``, but routes are compared with their origin and interaction."""
        return diff_productions(self, self._other_production(other),
                                include_graph_metadata=True)

    def validate(self: Any, *, strict: bool = False) -> ProductionValidationReport:
        """IoP's report of unknown fields, undeclared or invalid settings and broken routes:
        each issue is also warned, or (strict) ProductionValidationError is raised."""
        return validate_production(self, strict=strict, warn=not strict)

    def plan(self: Any, other: Any = None) -> ProductionChangePlan:
        """A conservative granular plan against ``other`` (default: the deployed production)."""
        if other is None:
            from iop.production.lifecycle import store_of

            return plan_against_store(self, store_of(self))
        return plan_against(self, self._other_export(other),
                            getattr(other, "_observed_routes", {}))

    def apply(self: Any, plan: ProductionChangePlan | None = None, *,
              allow_destructive: bool = False,
              backup_dir: str | os.PathLike[str] | None = None) -> ApplyResult:
        """Apply the plan's safe operations (and destructive ones if allowed) after writing a
        backup and checking the deployed fingerprint."""
        from iop.production.deploy import apply_plan
        from iop.production.lifecycle import store_of

        _check_local(self, "apply")
        return apply_plan(store_of(self), plan if plan is not None else self.plan(),
                          desired=self, allow_destructive=allow_destructive,
                          backup_dir=backup_dir)

    def verify(self: Any, plan: ProductionChangePlan) -> VerifyResult:
        """Re-read the deployed production and report whether the plan's operations converged."""
        from iop.production.deploy import verify_plan
        from iop.production.lifecycle import store_of

        return verify_plan(store_of(self), plan)

    @classmethod
    def rollback_backup(cls, backup_path: str | os.PathLike[str], *, director: Any = None,
                        namespace: str | None = None, allow_destructive: bool = False,
                        update: bool = True) -> dict[str, Any]:
        """Restore the production saved in an apply backup directory (its namespace unless
        ``namespace`` is given); needs ``allow_destructive=True``, checked before anything is
        read."""
        from iop.production.apply import read_backup
        from iop.production.deploy import rollback_backup
        from iop.store import open_store

        if not allow_destructive:
            # IoP's exception and text, raised before the backup or the store is touched.
            raise RuntimeError("Rollback restores a full production export and requires "
                               "allow_destructive=True.")
        if getattr(director, "mode", "local") == "remote":
            raise RuntimeError("Remote production rollback is not supported in v1. "
                               "Run rollback from a local IRIS environment.")
        manifest, _ = read_backup(backup_path)
        store = open_store(namespace or manifest.get("namespace"))
        return rollback_backup(store, backup_path, allow_destructive=True, update=update)

    def sync(self: Any) -> dict[str, Any]:
        """Register this production and its Python classes with the local engine through the
        full-registration migration path (validated first; nothing is written on error)."""
        from iop.migration.sync import sync_production
        from iop.production.lifecycle import store_of

        if _remote(self):  # IoP's refusal, type and text, for an injected remote director
            raise NotImplementedError(
                "Production.sync() can only register directly with local IRIS. "
                "Use `iop --migrate <settings_file>` for remote migrations.")
        return sync_production(store_of(self), self)
