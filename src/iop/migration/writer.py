"""Explain a MigrationPlan (validation included) and write it to the store, all or nothing."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import Any

from iop.migration.classes import MigrationError
from iop.migration.loader import MigrationPlan, ProductionEntry
from iop.production.diff import diff_exports
from iop.production.errors import ProductionError
from iop.production.graph import production_routes
from iop.production.validation import ERROR, WARNING, ValidationIssue, check_production
from iop.store.base import Store

__all__ = ["explain", "plan_text", "production_issues", "write"]


def _class_is_known(store: Store, plan: MigrationPlan, class_name: str) -> bool:
    from iop.engine import registry

    if any(b.class_name == class_name for b in plan.bindings()):
        return True
    try:
        registry.resolve(store, class_name)
    except Exception:  # unknown, or its module fails to import: reported as a warning
        return False
    return True


def production_issues(store: Store, plan: MigrationPlan, entry: ProductionEntry
                      ) -> list[ValidationIssue]:
    """Validation issues of one production, plus class names nothing resolves."""
    issues = check_production(entry.production)
    for ref in entry.production:
        if ref.component_class is None and not _class_is_known(store, plan, ref.class_name):
            issues.append(ValidationIssue(
                WARNING, entry.name, ref.name,
                f"class {ref.class_name} is not bound; the item cannot start until a migration "
                "declares it"))
    return issues


def _state(store: Store, entry: ProductionEntry) -> str:
    stored = store.get_production(entry.name)
    if stored is None:
        return "new"
    try:
        changes = len(diff_exports(entry.definition, stored))
    except ProductionError:
        return "replaces an unreadable stored definition"
    return f"updates the stored definition: {changes} change(s)" if changes else "unchanged"


def explain(plan: MigrationPlan, store: Store, *, strict: bool = False,
            dry_run: bool = False) -> list[str]:
    """The migration plan in CLASSES / SCHEMAS / PRODUCTIONS sections; raises MigrationError
    when validation finds an error (or, in strict mode, any issue)."""
    lines = ["Mode: LOCAL", f"Namespace: {store.namespace}", f"Settings file: {plan.path}"]
    if dry_run:
        lines.append("Dry run: the plan below is checked but not written")
    lines.append("CLASSES:")
    lines += [f"  {entry.describe()}" for entry in plan.classes]
    lines += [f"  {b.class_name} -> {b.module}.{b.classname} (component: {b.kind}; "
              "used by a production)" for b in plan.production_bindings]
    if not plan.classes and not plan.production_bindings:
        lines.append("  (none)")
    lines.append("SCHEMAS:")
    lines += [f"  {entry.describe()}" for entry in plan.schemas] or ["  (none)"]
    lines.append("PRODUCTIONS:")
    failures: list[ValidationIssue] = []
    for entry in plan.productions:
        routes = len(production_routes(entry.production))
        lines.append(f"  {entry.name}: {len(entry.production)} item(s), {routes} route(s) "
                     f"({_state(store, entry)})")
        issues = production_issues(store, plan, entry)
        lines += [f"    {issue.level}: {issue}" for issue in issues]
        failures += [i for i in issues if i.level == ERROR or strict]
    if not plan.productions:
        lines.append("  (none)")
    _refuse(failures)
    return lines


def _refuse(failures: list[ValidationIssue]) -> None:
    """Raise MigrationError naming the first failure (a real error first), if any."""
    if not failures:
        return
    failures.sort(key=lambda issue: issue.level != ERROR)  # a real error is named first
    first = failures[0]
    more = f" (and {len(failures) - 1} more issue(s))" if len(failures) > 1 else ""
    mode = "strict production validation failed" if first.level == WARNING \
        else "production validation failed"
    raise MigrationError(f"{mode}: production {first.production}: {first}{more}; "
                         "nothing was written")


def _section(title: str, entries: list[str]) -> list[str]:
    return [f"{title}:", *([f"  {entry}" for entry in entries] or ["  none"]), ""]


def plan_text(plan: MigrationPlan, store: Store, *, strict: bool = False) -> list[str]:
    """``iop -m FILE --explain``: the plan in IoP's layout (CLASSES, SCHEMAS, PRODUCTIONS,
    VALIDATION); raises MigrationError as ``explain`` does."""
    classes = [f"{entry.class_name} -> {entry.binding.module}.{entry.binding.classname} "
               f"({'PersistentMessage' if entry.is_message else 'component'})"
               for entry in plan.classes]
    classes += [f"{b.class_name} -> {b.module}.{b.classname} (component)"
                for b in plan.production_bindings]
    validation: list[str] = []
    failures: list[ValidationIssue] = []
    for entry in plan.productions:
        issues = production_issues(store, plan, entry)
        validation += [f"{entry.name}: {issue.level}: {issue}" for issue in issues]
        failures += [i for i in issues if i.level == ERROR or strict]
    _refuse(failures)
    return [f"Migration plan: {os.path.abspath(plan.path)}", "Mode: LOCAL",
            f"Namespace: {store.namespace}", "",
            *_section("CLASSES", classes),
            *_section("SCHEMAS", [schema.name for schema in plan.schemas]),
            *_section("PRODUCTIONS", [entry.name for entry in plan.productions]),
            *_section("VALIDATION", validation)]


def _snapshot(store: Store, plan: MigrationPlan) -> list[Callable[[], Any]]:
    """Undo actions that put back what the write is about to change, in reverse order."""
    undo: list[Callable[[], Any]] = []
    for binding in plan.bindings():
        old = store.get_binding(binding.class_name)
        if old is None:
            undo.append(functools.partial(store.delete_binding, binding.class_name))
        else:
            undo.append(functools.partial(store.put_binding, old))
    for schema in plan.schemas:
        undo.append(functools.partial(store.set_meta, schema.meta_key,
                                      store.get_meta(schema.meta_key)))
    for entry in plan.productions:
        old_definition = store.get_production(entry.name)
        if old_definition is None:
            undo.append(functools.partial(store.delete_production, entry.name))
        else:
            undo.append(functools.partial(store.save_production, entry.name, old_definition))
    undo.append(functools.partial(store.set_meta, "default_production",
                                  store.get_meta("default_production")))
    return undo


def write(plan: MigrationPlan, store: Store) -> None:
    """Write bindings, schemas and productions; if any write fails, put the old values back.

    The store has no multi-call transaction, so a failure part-way is undone from a snapshot
    taken just before writing.
    """
    undo = _snapshot(store, plan)
    try:
        store.add_classpath(plan.folder)
        for path in {b.classpath for b in plan.bindings() if b.classpath}:
            if path != plan.folder and os.path.isdir(path):
                store.add_classpath(path)
        for binding in plan.bindings():
            store.put_binding(binding)
        for schema in plan.schemas:
            store.set_meta(schema.meta_key, schema.stored_text())
        for entry in plan.productions:
            store.save_production(entry.name, entry.definition)
        if plan.productions and not store.get_meta("default_production"):
            store.set_meta("default_production", plan.productions[0].name)
    except Exception as exc:
        for action in reversed(undo):
            try:
                action()
            except Exception:  # keep undoing the rest; the first error is the one reported
                pass
        raise MigrationError(f"migration of {plan.path} failed while writing ({exc}); the "
                             "previous definitions were restored") from exc
