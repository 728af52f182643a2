"""LocalClient: every operation performed directly on this host's store."""

from __future__ import annotations

import dataclasses
import os
import signal
import time
from typing import Any

from pydantic import BaseModel

from iop.client import health
from iop.client.event_log import StoreTail
from iop.client.operator import OperatorViews
from iop.components import kinds
from iop.connectors import credentials as credentials_store
from iop.engine import control, maintenance, registry
from iop.engine import suspended as suspended_messages
from iop.engine.config import parse_production
from iop.engine.errors import EngineError, NotRunning, UnknownItem, UnknownProduction
from iop.engine.host_runtime import HostRuntime
from iop.engine.host_status import outage_view, read_host_statuses
from iop.engine.supervisor import Supervisor
from iop.errors import BodyRefused, StoreUnavailable
from iop.messages import codec, json_body
from iop.messages.builtin import Request
from iop.names import PRODUCTION, check_name
from iop.production.errors import ProductionError
from iop.store import open_store
from iop.store import records as r
from iop.store.base import Store

TESTING_SOURCE = "EnsLib.Testing.Service"
TEST_BODY_LIMIT = 1_000_000
TEST_TIMEOUT_SECONDS = 25.0


class LocalClient(OperatorViews):
    """Client on the local store of one namespace."""

    mode = "local"

    def __init__(self, namespace: str | None = None, store: Store | None = None, *,
                 load_classes: bool = True) -> None:
        self._own_store = store is None  # closed by close(); a given one stays its owner's
        if store is None:
            try:
                store = open_store(namespace)
            except StoreUnavailable:
                # The store is out: commands that can answer without it (status, stop) still
                # run; the others meet the outage at their first store call.
                store = open_store(namespace, initialize=False)
        self.store = store
        self.namespace = self.store.namespace
        # False in a process that must not import user code (the server, after a contained
        # child checked the classes): start and restart then skip loading them here.
        self.load_classes = load_classes

    def close(self) -> None:
        if self._own_store:
            self.store.close()

    def describe(self) -> str:
        return f"Mode: LOCAL (namespace {self.namespace}, store {self.store.location})"

    # ------------------------------------------------------------ productions
    def status(self) -> dict[str, Any]:
        """The production and its state; while a store outage lasts, also ``outage`` (since,
        seconds, reason, hosts), from the supervisors' status files on this machine, which
        also answer when the store itself cannot."""
        try:
            production, status = control.current_status(self.store)
        except StoreUnavailable as exc:
            return self._status_in_outage(exc)
        answer: dict[str, Any] = {"production": production, "status": status}
        outage = outage_view(read_host_statuses(self.store.namespace))
        if outage is not None:
            answer["outage"] = outage
        return answer

    def _status_in_outage(self, exc: StoreUnavailable) -> dict[str, Any]:
        found = read_host_statuses(self.store.namespace)
        if not found:
            raise exc  # nothing known here without the store: its one-line error
        outage = outage_view(found) or {
            "since": r.format_time(time.time()), "seconds": 0.0, "reason": str(exc),
            "hosts": []}
        return {"production": found[0].production, "status": found[0].state, "outage": outage}

    def list_productions(self) -> dict[str, dict[str, Any]]:
        running, status = control.current_status(self.store)
        out = {}
        for p in self.store.list_productions():
            state = status if p["name"] == running else "stopped"
            out[p["name"]] = {
                "Status": state.capitalize(),
                "LastStartTime": r.format_time(p["last_start"]),
                "LastStopTime": r.format_time(p["last_stop"]),
                "AutoStart": 1 if p["auto_start"] else 0,
            }
        return out

    def get_default(self) -> str:
        return self.store.get_meta("default_production")

    def set_default(self, production: str) -> str:
        if production:  # empty clears the default
            check_name(PRODUCTION, production, ProductionError)
        self.store.set_meta("default_production", production)
        return production

    def _production(self, production: str | None) -> str:
        name = production or self.get_default()
        if not name or name == "Not defined":
            raise UnknownProduction("no production given and no default production is set (iop -d NAME)")
        return name

    def start(self, production: str | None = None) -> dict[str, str]:
        name = self._production(production)
        control.start_detached(self.store, name, self.load_classes)
        return {"status": "started", "production": name}

    def run_foreground(self, production: str) -> None:
        """Run the supervisor in this process, printing the event log, until SIGINT/SIGTERM."""
        before = control.begin_start(self.store, production)
        supervisor = Supervisor(self.store, production)
        signal.signal(signal.SIGINT, supervisor.request_stop)
        signal.signal(signal.SIGTERM, supervisor.request_stop)
        top = self.store.log_top(1)
        tail = StoreTail(self.store, top[0].id if top else 0, production)
        tail.start()
        try:
            try:
                supervisor.start()
            except BaseException:
                control.abandon_start(self.store, (os.getpid(),), before)
                raise
            supervisor.run()
        finally:
            tail.finish()

    def stop(self, timeout: float | None = None) -> dict[str, str]:
        """``{"status": "stopped"}``; during a store outage ``{"status": "stopping", "note":
        ...}``, the note saying what was done (control.stop_in_outage)."""
        note = control.stop(self.store, timeout)
        return {"status": "stopping", "note": note} if note else {"status": "stopped"}

    def kill(self) -> dict[str, str]:
        control.kill(self.store)
        return {"status": "killed"}

    def restart(self, stop_timeout: float | None = None) -> dict[str, str]:
        control.restart(self.store, self.get_default(), stop_timeout, self.load_classes)
        return {"status": "restarted"}

    def update(self, timeout: float = control.WAIT_SECONDS) -> dict[str, str]:
        control.update(self.store, timeout)
        return {"status": "updated"}

    def export(self, production: str | None = None) -> dict[str, Any]:
        name = self._production(production)
        definition = self.store.get_production(name)
        if definition is None:
            raise UnknownProduction(f"production {name} does not exist in namespace {self.namespace}")
        return definition

    def hosts(self) -> dict[str, Any]:
        """The production's status and each host's supervisor (engine extension; several
        hosts on PostgreSQL). ``jobs()`` lists their jobs."""
        from iop.engine.cluster import describe_hosts

        return describe_hosts(self.store)

    def queues(self, production: str | None = None) -> dict[str, Any]:
        name = self._production(production)
        definition = self.store.get_production(name)
        if definition is None:
            raise UnknownProduction(f"production {name} does not exist in namespace {self.namespace}")
        config = parse_production(definition)
        running, status = control.current_status(self.store)
        counts = self.store.queue_counts()
        live = running == name and status in ("running", "troubled", "suspended")
        items = [{
            "item": item.name, "queue_name": item.name, "class_name": item.class_name,
            "exists": live and item.enabled, "count": counts.get(item.name, 0),
        } for item in config.items]
        return {"production": name, "items": items, "warnings": []}

    def connections(self, production: str | None = None) -> dict[str, Any]:
        """Each item's kind and the items it can send to (from its target settings)."""
        from iop.engine.introspect import item_settings

        name = production or self.get_default() or ""
        definition = self.store.get_production(name) if name else None
        if definition is None:
            return {"production": name, "items": [],
                    "warnings": [f"production {name or '(none)'} cannot be loaded"]}
        registry.add_classpaths(self.store.list_classpaths())
        config = parse_production(definition)
        names = {item.name for item in config.items}
        items = []
        for item in config.items:
            info = item_settings(self.store, item)
            targets: set[str] = set()
            for row in info["host"]:
                value = row.get("value") if row.get("value") is not None else row.get("default")
                is_target = row.get("is_target") or row["name"] in ("TargetConfigNames",
                                                                   "TargetConfigName")
                if is_target and isinstance(value, str):
                    targets.update(t.strip() for t in value.split(",") if t.strip() in names)
            entry: dict[str, Any] = {"item": item.name, "class_name": item.class_name,
                                     "kind": info["kind"] or "component",
                                     "connections": sorted(targets),
                                     "warnings": [info["error"]] if info["error"] else []}
            if info["adapter_class_name"]:
                entry["adapter_class_name"] = info["adapter_class_name"]
            binding = self.store.get_binding(item.class_name)
            if binding is not None:
                entry.update(iop=True, module=binding.module, classname=binding.classname,
                             classpaths=binding.classpath)
            items.append(entry)
        return {"production": name, "items": items, "warnings": []}

    def component(self, action: str, item: str) -> None:
        """Enable (start), disable (stop) or restart one item of the live production (else the
        default one, else the last one run); the change persists."""
        production, status = control.current_status(self.store)
        live = status != "stopped" and production
        name = production if live else (self.get_default() or production)
        if not name:
            raise UnknownProduction("no running or default production holds the item")
        steps = {"start": [True], "stop": [False], "restart": [False, True]}[action]
        for enabled in steps:
            control.set_item_enabled(self.store, name, item, enabled)
            if status == "running" and name == production:
                control.update(self.store)

    # ------------------------------------------------------------ bindings, namespace
    def bindings(self, unused: bool = False) -> list[dict[str, Any]]:
        from iop.migration.bindings import list_bindings

        return list_bindings(unused_only=unused, store=self.store)

    def unbind(self, class_name: str) -> None:
        from iop.migration.bindings import unregister_component

        unregister_component(class_name, store=self.store)

    def initialize(self) -> list[str]:
        """Create or upgrade the namespace's store; the lines to print."""
        version = self.store.initialize()
        return [f"namespace {self.namespace} ready (schema version {version}) at "
                f"{self.store.location}"]

    # ------------------------------------------------------------ credentials
    def credentials(self) -> list[dict[str, Any]]:
        """The namespace's credentials: name, user name, last change; never a password."""
        return credentials_store.list_credentials(self.store)

    def save_credentials(self, name: str, username: str, password: str,
                         user: str = "") -> dict[str, Any]:
        """Add credentials or replace their user name and password (sealed with the key
        outside the store); the event log says who did it, never the password."""
        saved = credentials_store.save_credentials(self.store, name, username, password)
        self._credentials_event(f"credentials {saved['name']} saved (user name "
                                f"{saved['username']!r})", user)
        return saved

    def remove_credentials(self, name: str, user: str = "") -> dict[str, Any]:
        removed = credentials_store.remove_credentials(self.store, name)
        self._credentials_event(f"credentials {name} removed", user)
        return removed

    def _credentials_event(self, text: str, user: str) -> None:
        self.store.log([r.LogEntry(type="info", text=f"{text} by {user or 'iop'}",
                                   source_class="iop.connectors.credentials")])

    # ------------------------------------------------------------ event log
    def log(self, top: int | None = None, since_id: int | None = None,
            limit: int | None = None) -> list[dict[str, Any]]:
        """The newest ``top`` entries, or the entries after ``since_id`` (at most ``limit``)."""
        if since_id is not None:
            return [e.to_dict() for e in self.store.log_since(since_id, limit)]
        return [e.to_dict() for e in self.store.log_top(10 if top is None else top)]

    # ------------------------------------------------------------ testing
    def test(self, target: str, classname: str | None = None, body: Any = None,
             restart: bool = False, timeout: float = TEST_TIMEOUT_SECONDS) -> dict[str, Any]:
        """Send one message to ``target`` and wait for its answer. ``restart`` first makes
        the running production pick up changed code or settings (iop -u), so a test after a
        re-migration runs the new code."""
        started = time.monotonic()
        self._check_testable(target)
        registry.use_message_bindings(self.store)
        request = build_message(classname, body)
        if restart:
            control.update(self.store, timeout / 2)
        response = self.test_message(target, request,
                                     max(1.0, timeout - (time.monotonic() - started)))
        if response is None:
            return {}
        class_name, text = codec.encode(response)
        truncated = len(text) > TEST_BODY_LIMIT
        return {"classname": class_name, "body": text[:TEST_BODY_LIMIT], "truncated": truncated}

    def test_message(self, target: str, request: Any,
                     timeout: float = TEST_TIMEOUT_SECONDS) -> Any:
        """Send the message object ``request`` to ``target`` of the running production and
        return the response object; fails within ``timeout`` seconds."""
        self._check_testable(target)
        runtime = HostRuntime(self.store, TESTING_SOURCE, f"test:{time.time():.0f}")
        return runtime.send(None, target, request, sync=True, timeout=timeout)

    def _check_testable(self, target: str) -> None:
        production, status = control.current_status(self.store)
        if status != "running":
            raise NotRunning(f"no production is running in namespace {self.namespace}; "
                             "start one before testing (iop -s NAME -D)")
        config = parse_production(self.store.get_production(production) or {"Production": {}})
        registry.add_classpaths(self.store.list_classpaths())
        if not target:
            raise UnknownItem(f"iop -t needs the item to test: iop -t ITEM [-C CLASS] [-B BODY]; "
                              f"items of production {production}: "
                              f"{', '.join(self._testable(config)) or 'none'}")
        item = config.item(target)
        if item is None:
            raise UnknownItem(f"item {target!r} is not in production {production}")
        refuse_untestable(item, production, self._kind(item.class_name))

    # ------------------------------------------------------------ migration
    def migrate(self, path: str, dry_run: bool = False, strict: bool = False) -> list[str]:
        from iop.migration.loader import migrate_file

        return migrate_file(self.store, path, dry_run=dry_run, strict=strict)

    # ------------------------------------------------------------ messages
    def _kind(self, class_name: str) -> str | None:
        try:
            return kinds.kind_of(registry.resolve(self.store, class_name))
        except Exception:  # an unloadable class is reported when the item runs, not here
            return None

    def _testable(self, config: Any) -> list[str]:
        return [item.name for item in config.items
                if self._kind(item.class_name) != kinds.SERVICE]

    def messages(self, **filters: Any) -> list[dict[str, Any]]:
        return [h.to_dict() for h in self.store.query_headers(**filters)]

    def health(self, production: str | None = None) -> dict[str, Any]:
        """The production monitor's snapshot (iop.client.health): lights, counters, queues,
        the last hour's message rate and open alerts."""
        return health.production_health(self.store, production, self.get_default())

    def acknowledge(self, item: str, user: str = "") -> dict[str, Any]:
        """Acknowledge ``item``'s errors and alerts so far ("" for the production's own)."""
        return health.acknowledge(self.store, item, user)

    def message_counts(self, **filters: Any) -> dict[str, int]:
        """Messages by status among those matching ``filters`` (session_id, status, target,
        source), as ``messages`` takes them."""
        return self.store.count_by_status(**filters)

    # ------------------------------------------------------------ operations
    def suspended(self) -> list[dict[str, Any]]:
        """Suspended messages, oldest first, each with where its response would go if it
        were resubmitted (``response_route``: process, answered or nobody; ``response_to``:
        the same in words)."""
        found = []
        for header in suspended_messages.list_suspended(self.store):
            route, text = suspended_messages.response_route(self.store, header)
            found.append(dict(header.to_dict(), response_route=route, response_to=text))
        return found

    def resubmit(self, ids: list[int], body: str | None = None) -> Any:
        """Queue suspended messages again; with ``body``, send an edited copy of one."""
        if body is not None:
            if len(ids) != 1:
                raise EngineError("an edited body resubmits exactly one message")
            registry.add_classpaths(self.store.list_classpaths())
            done: Any = suspended_messages.resubmit_edited(self.store, ids[0], body)
        else:
            done = suspended_messages.resubmit(self.store, ids)
        self.store.flush_acknowledged()  # durable before the caller is told
        return done

    def discard(self, ids: list[int]) -> list[dict[str, Any]]:
        """Give up on suspended messages (they stay in the trace as discarded)."""
        return suspended_messages.discard(self.store, ids)

    def purge(self, keep_days: float, bodies: bool = False,
              include_incomplete: bool = False, dry_run: bool = False) -> dict[str, Any]:
        """Delete complete sessions and log lines older than ``keep_days`` days (with
        ``dry_run``: count what would go)."""
        return maintenance.purge(self.store, keep_days, bodies=bodies,
                                 include_incomplete=include_incomplete, dry_run=dry_run)

    def recover(self) -> dict[str, str]:
        """Clean up a troubled production (its supervisor died) so it can start again."""
        status = control.recover(self.store)
        return {"production": self.store.get_runtime().production, "status": status}


