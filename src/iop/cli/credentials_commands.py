"""`iop --credentials-add NAME --username USER`, `--credentials-list`, `--credentials-remove
NAME`: the namespace's credentials store, through the Client (local store or a server).

The password is never a command-line argument (other users see those in ps): it comes from
``IOP_CREDENTIALS_PASSWORD``, else the first line of standard input when it is not a
terminal, else a prompt that does not echo (typed twice).
"""

from __future__ import annotations

import getpass
import os
import sys
from typing import Any

from iop.cli.arguments import print_json
from iop.client.base import Client
from iop.errors import CliError

__all__ = ["PASSWORD_ENV", "run"]

PASSWORD_ENV = "IOP_CREDENTIALS_PASSWORD"


class CredentialsPasswordError(CliError):
    """No password could be read for --credentials-add, or the two typed ones differ."""


def _who(command: str) -> str:
    try:
        who = getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a bare container)
        who = f"uid {os.getuid()}"
    return f"{who} (iop {command})"


def _password(name: str) -> str:
    if PASSWORD_ENV in os.environ:
        return os.environ[PASSWORD_ENV]
    if not sys.stdin.isatty():
        line = sys.stdin.readline()
        if not line:
            raise CredentialsPasswordError(
                f"--credentials-add {name}: no password: standard input is empty and "
                f"{PASSWORD_ENV} is not set")
        return line.rstrip("\r\n")
    first = getpass.getpass(f"Password for credentials {name}: ")
    if getpass.getpass("Repeat the password: ") != first:
        raise CredentialsPasswordError("the two passwords differ; nothing was saved")
    return first


def run(client: Client, args: Any) -> int | None:
    """Run the credentials command the arguments ask for; None when there is none."""
    if args.username is not None and not args.credentials_add:
        raise CliError("--username goes with --credentials-add NAME")
    if args.credentials_list:
        print_json(client.credentials())
    elif args.credentials_remove:
        client.remove_credentials(args.credentials_remove, user=_who("--credentials-remove"))
        print(f"Credentials {args.credentials_remove} removed from namespace "
              f"{client.namespace}")
    elif args.credentials_add:
        if args.username is None:
            raise CliError(f"--credentials-add {args.credentials_add} needs --username USER "
                           "(--username '' for none)")
        from iop.connectors.credentials import check_name

        check_name(args.credentials_add)  # a bad name is said before the password prompt
        saved = client.save_credentials(args.credentials_add, args.username,
                                        _password(args.credentials_add),
                                        user=_who("--credentials-add"))
        print(f"Credentials {saved['name']} saved in namespace {client.namespace} (user name "
              f"{saved['username']!r})")
    else:
        return None
    return 0
