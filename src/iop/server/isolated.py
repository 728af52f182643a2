"""Calls that import user code: the server's half, and the contained child's half.

A long-running, multi-namespace server must not import user modules itself, and the code a
developer uploads must not reach what the server can reach. So ``migrate``, ``test``,
``connections``, ``start``/``restart`` (which check the production's classes before the
supervisor is spawned), ``configuration``/``save_item`` and an edited ``resubmit`` are split:
the server (``call``) opens the namespace's store, hands a snapshot of its configuration
(iop.server.code_snapshot) to a child run contained (iop.server.containment) as
``python -m iop.server.isolated``, and applies what the child answers - checked - itself.
The child has no store: it imports the code and returns plain JSON. Whatever user code
prints goes to the child's stderr.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
from collections.abc import Callable
from typing import Any

from iop.engine.errors import EngineError, NotRunning, UnknownItem
from iop.errors import BodyRefused
from iop.server import code_snapshot, containment
from iop.server.code_stage import CodeStage
from iop.server.uploads import projects_root
from iop.store.base import Store

CALLS = ("migrate", "test", "connections", "start", "restart", "configuration", "save_item",
         "resubmit", "message_forms", "edit_production")
CLASS_CHECK_SECONDS = 10.0


class IsolatedError(EngineError):
    """What the child refused; ``status`` is the HTTP status its own error meant there."""

    def __init__(self, message: str, status: Any = 400) -> None:
        super().__init__(message)
        self.status = status if isinstance(status, int) and 400 <= status <= 599 else 400


# ------------------------------------------------------------------ server side
def call(namespace: str, method: str, seconds: float, /, **kwargs: Any) -> Any:
    """Run ``method`` of the namespace with its user code contained; its result or error."""
    from iop.store import open_store

    if method not in CALLS:
        raise ValueError(f"{method} is not an isolated call")
    store = open_store(namespace, initialize=False)
    try:
        return _SERVER_HALVES[method](store, time.monotonic() + max(1.0, seconds), **kwargs)
    finally:
        store.close()


def contained(store: Store, method: str, deadline: float, paths: dict[str, str] | None = None,
              **kwargs: Any) -> tuple[Any, list[Any]]:
    """Run the child's ``method`` on a snapshot of ``store``: (result, recorded writes), with
    staged paths mapped back. ``paths`` are keyword arguments naming files to stage."""
    identity = containment.code_identity()
    stage = CodeStage(identity, projects_root(store.namespace))
    try:
        for key, value in (paths or {}).items():
            kwargs[key] = stage.path(value)
        request = {"method": method, "kwargs": kwargs,
                   "snapshot": code_snapshot.take(store, stage)}
        stage.hand_over()
        from iop.store import iop_home

        outcome = containment.run(request, deadline - time.monotonic(), identity=identity,
                                  workdir=stage.workdir,
                                  hidden=containment.hidden_folders(iop_home()))
        if outcome.timed_out:
            raise EngineError(f"{method} did not finish within "
                              f"{max(1.0, deadline - time.monotonic() + 1):.0f} s: the user "
                              "code was stopped")
        try:
            answer = json.loads(outcome.answer) if outcome.answer else None
            if isinstance(answer, dict) and "error" not in answer:
                return stage.real(answer.get("result")), stage.real(answer.get("writes") or [])
        except (ValueError, RecursionError):  # cut at the size limit, or nested too deep
            answer = None
        if not isinstance(answer, dict):
            raise EngineError(f"{method} failed ({_ended(outcome.returncode)})"
                              + (f": {outcome.error_line}" if outcome.error_line else ""))
        text = str(stage.real(answer["error"]))
        if answer.get("refused") == "body":  # the child's BodyRefused, answered as one here
            raise BodyRefused(text)
        raise IsolatedError(text, answer.get("status"))
    finally:
        stage.remove()


def _ended(returncode: int | None) -> str:
    import signal

    if returncode is not None and returncode < 0:
        name = signal.Signals(-returncode).name
        why = {"SIGXCPU": "CPU time limit reached", "SIGKILL": "killed",
               "SIGXFSZ": "file size limit reached", "SIGSEGV": "crashed"}.get(name, name)
        return f"the user code's process ended: {why}"
    return f"exit code {returncode}"


def _migrate(store: Store, deadline: float, path: str, strict: bool = False,
             dry_run: bool = False) -> Any:
    lines, writes = contained(store, "migrate", deadline, paths={"path": path}, strict=strict,
                              dry_run=dry_run)
    try:
        code_snapshot.apply(store, writes, code_snapshot.MIGRATION_WRITES,
                            projects_root(store.namespace))
    except Exception as exc:
        raise EngineError(f"migration of {path} failed while writing ({exc}); the previous "
                          "definitions were restored") from exc
    return lines


def _read_only(method: str) -> Any:
    def half(store: Store, deadline: float, **kwargs: Any) -> Any:
        return contained(store, method, deadline, **kwargs)[0]

    return half


def _save_item(store: Store, deadline: float, production: str, item: str,
               changes: dict[str, Any]) -> Any:
    result, writes = contained(store, "save_item", deadline, production=production, item=item,
                               changes=changes)
    code_snapshot.apply(store, writes, ("save_production",), projects_root(store.namespace),
                        production=production)
    return result


def _edit_production(store: Store, deadline: float, production: str,
                     edit: dict[str, Any]) -> Any:
    """The child checks the edit (it imports the classes); the server applies the desired
    definition it answers through the change plan, with its backup."""
    from iop.client.production_edit import apply_edit

    checked, _ = contained(store, "check_edit", deadline, production=production, edit=edit)
    if not isinstance(checked, dict) or not isinstance(checked.get("desired"), dict):
        raise EngineError("the production edit's check answered nothing usable")
    return apply_edit(store, production, checked)


def _check_classes(store: Store, deadline: float, production: str) -> None:
    seconds = min(CLASS_CHECK_SECONDS, (deadline - time.monotonic()) / 2)
    contained(store, "check_classes", time.monotonic() + seconds, production=production)


def _start(store: Store, deadline: float, production: str | None = None) -> Any:
    from iop.client.local import LocalClient

    client = LocalClient(store=store, load_classes=False)
    name = client._production(production)
    _check_classes(store, deadline, name)
    # The server spawns the supervisor itself: it must outlive the contained child.
    return client.start(name)


def _restart(store: Store, deadline: float, stop_timeout: float | None = None) -> Any:
    from iop.client.local import LocalClient

    client = LocalClient(store=store, load_classes=False)
    current = client.status()
    running = current["production"] if current["status"] != "stopped" else ""
    name = running or client.get_default()
    if name:
        _check_classes(store, deadline, name)
    return client.restart(stop_timeout)


def _test(store: Store, deadline: float, target: str, classname: str | None = None,
          body: Any = None, restart: bool = False, timeout: float = 25.0,
          on_sent: Callable[[int], None] | None = None) -> Any:
    from iop.client.local import TEST_BODY_LIMIT, TESTING_SOURCE, refuse_untestable
    from iop.engine import control
    from iop.engine.config import parse_production
    from iop.engine.host_runtime import HostRuntime

    production, status = control.current_status(store)
    if status != "running":
        raise NotRunning(f"no production is running in namespace {store.namespace}; "
                         "start one before testing (iop -s NAME -D)")
    config = parse_production(store.get_production(production) or {"Production": {}})
    item = config.item(target) if target else None
    if item is None:
        raise UnknownItem(f"item {target!r} is not in production {production}")
    started = time.monotonic()
    built, _ = contained(store, "build_message", min(deadline, started + CLASS_CHECK_SECONDS),
                         classname=classname, body=body, target_class=item.class_name)
    refuse_untestable(item, production, built.get("target_kind"))
    if restart:
        control.update(store, timeout / 2)
    remaining = max(1.0, min(timeout - (time.monotonic() - started),
                             deadline - time.monotonic()))
    runtime = HostRuntime(store, TESTING_SOURCE, f"test:{time.time():.0f}")
    response = runtime.request_encoded(target, built["class_name"], built["text"], remaining,
                                       typed=_typed_row(built.get("typed")), on_sent=on_sent)
    if response is None:
        return {}
    class_name, text = response
    text = text or ""
    return {"classname": class_name, "body": text[:TEST_BODY_LIMIT],
            "truncated": len(text) > TEST_BODY_LIMIT}


_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
_TYPED_SQL = ("INTEGER", "REAL", "TEXT")


def _typed_row(row: Any) -> tuple[str, dict[str, str], dict[str, Any]] | None:
    """A PersistentMessage's typed-table row from the child, checked: its names become SQL
    identifiers in the server's store."""
    if row is None:
        return None
    table, types, values = row if isinstance(row, list) and len(row) == 3 else (None, {}, {})
    if not (isinstance(table, str) and table.startswith("msg_") and _IDENTIFIER.match(table)
            and isinstance(types, dict) and isinstance(values, dict)
            and set(values) <= set(types) and "body_id" not in types
            and all(_IDENTIFIER.match(c) and t in _TYPED_SQL for c, t in types.items())
            and all(v is None or isinstance(v, (int, float, str)) for v in values.values())):
        raise EngineError("the test message's typed row from the contained child is malformed")
    return table, types, values