def refuse_untestable(item: Any, production: str, kind: str | None) -> None:
    """Refuse a test message to an item that would never answer it, before anything is sent
    (LocalClient and the server's test route both check): a disabled item has no job, and a
    business service (``kind``) has no queue, so the request would wait there for ever and keep
    the production "suspended" at every later stop."""
    if not item.enabled:
        raise NotRunning(f"item {item.name} is disabled in production {production}; enable it "
                         "(Production.start_component) before testing")
    if kind == kinds.SERVICE:
        raise EngineError(f"item {item.name} is a business service, which takes its input from "
                          "its adapter, not from test messages; test the process or operation "
                          "it sends to, or the service through Director.create_business_service()")


def _single_text_field(cls: type) -> str | None:
    """The one field of a message class holding a string (Ens.StringRequest's StringValue),
    or None when the class has another shape."""
    if issubclass(cls, BaseModel):
        names = [n for n, f in cls.model_fields.items() if f.annotation is str]
        return names[0] if len(names) == 1 and len(cls.model_fields) == 1 else None
    if not dataclasses.is_dataclass(cls):
        return None
    fields = dataclasses.fields(cls)
    if len(fields) == 1 and fields[0].type in (str, "str"):
        return fields[0].name
    return None


def build_message(classname: str | None, body: Any) -> Any:
    """Make a message of ``classname`` from a JSON string or object (empty → defaults); plain
    text fills a class whose one field is a string, as IRIS's ``_New(body)`` does."""
    if not classname:
        return Request()
    # IoP's CLI marks IRIS classes with "iris." (iop -t X -C iris.Ens.StringRequest).
    cls = codec.resolve_class(classname.removeprefix("iris."))
    text_field = _single_text_field(cls)
    if body is None or body == "":
        data: Any = {}
    elif isinstance(body, str):
        # Text that starts like JSON was meant as JSON: its mistake is reported.
        if text_field is None or json_body.looks_like_json(body):
            data = json_body.parse_json(body, "test body")
        else:
            data = {text_field: json_body.decode_utf8(body, "test body")}
        if isinstance(data, str) and text_field is not None:
            data = {text_field: data}
    else:
        json_body.check_unicode(body, "test body")
        data = body
    try:
        return codec.build(cls, data, strict=True)
    except json_body.BodyError:
        raise
    except (codec.MessageError, TypeError, ValueError) as exc:
        raise BodyRefused(f"test body does not fit {classname}: {exc}") from exc
