"""`iop --serve` and the server's accounts (`--user-add`, `--user-password`, `--user-remove`,
`--user-list`, `--user-set-roles`, `--user-unlock`). These always act on this host's %SYS
store, whatever remote mode would select: whoever runs them can read the server's files."""

from __future__ import annotations

import getpass
import json
import os
import sys
from typing import Any

from iop.errors import CliError

__all__ = ["run"]


class PasswordError(CliError):
    """No password could be read, or the two typed ones differ."""


def _read_password(args: Any, name: str) -> str:
    if args.password_stdin:
        line = sys.stdin.readline()
        if not line:
            raise PasswordError("--password-stdin: standard input is empty")
        return line.rstrip("\r\n")
    if not sys.stdin.isatty():
        raise PasswordError("no terminal to prompt for the password; pass --password-stdin "
                            "and write it on standard input")
    first = getpass.getpass(f"Password for {name}: ")
    if getpass.getpass("Repeat the password: ") != first:
        raise PasswordError("the two passwords differ; nothing was changed")
    return first


def roles_from(namespaces: list[str] | None, role_args: list[str] | None
               ) -> dict[str, str] | None:
    """``{namespace or *: role}`` from --user-namespace and --user-role; None for neither.

    ``--user-role ROLE`` (at most one) applies to every --user-namespace, or to all
    namespaces without one; ``--user-role NS=ROLE`` to namespace NS. No role: viewer."""
    from iop.server.users import ALL_NAMESPACES, DEFAULT_ROLE, UserError

    if not namespaces and not role_args:
        return None
    plain = [r for r in role_args or [] if "=" not in r]
    if len(plain) > 1:
        raise UserError("give one --user-role ROLE for the namespaces of --user-namespace (or "
                        "all), and NS=ROLE for each namespace that needs another role")
    per_namespace = [r.split("=", 1) for r in role_args or [] if "=" in r]
    everywhere = namespaces or ([ALL_NAMESPACES] if plain or not per_namespace else [])
    roles = {ns: plain[0] if plain else DEFAULT_ROLE.label for ns in everywhere}
    for ns, role in per_namespace:
        if not ns.strip():
            raise UserError(f"--user-role {ns}={role}: name the namespace before '='")
        roles[ns.strip() if ns.strip() == ALL_NAMESPACES else ns.strip().upper()] = role
    return roles


def _by(command: str) -> str:
    """Who ran ``command``, for the accounts' event log: the OS user of this process."""
    try:
        who = getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a bare container)
        who = f"uid {os.getuid()}"
    return f"{who} (iop {command})"


def _roles_text(roles: dict[str, str]) -> str:
    return ", ".join(f"{ns}={role}" for ns, role in sorted(roles.items()))


def run(args: Any) -> int | None:
    """Run the server or account command ``args`` asks for; None if it asks for none."""
    if args.serve:
        from iop.server.serve import serve

        if args.max_body_mb <= 0:
            raise PasswordError("--max-body-mb must be positive")
        return serve(args.host, args.port, int(args.max_body_mb * 1024 * 1024),
                     getattr(args, "portal_root", None))
    if not (args.user_add or args.user_password or args.user_remove or args.user_list
            or args.user_set_roles or args.user_unlock):
        return None
    from iop.server.users import UserError, UserStore, role_map

    users = UserStore()
    roles = roles_from(args.user_namespace, args.user_role)
    if roles is not None:
        role_map(None, roles)  # a wrong role or namespace is said before any password prompt
    if args.user_list:
        from iop.server.login_limits import accounts

        print(json.dumps(accounts(users), indent=4))
        return 0
    if args.user_unlock:
        if users.unlock(args.user_unlock, _by("--user-unlock")):
            print(f"User {args.user_unlock} unlocked")
        else:
            print(f"User {args.user_unlock} was not locked; its failed logins were cleared")
        return 0
    if args.user_set_roles:
        if roles is None:
            raise UserError("--user-set-roles needs --user-role (and/or --user-namespace)")
        user = users.set_roles(args.user_set_roles, roles)
        users.event("info", f"roles of account {user.name} set to {user.roles} by "
                            f"{_by('--user-set-roles')}")
        print(f"User {user.name} now has roles {_roles_text(user.roles)}")
        return 0
    if args.user_remove:
        if not users.remove(args.user_remove):
            raise UserError(f"user {args.user_remove} does not exist")
        users.event("info", f"account {args.user_remove} removed by {_by('--user-remove')}")
        print(f"User {args.user_remove} removed")
        return 0
    if args.user_password:
        current = users.get(args.user_password)
        if current is None:
            raise UserError(f"user {args.user_password} does not exist (add it with "
                            "--user-add)")
        password = _read_password(args, args.user_password)
        changed = users.add(args.user_password, password, None, roles or current.roles,
                            replace=True)
        users.event("info", f"password of account {changed.name} changed by "
                            f"{_by('--user-password')} (roles {changed.roles})")
        print(f"Password of user {args.user_password} changed")
        return 0
    if users.get(args.user_add) is not None:
        raise UserError(f"user {args.user_add} already exists (change its password with "
                        "--user-password)")
    password = _read_password(args, args.user_add)
    user = users.add(args.user_add, password, None, roles)
    users.event("info", f"account {user.name} added by {_by('--user-add')} with roles "
                        f"{user.roles}")
    print(f"User {user.name} added (roles: {_roles_text(user.roles)})")
    return 0
