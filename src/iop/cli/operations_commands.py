"""Operator commands: suspended messages (list, resubmit, edit and resubmit, discard),
resend of any request, an item's queue (list, abort, suspend), purge and recovery. JSON
out, like the seed's other listings."""

from __future__ import annotations

import getpass
import os
import sys
from typing import Any

from iop.cli.arguments import print_json, read_body
from iop.client.base import Client
from iop.errors import CliError


def _operator() -> str:
    """Who acts, for the event log of a local store: this process's OS user (a server
    records its authenticated account instead)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a bare container)
        return f"uid {os.getuid()}"


def _queue_action(client: Client, args: Any) -> None:
    action = "abort" if args.abort else "suspend"
    if not args.target:
        raise CliError(f"--{action} needs --target ITEM: the item whose queue holds the "
                       "messages")
    ids = args.abort or args.suspend
    print_json(client.queue_action(args.target, ids, action, user=_operator()))


def _resubmit(client: Client, args: Any) -> None:
    """Resubmit (JSON out as before) and say on stderr where each response will go: to the
    business process that waits for it, or why it cannot reach its caller."""
    ids = list(args.resubmit)
    routes = {int(m["id"]): m.get("response_to") for m in client.suspended()
              if int(m["id"]) in ids}
    print_json(client.resubmit(ids, read_body(args.body, json_only=True)))
    for message_id in ids:
        if routes.get(message_id):
            print(f"message {message_id}: {routes[message_id]}", file=sys.stderr)


def run(client: Client, args: Any) -> int | None:
    """Run the operations command the arguments ask for; None when there is none."""
    if args.suspended:
        print_json(client.suspended())
    elif args.resubmit:
        _resubmit(client, args)
    elif args.discard:
        print_json(client.discard(args.discard))
    elif args.resend:
        print_json(client.resend(args.resend, new_session=args.new_session))
    elif args.queue_messages:
        print_json(client.queue_messages(args.queue_messages, limit=args.limit))
    elif args.abort or args.suspend:
        _queue_action(client, args)
    elif args.purge is not None:
        print_json(client.purge(args.purge, bodies=args.bodies,
                                include_incomplete=args.include_incomplete))
    elif args.recover:
        print_json(client.recover())
    else:
        return None
    return 0
