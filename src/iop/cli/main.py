"""`iop` entry point: parse flags, run one command through a Client, print JSON or one error line.

Every command goes through the ``Client`` interface, so it works the same in local mode (on
this host's store) and in remote mode (against a server's /api/iop; see ``cli.mode``).
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
from typing import Any, NoReturn

from iop.cli import (
    credentials_commands,
    operations_commands,
    production_commands,
    server_commands,
    store_commands,
)
from iop.cli.arguments import BadBodyArgument, print_json, read_body
from iop.cli.mode import select_client
from iop.cli.parser import build_parser
from iop.client.base import Client
from iop.client.event_log import follow_log, format_log_line
from iop.engine import control
from iop.engine.exiting import exiting
from iop.errors import BodyRefused, CliError, EngineError, IopError, RemoteError, StoreUnavailable

# IoP's main exits 1 for the errors it reports itself and 0 on success; argparse's own
# usage errors keep exit code 2, and so does a message body that cannot be read or decoded
# or that its message class refuses (locally, or as the server's answer in remote mode).
EXIT_USER_ERROR = 1
EXIT_BAD_BODY = 2

# Running states: a stop, kill or restart has something to act on.
_ACTIVE = ("running", "troubled")


def _restore_interrupts() -> None:
    # A command started in the background by a shell script inherits SIGINT (and sometimes
    # SIGTERM) ignored; `iop -L`, a foreground `iop -s` and `iop --serve` must still end on
    # Ctrl+C or a stop signal, so the defaults come back before anything runs.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    if signal.getsignal(signal.SIGTERM) == signal.SIG_IGN:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


def main(argv: list[str] | None = None) -> NoReturn:
    """Run one command line and exit with its code, as IoP's ``main`` does (SystemExit)."""
    code = _exit_code(argv)
    if argv is None:  # this process's own command line: it ends now
        exiting()
    sys.exit(code)


def _exit_code(argv: list[str] | None) -> int:
    _restore_interrupts()
    parser = build_parser()
    args = parser.parse_args(argv)
    _refuse_two_commands(parser, args)
    try:
        return run(parser, args)
    except BadBodyArgument as exc:  # a -B value that cannot be decoded: a usage mistake
        parser.error(str(exc))
    except BodyRefused as exc:  # the body reached its class, which refused it: one line, 2
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_BODY
    except IopError as exc:  # every error of ours is one line; anything else is a bug
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:  # Ctrl+C ends `iop -L`, a foreground `iop -s`, `iop --serve`
        return 130
    except BrokenPipeError:  # `iop ... | head` closed the pipe: the reader has what it wanted
        return 0


# IoP's commands are mutually exclusive (one argparse group); --status with --messages is
# the engine's message filter, so it only counts as a command without --messages.
_EXCLUSIVE = ("default", "list", "start", "stop", "kill", "restart", "status", "migrate",
              "export", "version", "log", "queue", "init", "bindings", "unbind", "test",
              "update", "plan", "review_plan", "apply_plan", "verify_plan", "rollback_backup",
              "credentials_add", "credentials_list", "credentials_remove")


def _refuse_two_commands(parser: argparse.ArgumentParser, args: Any) -> None:
    if isinstance(args.status, str) and not args.messages:
        # -x takes a value only as the --messages status filter; alone it takes none (IoP).
        parser.error(f"unrecognized arguments: {args.status}")
    given = [dest for dest in _EXCLUSIVE if getattr(args, dest, None) not in (None, False)
             and not (dest == "status" and args.messages)]
    if len(given) > 1:
        options = {action.dest: "/".join(action.option_strings) for action in parser._actions}
        parser.error(f"argument {options[given[1]]}: not allowed with argument "
                     f"{options[given[0]]}")


def _help(parser: Any, client: Client) -> int:
    parser.print_help()
    print()
    print(client.describe())
    if client.mode == "remote":
        print(f"Namespace: {client.namespace}")
    try:  # the help screen still shows when the server cannot answer
        default = client.get_default()
    except (EngineError, RemoteError) as exc:
        print(f"warning: cannot read the default production: {exc}", file=sys.stderr)
        default = ""
    print(f"default production: {default or 'Not defined'}")
    return 0


def run(parser: Any, args: Any) -> int:
    if args.version:
        from iop import __version__

        print(__version__)
        return 0
    for commands in (server_commands, store_commands):  # this host's stores, no client
        handled = commands.run(args)
        if handled is not None:
            return handled
    control.note_command_launch()  # one command (not a server): starts and stops count from now
    client = select_client(args)
    try:
        return _run_command(parser, args, client)
    finally:
        # A local client closes its store (the last process out then tidies SQLite's WAL).
        # A remote one is left to the process's exit: after Ctrl+C stopped an HTTP call
        # midway (`iop -L`), closing its connection pool is the one step that could wait.
        if client.mode == "local":
            client.close()


