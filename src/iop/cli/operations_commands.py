"""Operator commands: suspended messages (list, resubmit, edit and resubmit, discard),
resend of any request, purge and recovery. JSON out, like the seed's other listings."""

from __future__ import annotations

from typing import Any

from iop.cli.arguments import print_json, read_body
from iop.client.base import Client


def run(client: Client, args: Any) -> int | None:
    """Run the operations command the arguments ask for; None when there is none."""
    if args.suspended:
        print_json(client.suspended())
    elif args.resubmit:
        print_json(client.resubmit(args.resubmit, read_body(args.body, json_only=True)))
    elif args.discard:
        print_json(client.discard(args.discard))
    elif args.resend:
        print_json(client.resend(args.resend, new_session=args.new_session))
    elif args.purge is not None:
        print_json(client.purge(args.purge, bodies=args.bodies,
                                include_incomplete=args.include_incomplete))
    elif args.recover:
        print_json(client.recover())
    else:
        return None
    return 0
