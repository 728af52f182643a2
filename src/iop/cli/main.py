"""`iop` entry point: parse flags, run one command through a Client, print JSON or one error line."""

from __future__ import annotations

import json
import signal
import sys
import threading
import time
from typing import Any

from iop.cli import production_commands
from iop.cli.parser import build_parser
from iop.client.local import LocalClient
from iop.engine.director import format_log_line
from iop.engine.errors import EngineError
from iop.messages.codec import MessageError
from iop.production.errors import ProductionError
from iop.store.errors import StoreError

EXIT_USER_ERROR = 2


class CliError(Exception):
    """A user mistake on the command line."""


def _print_json(data: Any) -> None:
    print(json.dumps(data, indent=4, ensure_ascii=False))


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return run(parser, args)
    except (EngineError, StoreError, MessageError, CliError, ProductionError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0


def run(parser: Any, args: Any) -> int:
    if args.version:
        from iop import __version__

        print(__version__)
        return 0
    client = LocalClient(args.namespace)
    if args.help:
        parser.print_help()
        print()
        print(client.describe())
        print(f"default production: {client.get_default() or 'Not defined'}")
        return 0
    if args.init is not None:
        version = client.store.initialize()
        print(f"namespace {client.namespace} ready (schema version {version}) at {client.store.location}")
        return 0
    if args.migrate:
        for line in client.migrate(args.migrate, dry_run=args.dry_run or args.explain,
                                   strict=args.strict_production_validation):
            print(line)
        return 0
    handled = production_commands.run(client, args)
    if handled is not None:
        return handled
    if args.default is not None:
        if args.default:
            client.set_default(args.default)
        print(f"default production: {client.get_default() or 'Not defined'}")
        return 0
    if args.list:
        _print_json(client.list_productions())
        return 0
    if args.start is not None:
        name = args.start or client.get_default()
        if not name:
            raise CliError("no production given and no default production is set (iop -d NAME)")
        if args.detach:
            client.start(name)
            print(f"Production {name} started")
            return 0
        return _start_foreground(client, name)
    if args.stop:
        client.stop()
        print(f"Production {client.get_default() or ''} stopped".replace("  ", " "))
        return 0
    if args.kill:
        client.kill()
        print("Production killed")
        return 0
    if args.restart:
        client.restart()
        print("Production restarted")
        return 0
    if args.update:
        client.update()
        print("Production updated")
        return 0
    if args.messages:
        return _messages(client, args)
    if args.status:
        status = client.status()
        if not status.get("production"):
            status["production"] = client.get_default() or "Not defined"
        _print_json(status)
        return 0
    if args.export is not None:
        _print_json(client.export(args.export or None))
        return 0
    if args.queue is not None:
        _print_json(client.queues(args.queue or None))
        return 0
    if args.log is not None:
        return _log(client, args.log)
    if args.bindings:
        from iop.migration.bindings import list_bindings

        _print_json(list_bindings(unused_only=args.unused, store=client.store))
        return 0
    if args.unbind:
        from iop.migration.bindings import unregister_component

        unregister_component(args.unbind, store=client.store)
        print(f"Removed binding {args.unbind}.")
        return 0
    if args.test is not None:
        return _test(client, args)
    parser.print_help()
    print()
    print(client.describe())
    print(f"default production: {client.get_default() or 'Not defined'}")
    return 0


def _messages(client: LocalClient, args: Any) -> int:
    if args.count:
        _print_json(client.message_counts())
        return 0
    status = args.status if isinstance(args.status, str) else None
    _print_json(client.messages(session_id=args.session, status=status, target=args.target,
                                source=args.source, limit=args.limit))
    return 0


def _log(client: LocalClient, value: str) -> int:
    production = client.status().get("production", "")
    if value:
        try:
            top = int(value)
        except ValueError as exc:
            raise CliError(f"-L takes a number of entries, got {value!r}") from exc
        for entry in reversed(client.log(top=top)):
            print(format_log_line(entry, production))
        return 0
    last = 0
    for entry in reversed(client.log(top=10)):
        print(format_log_line(entry, production), flush=True)
        last = max(last, entry["id"])
    try:
        while True:
            for entry in client.log(since_id=last):
                print(format_log_line(entry, production), flush=True)
                last = max(last, entry["id"])
            time.sleep(0.25)
    except KeyboardInterrupt:
        return 0


def _test(client: LocalClient, args: Any) -> int:
    body = args.body
    if body and body.startswith("@"):
        path = body[1:]
        try:
            with open(path, encoding="utf-8") as fh:
                body = fh.read()
        except OSError as exc:
            raise CliError(f"cannot read test body file {path}: {exc.strerror}") from exc
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


def _start_foreground(client: LocalClient, name: str) -> int:
    """Run the supervisor in this process, streaming the event log until Ctrl+C."""
    from iop.engine import control
    from iop.engine.supervisor import Supervisor

    control.ensure_startable(client.store, name)
    supervisor = Supervisor(client.store, name)
    signal.signal(signal.SIGINT, supervisor.request_stop)
    signal.signal(signal.SIGTERM, supervisor.request_stop)
    top = client.store.log_top(1)
    tail = _Tail(client, top[0].id if top else 0)
    tail.production = name
    tail.start()
    try:
        supervisor.start()
        supervisor.run()
    finally:
        tail.finish()
    return 0


class _Tail(threading.Thread):
    """Prints event log entries as they are written."""

    def __init__(self, client: LocalClient, last: int) -> None:
        super().__init__(daemon=True)
        self.client = client
        self.last = last
        self.production = ""
        self._done = threading.Event()

    def run(self) -> None:
        store = self.client.store
        while True:
            finished = self._done.is_set()
            for entry in store.log_since(self.last):
                self.last = entry.id
                print(format_log_line(entry.to_dict(), self.production), flush=True)
            if finished:
                return
            self._done.wait(0.2)

    def finish(self) -> None:
        self._done.set()
        self.join(5)


if __name__ == "__main__":
    sys.exit(main())