def _run_command(parser: Any, args: Any, client: Client) -> int:
    if args.namespace == "" and not _has_command(args):
        print(client.namespace)  # IoP: `iop -n` alone prints the namespace in use
        return 0
    if args.help:
        return _help(parser, client)
    if args.init is not None:
        if args.init:
            # IoP loads the ObjectScript classes of DIR; the engine has none to load.
            print(f"{args.init}: not used; the engine has no IRIS classes to load, so -i only "
                  f"creates or upgrades the store of namespace {client.namespace}")
        for line in client.initialize():
            print(line)
        return 0
    if args.migrate:
        for line in client.migrate(args.migrate, dry_run=args.dry_run or args.explain,
                                   strict=args.strict_production_validation):
            print(line)
        return 0
    for commands in (production_commands, operations_commands, credentials_commands):
        handled = commands.run(client, args)
        if handled is not None:
            return handled
    if args.default is not None:
        if args.default:
            client.set_default(args.default)
        print(f"default production: {client.get_default() or 'Not defined'}")
        return 0
    if args.list:
        print_json(client.list_productions())
        return 0
    if args.start is not None:
        name = args.start or client.get_default()
        if not name:
            raise CliError("no production given and no default production is set (iop -d NAME)")
        if args.detach:
            client.start(name)
            print(f"Production {name} started")
            return 0
        client.run_foreground(name)
        return 0
    if args.stop or args.kill:
        return _stop(client, kill=args.kill)
    if args.restart:
        production, status = _current(client)
        if status not in _ACTIVE:
            # IRIS's RestartProduction refuses when nothing runs; it never starts one.
            raise CliError(f"no production is running in namespace {client.namespace}; "
                           "start one with iop -s NAME")
        client.restart()
        print(f"Production {production} restarted")
        return 0
    if args.update:
        client.update()
        print("Production updated")
        return 0
    if args.messages:
        return _messages(client, args)
    if args.status:
        answer = client.status()
        production = str(answer.get("production") or "")
        status = str(answer.get("status") or "stopped")
        # Seed 000 shows IRIS's keys, "Production" and "Status"; a store outage adds its own
        # key while it lasts (and the default production is not asked for: the store is out).
        shown: dict[str, Any] = {"Production": production or (
            "" if answer.get("outage") else client.get_default()) or "Not defined",
            "Status": status}
        if answer.get("outage"):
            shown["StoreOutage"] = answer["outage"]
        print_json(shown)
        return 0
    if args.export is not None:
        print_json(client.export(args.export or None))
        return 0
    if args.queue is not None:
        print_json(client.queues(args.queue or None))
        return 0
    if args.jobs:
        print_json({**client.hosts(), "jobs": client.jobs()})
        return 0
    if args.log is not None:
        return _log(client, args.log)
    if args.bindings:
        print_json(client.bindings(unused=args.unused))
        return 0
    if args.unbind is not None:
        if not args.unbind:
            raise CliError("IRIS class name is required.")  # IoP's text
        client.unbind(args.unbind)
        print(f"Removed binding {args.unbind}.")
        return 0
    if args.test is not None:
        return _test(client, args)
    return _help(parser, client)


_PRIMARY = ("default", "start", "export", "migrate", "log", "queue", "init", "unbind", "test",
            "plan", "review_plan", "apply_plan", "verify_plan", "rollback_backup", "purge",
            "resubmit", "discard", "resend", "queue_messages", "abort", "suspend",
            "credentials_add", "credentials_remove")
_PRIMARY_FLAGS = ("list", "stop", "kill", "restart", "status", "update", "messages", "jobs",
                  "bindings", "suspended", "recover", "version", "help", "check_store",
                  "credentials_list")


def _has_command(args: Any) -> bool:
    return (any(getattr(args, name, None) is not None for name in _PRIMARY)
            or any(getattr(args, name, False) for name in _PRIMARY_FLAGS))


def _current(client: Client) -> tuple[str, str]:
    status = client.status()
    return str(status.get("production") or ""), str(status.get("status") or "stopped")


def _stop(client: Client, kill: bool) -> int:
    """-S / -k: name the production acted on, or say that nothing was running."""
    try:
        production, status = _current(client)
    except StoreUnavailable:
        production, status = "", "unknown"  # the stop itself says what it could do
    # Asked even when nothing runs: a start launched just before this command, not recorded
    # yet, learns of the stop and gives up.
    if kill:
        client.kill()
    else:
        note = client.stop().get("note")
        if note:  # the store is out: what was done instead, said as it is
            print(f"Production {production or '?'} is stopping: {note}")
            return 0
    if status not in _ACTIVE:
        print(f"No production is running in namespace {client.namespace}; nothing to "
              f"{'kill' if kill else 'stop'}")
    else:
        print(f"Production {production} {'killed' if kill else 'stopped'}")
    return 0


def _messages(client: Client, args: Any) -> int:
    status = args.status if isinstance(args.status, str) else None
    filters = {"session_id": args.session, "status": status, "target": args.target,
               "source": args.source}
    if args.count:
        print_json(client.message_counts(**filters))
        return 0
    print_json(client.messages(**filters, limit=args.limit))
    return 0


def _log(client: Client, value: str) -> int:
    production = client.status().get("production", "")
    if value:
        try:
            top = int(value)
        except ValueError as exc:
            raise CliError(f"-L takes a number of entries, got {value!r}") from exc
        # The newest N, printed in time order (ids order entries logged in the same instant).
        newest = client.log(top=top)
        for entry in sorted(newest, key=lambda e: (str(e.get("time_logged", "")), int(e["id"]))):
            print(format_log_line(entry, production))
        return 0
    return follow_log(client, production)


def _test(client: Client, args: Any) -> int:
    body = read_body(args.body)
    result = client.test(args.test, args.classname, body, restart=True)
    if not result:
        print("{}")
        return 0
    print(f"classname: {result.get('classname')}")
    text = result.get("body")
    try:
        print("body:")
        print(json.dumps(json.loads(text or ""), indent=4, ensure_ascii=False))
    except (TypeError, ValueError):
        print(text)
    if result.get("truncated"):
        print("(response body was truncated)")
    return 0


if __name__ == "__main__":
    main()
