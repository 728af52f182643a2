"""The change workflow methods of Production: diff, graph_diff, validate, plan, apply, verify,
rollback_backup and sync (seed 001, "Production Class")."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from iop.production.diff import ProductionDiff, diff_exports
from iop.production.export_shape import production_export
from iop.production.graph import GraphEdge, production_edges
from iop.production.plan import ProductionChangePlan, build_plan
from iop.production.validation import ValidationIssue, validate_production

if TYPE_CHECKING:
    from iop.production.apply import ApplyResult, VerifyResult
    from iop.production.production import Production
    from iop.store.base import Store

__all__ = ["GraphDiff", "WorkflowMixin", "plan_against", "plan_against_store"]


@dataclass
class GraphDiff:
    """Route edges only in the desired graph (added), only in the other (removed), and in both
    with different origin or interaction (changed: (desired edge, other edge))."""

    production: str
    added: list[GraphEdge]
    removed: list[GraphEdge]
    changed: list[tuple[GraphEdge, GraphEdge]]

    @property
    def has_changes(self) -> bool:
        return bool(self.added or self.removed or self.changed)

    def to_dict(self) -> dict[str, Any]:
        return {"production": self.production, "has_changes": self.has_changes,
                "added": [e._asdict() for e in self.added],
                "removed": [e._asdict() for e in self.removed],
                "changed": [{"desired": a._asdict(), "other": b._asdict()}
                            for a, b in self.changed]}

    def __str__(self) -> str:
        if not self.has_changes:
            return f"Graph of {self.production}: no changes"
        lines = [f"Graph of {self.production}:"]
        lines += [f"  + {e.source}.{e.port} -> {e.target} [{e.origin}]" for e in self.added]
        lines += [f"  - {e.source}.{e.port} -> {e.target} [{e.origin}]" for e in self.removed]
        lines += [f"  ~ {a.source}.{a.port} -> {a.target}: {b.origin}/{b.interaction} -> "
                  f"{a.origin}/{a.interaction}" for a, b in self.changed]
        return "\n".join(lines)


def plan_against(desired: Production, current: Mapping[str, Any] | None,
                 observed: Mapping[tuple[str, str], str], *, namespace: str | None = None,
                 source: str | None = None) -> ProductionChangePlan:
    """The plan from ``current`` to ``desired``; routes seen only at runtime (no source setting
    in ``desired``) are listed as unsupported. Refuses a desired production with errors."""
    from iop.production.validation import ERROR, ProductionValidationError, check_production

    errors = [issue for issue in check_production(desired) if issue.level == ERROR]
    if errors:
        raise ProductionValidationError(desired.name or "?", errors)
    backed = {(e.source, e.target) for e in production_edges(desired) if e.port}
    runtime_only = [pair for pair in observed if pair not in backed]
    return build_plan(desired, current, runtime_routes=runtime_only, namespace=namespace,
                      source=source)


def plan_against_store(desired: Production, store: Store, source: str | None = None
                       ) -> ProductionChangePlan:
    """The plan from the production deployed in ``store`` to ``desired``."""
    from iop.production.runtime import observed_routes

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
            from iop.production.runtime import store_of

            return store_of(self).get_production(self.name)
        if isinstance(other, Mapping):
            return other
        return production_export(other)

    def diff(self: Any, other: Any = None) -> ProductionDiff:
        """Changes that make ``other`` (default: the deployed production) match this one."""
        return diff_exports(production_export(self), self._other_export(other))

    def graph_diff(self: Any, other: Any = None) -> GraphDiff:
        """Compare route edges with their origin and interaction (default: the deployed one)."""
        if other is None:
            from iop.production.runtime import from_store, store_of

            other = from_store(store_of(self), self.name)
        elif isinstance(other, Mapping):
            other = type(self).from_dict(other)
        mine = {e.route: e for e in production_edges(self)}
        theirs = {e.route: e for e in production_edges(other)}
        return GraphDiff(
            self.name,
            [e for key, e in mine.items() if key not in theirs],
            [e for key, e in theirs.items() if key not in mine],
            [(e, theirs[key]) for key, e in mine.items()
             if key in theirs and e[3:] != theirs[key][3:]],
        )

    def validate(self: Any, strict: bool = False) -> list[ValidationIssue]:
        """Report unknown fields, undeclared or invalid settings and broken routes: as warnings,
        or (strict) by raising ProductionValidationError."""
        return validate_production(self, strict)

    def plan(self: Any, other: Any = None) -> ProductionChangePlan:
        """A conservative granular plan against ``other`` (default: the deployed production)."""
        if other is None:
            from iop.production.runtime import store_of

            return plan_against_store(self, store_of(self))
        return plan_against(self, self._other_export(other),
                            getattr(other, "_observed_routes", {}))

    def apply(self: Any, plan: ProductionChangePlan | None = None, *,
              allow_destructive: bool = False,
              backup_dir: str | os.PathLike[str] | None = None) -> ApplyResult:
        """Apply the plan's safe operations (and destructive ones if allowed) after writing a
        backup and checking the deployed fingerprint."""
        from iop.production.deploy import apply_plan
        from iop.production.runtime import store_of

        _check_local(self, "apply")
        return apply_plan(store_of(self), plan if plan is not None else self.plan(),
                          desired=self, allow_destructive=allow_destructive,
                          backup_dir=backup_dir)

    def verify(self: Any, plan: ProductionChangePlan) -> VerifyResult:
        """Re-read the deployed production and report whether the plan's operations converged."""
        from iop.production.deploy import verify_plan
        from iop.production.runtime import store_of

        return verify_plan(store_of(self), plan)

    @classmethod
    def rollback_backup(cls, path: str | os.PathLike[str], allow_destructive: bool = False,
                        namespace: str | None = None) -> dict[str, Any]:
        """Restore the production saved in an apply backup directory (its namespace unless
        ``namespace`` is given); needs ``allow_destructive=True``."""
        from iop.production.apply import read_backup
        from iop.production.deploy import rollback_backup
        from iop.store import open_store

        manifest, _ = read_backup(path)
        store = open_store(namespace or manifest.get("namespace"))
        return rollback_backup(store, path, allow_destructive=allow_destructive)

    def sync(self: Any) -> dict[str, Any]:
        """Register this production and its Python classes with the local engine through the
        full-registration migration path (validated first; nothing is written on error)."""
        from iop.migration.sync import sync_production
        from iop.production.runtime import store_of

        _check_local(self, "sync")
        return sync_production(store_of(self), self)
