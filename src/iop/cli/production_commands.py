"""CLI handlers of production as code: ``-e --format python|class|graph|mermaid``, ``--plan``,
``--review-plan``, ``--apply-plan``, ``--verify-plan`` and ``--rollback-backup``.

``run`` returns an exit code when one of these commands was asked for, else None so the main
dispatcher carries on. Apply and rollback need the local store: they are blocked in remote
mode (v1), which is detected through the client's ``mode``.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

from iop.engine.errors import UnknownProduction
from iop.production.apply import DEFAULT_BACKUP_DIR, VerifyResult, operation_state
from iop.production.deploy import RemoteNotSupported
from iop.production.errors import ProductionError
from iop.production.plan import ProductionChangePlan
from iop.production.production import Production

__all__ = ["run"]

EXIT_NOT_CONVERGED = 1


class ProductionCommandError(ProductionError):
    """A production-as-code command was given inconsistent options."""


def run(client: Any, args: Any) -> int | None:
    """Run the production-as-code command ``args`` asks for; None if it asks for none."""
    if args.plan:
        return _plan(client, args)
    if args.review_plan:
        print(ProductionChangePlan.load(args.review_plan))
        return 0
    if args.apply_plan:
        return _apply(client, args)
    if args.verify_plan:
        return _verify(client, args)
    if args.rollback_backup:
        return _rollback(client, args)
    if args.export is not None and args.format != "json":
        return _export(client, args)
    _check_stray_options(args)
    return None


# Options that only mean something next to another command: (option, attribute, command).
_COMPANIONS = (
    ("--production", "production", "--plan"),
    ("--out", "out", "--plan"),
    ("--settings", "settings", "--apply-plan"),
    ("--backup-dir", "backup_dir", "--apply-plan"),
    ("--allow-destructive", "allow_destructive", "--apply-plan or --rollback-backup"),
    ("--dry-run", "dry_run", "-m/-M"),
    ("--explain", "explain", "-m/-M"),
    ("--strict-production-validation", "strict_production_validation", "-m/-M"),
    ("--unused", "unused", "--bindings"),
)


def _check_stray_options(args: Any) -> None:
    """Refuse an option given without the command it belongs to, rather than ignore it."""
    if args.format != "json" and args.export is None:
        raise ProductionCommandError("--format goes with -e/--export")
    for option, attribute, command in _COMPANIONS:
        if attribute == "unused" and getattr(args, "bindings", False):
            continue
        if getattr(args, attribute, None):
            raise ProductionCommandError(f"{option} goes with {command}")


def _require_local(client: Any, action: str) -> None:
    # Hook for remote mode: a RemoteClient reports mode "remote"; v1 blocks these actions.
    if getattr(client, "mode", "local") != "local":
        raise RemoteNotSupported(f"{action} over the remote REST API is blocked in v1; run it "
                                 "on the engine's host, or pass --force-local")


def _deployed(client: Any, name: str) -> dict[str, Any] | None:
    try:
        return client.export(name)
    except UnknownProduction:
        return None


def reconstruct(client: Any, name: str) -> Production:
    """The deployed production as a Production: from the store in local mode (classes
    resolved, runtime routes included), from its export otherwise."""
    store = getattr(client, "store", None)
    if store is not None:
        from iop.production.deployed import from_store

        return from_store(store, name)
    from iop.client.remote_production import from_remote

    return from_remote(client, name)


def _export(client: Any, args: Any) -> int:
    from iop.production.mermaid import render_mermaid
    from iop.production.render import render_class, render_python

    name = args.export or client.get_default()
    if not name:
        raise UnknownProduction("no production given and no default production is set "
                                "(iop -d NAME)")
    production = reconstruct(client, name)
    if args.format == "python":
        sys.stdout.write(render_python(production))
    elif args.format == "class":
        sys.stdout.write(render_class(production))
    elif args.format == "mermaid":
        sys.stdout.write(render_mermaid(production))
    else:
        print(production.graph())
    return 0


def _plan(client: Any, args: Any) -> int:
    from iop.migration.loader import load_migration
    from iop.production.validation import check_production
    from iop.production.workflow import plan_against, plan_against_store

    migration = load_migration(args.plan)
    desired = migration.production(args.production)
    store = getattr(client, "store", None)
    if store is not None:
        plan = plan_against_store(desired, store, source=migration.path)
    else:
        plan = plan_against(desired, _deployed(client, desired.name or ""), {},
                            namespace=client.namespace, source=migration.path)
    warnings = [f"warning: {issue}" for issue in check_production(desired)]
    if not args.out:
        for line in warnings:
            print(line, file=sys.stderr)
        print(json.dumps(plan.to_dict(), indent=2, ensure_ascii=False))
        return 0
    path = plan.save(args.out)
    print(plan)
    for line in warnings:
        print(line)
    print(f"Plan saved to {path}")
    return 0


def _apply(client: Any, args: Any) -> int:
    from iop.migration.loader import load_migration
    from iop.production.deploy import apply_plan

    if not args.settings:
        # IoP applies a plan to the Production its settings file defines; same refusal.
        raise ProductionCommandError("--apply-plan requires --settings.")
    _require_local(client, "apply")
    plan = ProductionChangePlan.load(args.apply_plan)
    if plan.namespace and plan.namespace != client.namespace:
        raise ProductionCommandError(f"plan {args.apply_plan} is for namespace {plan.namespace}, "
                                     f"not {client.namespace}")
    desired = load_migration(args.settings).production(plan.production)
    result = apply_plan(client.store, plan, desired=desired,
                        allow_destructive=args.allow_destructive,
                        backup_dir=args.backup_dir or DEFAULT_BACKUP_DIR)
    print(result)
    return 0


def _verify(client: Any, args: Any) -> int:
    plan = ProductionChangePlan.load(args.verify_plan)
    current = _deployed(client, plan.production)
    result = VerifyResult(plan.production,
                          [(op, operation_state(current, op)) for op in plan.operations])
    print(result)
    return 0 if result.converged else EXIT_NOT_CONVERGED


def _rollback(client: Any, args: Any) -> int:
    from iop.production.deploy import rollback_backup

    _require_local(client, "rollback")
    outcome = rollback_backup(client.store, args.rollback_backup,
                              allow_destructive=args.allow_destructive)
    where = os.path.abspath(args.rollback_backup)
    if outcome["deleted"]:
        print(f"Production {outcome['production']} removed (it did not exist before the apply "
              f"backed up in {where})")
    else:
        print(f"Production {outcome['production']} restored from {where}")
    if outcome["updated_running"]:
        print(f"Running production {outcome['production']} updated")
    return 0
