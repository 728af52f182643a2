"""/api/iop routes (shared/spec/remote-api.md): each is a function of (client, query, body).

Every route answers within the remote client's 30 s: lifecycle calls get deadlines below
that (a graceful stop that takes longer is forced), and calls that import user code run in
a child process with a timeout (``isolated``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from iop.client.local import LocalClient
from iop.engine.errors import EngineError, UnknownProduction
from iop.messages import json_body
from iop.server import isolated, migrate_remote
from iop.server.http import MAX_ID, BadRequest, query_int

API_VERSION = "1.0.0"
STOP_SECONDS = 20.0  # graceful part of /stop; then forced (kill takes a few seconds more)
RESTART_STOP_SECONDS = 6.0  # /restart must also fit a start (up to ~20 s) in the 30 s
START_SECONDS = 27.0  # the supervisor reports ready within ~20 s (Supervisor.start)
RESTART_SECONDS = 28.0
UPDATE_SECONDS = 25.0
TEST_SECONDS = 25.0
CONNECTIONS_SECONDS = 20.0

MAX_ROWS = 10_000  # most rows one call returns or acts on
MAX_KEEP_DAYS = 100_000  # purge: ~270 years, past any real retention

Handler = Callable[[LocalClient, dict[str, str], dict[str, Any]], Any]


def _truthy(value: Any) -> bool:
    return str(value).strip().lower() in ("1", "true", "yes", "on")


def _production(client: LocalClient, query: dict[str, str]) -> str:
    name = query.get("production") or client.get_default()
    if not name or name == "Not defined":
        raise UnknownProduction("no production given and no default production is set")
    return name


def version(client: LocalClient, query: dict[str, str], body: dict[str, Any]) -> Any:
    from iop.version import __version__

    return {"version": API_VERSION, "description": f"iop-engine {__version__} remote API"}


def status(client: LocalClient, query: dict[str, str], body: dict[str, Any]) -> Any:
    return client.status()


def list_productions(client: LocalClient, query: dict[str, str], body: dict[str, Any]) -> Any:
    return client.list_productions()


def get_default(client: LocalClient, query: dict[str, str], body: dict[str, Any]) -> Any:
    return {"production": client.get_default()}


def _text(body: dict[str, Any], key: str) -> str | None:
    """``body[key]`` when it is a text (None when absent or null); BadRequest otherwise."""
    value = body.get(key)
    if value is not None and not isinstance(value, str):
        raise BadRequest(f"'{key}' must be a text, got {type(value).__name__}")
    return value


def put_default(client: LocalClient, query: dict[str, str], body: dict[str, Any]) -> Any:
    # Clearing the default must be asked for (IoP's client sends "production": ""): a body
    # that forgot the field must not clear it silently.
    if "production" not in body:
        raise BadRequest("missing 'production' (send \"production\": \"\" to clear the "
                         "default)")
    return {"production": client.set_default(_text(body, "production") or "")}


def start(client: LocalClient, query: dict[str, str], body: dict[str, Any]) -> Any:
    production = _text(body, "production") or None
    return isolated.call(client.namespace, "start", START_SECONDS, production=production)


def stop(client: LocalClient, query: dict[str, str], body: dict[str, Any]) -> Any:
    return client.stop(timeout=STOP_SECONDS)


def kill(client: LocalClient, query: dict[str, str], body: dict[str, Any]) -> Any:
    return client.kill()


def restart(client: LocalClient, query: dict[str, str], body: dict[str, Any]) -> Any:
    return isolated.call(client.namespace, "restart", RESTART_SECONDS,
                         stop_timeout=RESTART_STOP_SECONDS)


def update(client: LocalClient, query: dict[str, str], body: dict[str, Any]) -> Any:
    return client.update(timeout=UPDATE_SECONDS)


def _component(action: str) -> Handler:
    done = {"start": "started", "stop": "stopped", "restart": "restarted"}[action]

    def handle(client: LocalClient, query: dict[str, str], body: dict[str, Any]) -> Any:
        name = _text(body, "component") or _text(body, "item")
        if not name:
            raise BadRequest("missing 'component' (the item name) in the request body")
        client.component(action, name)
        return {"status": done, "component": name}

    return handle


def bindings(client: LocalClient, query: dict[str, str], body: dict[str, Any]) -> Any:
    return client.bindings(unused=_truthy(query.get("unused", "")))


def unbind(client: LocalClient, query: dict[str, str], body: dict[str, Any]) -> Any:
    name = query.get("class") or query.get("classname")
    if not name:
        raise BadRequest("missing 'class' query parameter")
    client.unbind(name)
    return {"status": "unbound", "class": name}


def log(client: LocalClient, query: dict[str, str], body: dict[str, Any]) -> Any:
    if "since_id" in query:
        # At most MAX_ROWS a call: a follower asks again from the last id it got.
        return client.log(since_id=query_int(query, "since_id") or 0, limit=MAX_ROWS)
    top = query_int(query, "top", 0, MAX_ROWS)
    return client.log(top=10 if top is None else top)


def export(client: LocalClient, query: dict[str, str], body: dict[str, Any]) -> Any:
    name = _production(client, query)
    definition = client.export(name)
    return {name: definition.get("Production", definition)}


def connections(client: LocalClient, query: dict[str, str], body: dict[str, Any]) -> Any:
    name = query.get("production") or client.get_default() or ""
    try:
        return isolated.call(client.namespace, "connections", CONNECTIONS_SECONDS,
                             production=name)
    except EngineError as exc:
        # The client carries on without runtime edges; say why instead of failing.
        return {"production": name, "items": [], "warnings": [str(exc)]}


def queues(client: LocalClient, query: dict[str, str], body: dict[str, Any]) -> Any:
    name = query.get("production") or client.get_default() or ""
    try:
        return client.queues(name)
    except EngineError as exc:  # UnknownProduction among them
        return {"production": name, "items": [], "warnings": [str(exc)]}


def hosts(client: LocalClient, query: dict[str, str], body: dict[str, Any]) -> Any:
    """Engine extension (not in IoP's v1): the production's status and each host's
    supervisor (several hosts on PostgreSQL)."""
    return client.hosts()


def test(client: LocalClient, query: dict[str, str], body: dict[str, Any]) -> Any:
    target = _text(body, "target") or ""
    classname = _text(body, "classname") or None
    message = body.get("body")
    if message is not None and not isinstance(message, (str, dict, list)):
        raise BadRequest("'body' must be JSON text or a JSON object")
    if isinstance(message, str):  # JSON inside JSON: as bounded as the request's own
        json_body.check_depth(message, what="test body")
    return isolated.call(client.namespace, "test", TEST_SECONDS + 3, target=target,
                         classname=classname, body=message,
                         restart=_truthy(body.get("restart", True)), timeout=TEST_SECONDS)


def migrate(client: LocalClient, query: dict[str, str], body: dict[str, Any]) -> Any:
    return migrate_remote.migrate_upload(client.namespace, body)


def messages(client: LocalClient, query: dict[str, str], body: dict[str, Any]) -> Any:
    """Engine extension (not in IoP's v1): message headers, or counts by status."""
    filters: dict[str, Any] = {
        "session_id": query_int(query, "session_id"),
        "status": query.get("status") or None, "target": query.get("target") or None,
        "source": query.get("source") or None,
    }
    if _truthy(query.get("count", "")):
        return client.message_counts(**filters)
    limit = query_int(query, "limit", 1, MAX_ROWS)
    filters["limit"] = 100 if limit is None else limit
    return client.messages(**filters)


def _ids(body: dict[str, Any]) -> list[int]:
    ids = body.get("ids")
    if not isinstance(ids, list) or not ids or len(ids) > MAX_ROWS \
            or not all(type(i) is int and 0 < i <= MAX_ID for i in ids):
        raise BadRequest(f"ids must be a non-empty list of message ids (integers), at most "
                         f"{MAX_ROWS}")
    return ids


def suspended(client: LocalClient, query: dict[str, str], body: dict[str, Any]) -> Any:
    """Engine extension: suspended messages, oldest first."""
    return client.suspended()


def resubmit(client: LocalClient, query: dict[str, str], body: dict[str, Any]) -> Any:
    """Engine extension: queue suspended messages again, or one with an edited body."""
    edited = body.get("body")
    if edited is not None and not isinstance(edited, str):
        raise BadRequest("body must be the JSON text of the edited message")
    if edited is not None:
        json_body.check_depth(edited, what="the new body")
    if edited is None:
        return client.resubmit(_ids(body))
    # Checking the edited body against its message class imports the project's code.
    return isolated.call(client.namespace, "resubmit", TEST_SECONDS, ids=_ids(body),
                         body=edited)


def discard(client: LocalClient, query: dict[str, str], body: dict[str, Any]) -> Any:
    """Engine extension: discard suspended messages."""
    return client.discard(_ids(body))


def purge(client: LocalClient, query: dict[str, str], body: dict[str, Any]) -> Any:
    """Engine extension: purge complete sessions older than keep_days."""
    keep_days = body.get("keep_days", 7)
    if type(keep_days) not in (int, float) or not 0 <= keep_days <= MAX_KEEP_DAYS:
        raise BadRequest(f"keep_days must be a number of days from 0 to {MAX_KEEP_DAYS}, got "
                         f"{str(keep_days)[:40]!r}")
    return client.purge(keep_days, bodies=_truthy(body.get("bodies", False)),
                        include_incomplete=_truthy(body.get("include_incomplete", False)),
                        dry_run=_truthy(body.get("dry_run", False)))


def recover(client: LocalClient, query: dict[str, str], body: dict[str, Any]) -> Any:
    """Engine extension: clean up a troubled production."""
    return client.recover()


ROUTES: dict[tuple[str, str], Handler] = {
    ("GET", "version"): version,
    ("GET", "status"): status,
    ("GET", "list"): list_productions,
    ("GET", "default"): get_default,
    ("PUT", "default"): put_default,
    ("POST", "start"): start,
    ("POST", "stop"): stop,
    ("POST", "kill"): kill,
    ("POST", "restart"): restart,
    ("POST", "update"): update,
    ("POST", "component/start"): _component("start"),
    ("POST", "component/stop"): _component("stop"),
    ("POST", "component/restart"): _component("restart"),
    ("GET", "bindings"): bindings,
    ("DELETE", "binding"): unbind,
    ("GET", "log"): log,
    ("GET", "export"): export,
    ("GET", "connections"): connections,
    ("GET", "queues"): queues,
    ("GET", "hosts"): hosts,
    ("POST", "test"): test,
    ("PUT", "migrate"): migrate,
    ("GET", "messages"): messages,
    ("GET", "suspended"): suspended,
    ("POST", "resubmit"): resubmit,
    ("POST", "discard"): discard,
    ("POST", "purge"): purge,
    ("POST", "recover"): recover,
}

# The operator's views (the portal's data), for any client of the API.
from iop.server.api_credentials import RECORDS_CALLER as _CREDENTIALS_CALLER  # noqa: E402
from iop.server.api_credentials import ROUTES as _CREDENTIALS_ROUTES  # noqa: E402
from iop.server.api_operator import RECORDS_CALLER as _OPERATOR_CALLER  # noqa: E402
from iop.server.api_operator import ROUTES as _OPERATOR_ROUTES  # noqa: E402

ROUTES.update(_OPERATOR_ROUTES)
ROUTES.update(_CREDENTIALS_ROUTES)  # the credentials store (iop --credentials-*)

# Routes whose handler is given the authenticated account's name as a fourth argument.
RECORDS_CALLER = _OPERATOR_CALLER | _CREDENTIALS_CALLER