def _resubmit(store: Store, deadline: float, ids: list[int], body: str | None = None) -> Any:
    from iop.engine import suspended

    if body is None:
        done: Any = suspended.resubmit(store, ids)
    else:
        if len(ids) != 1:
            raise EngineError("an edited body resubmits exactly one message")
        header = store.get_header(ids[0])
        if header is not None and header.body_class:
            contained(store, "check_body", deadline, body_class=header.body_class, body=body)
        done = suspended.resubmit_edited(store, ids[0], body, check_body=False)
    store.flush_acknowledged()  # durable before the API answers 2xx
    return done


_SERVER_HALVES = {
    "migrate": _migrate, "connections": _read_only("connections"),
    "configuration": _read_only("configuration"), "save_item": _save_item,
    "edit_production": _edit_production,
    "message_forms": _read_only("message_forms"),
    "start": _start, "restart": _restart, "test": _test, "resubmit": _resubmit,
}


# ------------------------------------------------------------------ child side
def _child_call(store: Any, method: str, kwargs: dict[str, Any]) -> Any:
    from iop.client.local import LocalClient

    if method == "migrate":
        from iop.migration.loader import migrate_file

        return migrate_file(store, **kwargs)
    if method == "connections":
        return LocalClient(store=store).connections(**kwargs)
    if method == "configuration":
        from iop.client.item_config import configuration

        return configuration(store, **kwargs)
    if method == "message_forms":
        from iop.client.message_forms import message_forms

        return message_forms(store, **kwargs)
    if method == "save_item":
        from iop.client.item_config import save_item

        return save_item(store, running=store.status, **kwargs)
    if method == "check_edit":
        from iop.client.production_edit import check_edit

        return check_edit(store, **kwargs)
    if method == "check_classes":
        from iop.engine.supervisor import Supervisor

        Supervisor(store, kwargs["production"]).load()
        return None
    if method == "build_message":
        from iop.client.local import build_message
        from iop.engine import registry
        from iop.messages import codec

        registry.add_classpaths(store.list_classpaths())
        registry.use_message_bindings(store)
        message = build_message(kwargs["classname"], kwargs["body"])
        class_name, text = codec.encode(message)
        # The target's kind, which only importing its class tells (a service is refused).
        target_kind = LocalClient(store=store)._kind(kwargs["target_class"])
        return {"class_name": class_name, "text": text, "typed": codec.typed_row_of(message),
                "target_kind": target_kind}
    if method == "check_body":
        return _check_body(store, kwargs["body_class"], kwargs["body"])
    raise EngineError(f"{method} is not a call of the contained child")


