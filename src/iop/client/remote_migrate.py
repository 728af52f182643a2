"""Remote `iop -m`: check the settings file here, then upload its folder (spec section 7).

The plan is printed from the local import of the file, as IoP's client does; the server
imports the uploaded copy again and is the one that writes.
"""

from __future__ import annotations

import os
from typing import Any

from iop.migration.classes import MigrationError
from iop.migration.loader import MigrationPlan
from iop.production.graph import production_routes
from iop.production.validation import ERROR, check_production

UPLOADED_SUFFIXES = (".py", ".cls")


def _skipped_folder(path: str, name: str) -> bool:
    # Hidden folders, caches and virtualenvs next to the settings file are not the project.
    return name.startswith(".") or name == "__pycache__" or name == "site-packages" \
        or os.path.exists(os.path.join(path, name, "pyvenv.cfg"))


def collect_files(folder: str) -> list[dict[str, str]]:
    """Every .py and .cls file under ``folder`` as ``{"name": relative/posix, "data": text}``."""
    files = []
    for root, dirs, names in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not _skipped_folder(root, d))
        for name in sorted(names):
            if not name.endswith(UPLOADED_SUFFIXES):
                continue
            path = os.path.join(root, name)
            rel = os.path.relpath(path, folder).replace(os.sep, "/")
            try:
                with open(path, encoding="utf-8") as fh:
                    files.append({"name": rel, "data": fh.read()})
            except (OSError, UnicodeDecodeError) as exc:
                raise MigrationError(f"cannot upload {path}: {exc}") from exc
    return files


def plan_lines(plan: MigrationPlan, mode: str, namespace: str, *, strict: bool,
               dry_run: bool) -> list[str]:
    """The plan in CLASSES / SCHEMAS / PRODUCTIONS sections; MigrationError on validation
    errors (or, with ``strict``, on any issue), before anything is sent."""
    lines = [mode, f"Namespace: {namespace}", f"Settings file: {plan.path}"]
    if dry_run:
        lines.append("Dry run: the plan below is checked but not sent")
    lines.append("CLASSES:")
    lines += [f"  {entry.describe()}" for entry in plan.classes]
    lines += [f"  {b.class_name} -> {b.module}.{b.classname} (component: {b.kind}; "
              "used by a production)" for b in plan.production_bindings]
    if not plan.classes and not plan.production_bindings:
        lines.append("  (none)")
    lines.append("SCHEMAS:")
    lines += [f"  {entry.describe()}" for entry in plan.schemas] or ["  (none)"]
    lines.append("PRODUCTIONS:")
    failures = []
    for entry in plan.productions:
        routes = len(production_routes(entry.production))
        lines.append(f"  {entry.name}: {len(entry.production)} item(s), {routes} route(s)")
        issues = check_production(entry.production)
        lines += [f"    {issue.level}: {issue}" for issue in issues]
        failures += [i for i in issues if i.level == ERROR or strict]
    if not plan.productions:
        lines.append("  (none)")
    if failures:
        first = failures[0]
        raise MigrationError(f"production validation failed: production {first.production}: "
                             f"{first}; nothing was sent")
    return lines


def upload_body(plan: MigrationPlan, namespace: str, strict: bool) -> dict[str, Any]:
    """The PUT /migrate body for ``plan``'s folder."""
    settings = plan.remote_settings or {}
    return {
        "namespace": namespace,
        "package": str(settings.get("package") or "python"),
        "remote_folder": str(settings.get("remote_folder") or ""),
        "settings_file": os.path.basename(plan.path),
        "strict_production_validation": bool(strict),
        "body": collect_files(plan.folder),
    }
