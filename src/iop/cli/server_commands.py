"""`iop --serve` and the server's accounts (`--user-add`, `--user-password`, `--user-remove`,
`--user-list`). These always act on this host, whatever remote mode would select."""

from __future__ import annotations

import getpass
import json
import sys
from typing import Any

__all__ = ["run"]


class PasswordError(Exception):
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


def run(args: Any) -> int | None:
    """Run the server or account command ``args`` asks for; None if it asks for none."""
    if args.serve:
        from iop.server.serve import serve

        if args.max_body_mb <= 0:
            raise PasswordError("--max-body-mb must be positive")
        return serve(args.host, args.port, int(args.max_body_mb * 1024 * 1024),
                     getattr(args, "portal_root", None))
    if not (args.user_add or args.user_password or args.user_remove or args.user_list):
        return None
    from iop.server.users import UserError, UserStore

    users = UserStore()
    if args.user_list:
        print(json.dumps([u.public() for u in users.list()], indent=4))
        return 0
    if args.user_remove:
        if not users.remove(args.user_remove):
            raise UserError(f"user {args.user_remove} does not exist")
        print(f"User {args.user_remove} removed")
        return 0
    if args.user_password:
        current = users.get(args.user_password)
        if current is None:
            raise UserError(f"user {args.user_password} does not exist (add it with "
                            "--user-add)")
        password = _read_password(args, args.user_password)
        users.add(args.user_password, password, args.user_namespace or current.namespaces,
                  current.roles, replace=True)
        print(f"Password of user {args.user_password} changed")
        return 0
    if users.get(args.user_add) is not None:
        raise UserError(f"user {args.user_add} already exists (change its password with "
                        "--user-password)")
    password = _read_password(args, args.user_add)
    user = users.add(args.user_add, password, args.user_namespace)
    print(f"User {user.name} added (namespaces: {', '.join(user.namespaces)})")
    return 0