def _check_body(store: Any, body_class: str, body: str) -> None:
    from iop.engine import registry
    from iop.engine.suspended import check_body_fits
    from iop.messages import json_body

    registry.add_classpaths(store.list_classpaths())
    registry.use_message_bindings(store)
    try:
        data = json_body.parse_json(body)
    except json_body.BodyError:
        return  # resubmit_edited names the JSON mistake itself
    check_body_fits(body_class, json.dumps(data, separators=(",", ":"), ensure_ascii=False))


def main() -> int:
    """Child entry point: one JSON request on stdin, one JSON answer on the original stdout."""
    # Keep the real stdout for the answer; user code that prints writes to stderr instead.
    answer_fd = os.dup(1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    store = None
    try:
        request = json.loads(sys.stdin.read())
        store = code_snapshot.SnapshotStore(request["snapshot"])
        answer: dict[str, Any] = {"result": _child_call(store, request["method"],
                                                         request["kwargs"]),
                                  "writes": store.writes}
        code = 0
    except BaseException as exc:  # the server turns this into one JSON error line
        from iop.server.http import status_for

        text = str(exc).strip().splitlines()
        answer = {"error": text[0] if text else type(exc).__name__, "status": status_for(exc)}
        if isinstance(exc, BodyRefused):
            answer["refused"] = "body"
        code = 1
    with os.fdopen(answer_fd, "w", encoding="utf-8") as out:
        out.write(json.dumps(answer) + "\n")
    return code


if __name__ == "__main__":
    sys.exit(main())
