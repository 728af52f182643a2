"""/api/iop routes of the operator's views (iop-engine extension, not in IoP's v1): what the
portal shows, for any client. Each is a function of (client, query, body) like api.py's."""

from __future__ import annotations

from typing import Any

from iop.client.local import LocalClient
from iop.engine.errors import UnknownProduction
from iop.names import ITEM, check_name
from iop.server import isolated
from iop.server.http import MAX_ID, BadRequest, query_int
from iop.store.queries import MAX_PAGE

CONFIGURATION_SECONDS = 20.0
_PAGE_KEYS = ("before_id", "after_id", "limit")


def _production(client: LocalClient, where: dict[str, Any]) -> str:
    name = where.get("production")
    if name is not None and not isinstance(name, str):
        raise BadRequest(f"'production' must be a text, got {type(name).__name__}")
    name = name or client.get_default()
    if not name:
        raise UnknownProduction("no production given and no default production is set")
    return name


def _page(query: dict[str, str], default_limit: int) -> tuple[int | None, int | None, int]:
    """(before_id, after_id, limit), checked: ids >= 0, 1 <= limit <= MAX_PAGE."""
    query_int(query, "session_id")  # a filter the client reads: refused here if out of range
    limit = query_int(query, "limit", 1, MAX_PAGE)
    return (query_int(query, "before_id"), query_int(query, "after_id"),
            default_limit if limit is None else limit)


def overview(client: LocalClient, query: dict[str, str], body: dict[str, Any]) -> Any:
    return client.productions_overview()


def configuration(client: LocalClient, query: dict[str, str], body: dict[str, Any]) -> Any:
    return isolated.call(client.namespace, "configuration", CONFIGURATION_SECONDS,
                         production=_production(client, query))


def save_item(client: LocalClient, query: dict[str, str], body: dict[str, Any]) -> Any:
    item, changes = body.get("item"), body.get("changes")
    if not isinstance(item, str) or not item or not isinstance(changes, dict):
        raise BadRequest("the body must name the 'item' and hold its 'changes' as an object")
    check_name(ITEM, item, BadRequest)
    return isolated.call(client.namespace, "save_item", CONFIGURATION_SECONDS,
                         production=_production(client, body), item=item, changes=changes)


def save_production_settings(client: LocalClient, query: dict[str, str],
                             body: dict[str, Any]) -> Any:
    settings = body.get("settings")
    if not isinstance(settings, dict):
        raise BadRequest("the body must hold the production's 'settings' as an object of "
                          "name → value")
    return client.save_production_settings(_production(client, body), settings)


def search_messages(client: LocalClient, query: dict[str, str], body: dict[str, Any]) -> Any:
    filters = {k: v for k, v in query.items() if k not in (*_PAGE_KEYS, "namespace")}
    before_id, after_id, limit = _page(query, 50)
    return client.search_messages(filters, before_id=before_id, after_id=after_id, limit=limit)


def message_choices(client: LocalClient, query: dict[str, str], body: dict[str, Any]) -> Any:
    return client.message_choices()


def message(client: LocalClient, query: dict[str, str], body: dict[str, Any]) -> Any:
    message_id = query_int(query, "id", 1)
    if message_id is None:
        raise BadRequest("missing 'id' query parameter")
    return client.message(message_id)


def trace(client: LocalClient, query: dict[str, str], body: dict[str, Any]) -> Any:
    session = query_int(query, "session_id", 1)
    if session is None:
        raise BadRequest("missing 'session_id' query parameter")
    before_id, after_id, limit = _page(query, MAX_PAGE - 1)  # one request never reads it all
    return client.trace(session, after_id=after_id, before_id=before_id, limit=limit)


def resend(client: LocalClient, query: dict[str, str], body: dict[str, Any],
           caller: str = "") -> Any:
    ids = body.get("ids")
    if not isinstance(ids, list) or not ids or len(ids) > MAX_PAGE \
            or not all(type(i) is int and 0 < i <= MAX_ID for i in ids):
        raise BadRequest(f"'ids' must be a non-empty list of message ids, at most {MAX_PAGE}")
    return client.resend(ids, new_session=bool(body.get("new_session")), user=caller)


def search_log(client: LocalClient, query: dict[str, str], body: dict[str, Any]) -> Any:
    filters = {k: v for k, v in query.items() if k not in (*_PAGE_KEYS, "namespace")}
    before_id, after_id, limit = _page(query, 100)
    return client.search_log(filters, before_id=before_id, after_id=after_id, limit=limit)


def queue_details(client: LocalClient, query: dict[str, str], body: dict[str, Any]) -> Any:
    return client.queue_details(query.get("production") or None)


def queue_messages(client: LocalClient, query: dict[str, str], body: dict[str, Any]) -> Any:
    item = query.get("item", "")
    if not item:
        raise BadRequest("missing 'item' query parameter (the item whose queue to list)")
    check_name(ITEM, item, BadRequest)
    limit = query_int(query, "limit", 1, MAX_PAGE)
    return client.queue_messages(item, query_int(query, "after_id"),
                                 50 if limit is None else limit)


def queue_action(client: LocalClient, query: dict[str, str], body: dict[str, Any],
                 caller: str = "") -> Any:
    item, ids, action = body.get("item"), body.get("ids"), body.get("action")
    if not isinstance(item, str) or not item:
        raise BadRequest("the body must name the 'item' whose queue holds the messages")
    check_name(ITEM, item, BadRequest)
    if action not in ("abort", "suspend"):
        raise BadRequest(f"'action' must be \"abort\" or \"suspend\", got {action!r}")
    if not isinstance(ids, list) or not ids or len(ids) > MAX_PAGE \
            or not all(type(i) is int and 0 < i <= MAX_ID for i in ids):
        raise BadRequest(f"'ids' must be a non-empty list of message ids, at most {MAX_PAGE}")
    return client.queue_action(item, ids, action, user=caller)


def jobs(client: LocalClient, query: dict[str, str], body: dict[str, Any]) -> Any:
    return client.jobs()


def alerts(client: LocalClient, query: dict[str, str], body: dict[str, Any]) -> Any:
    item = query.get("item") or None
    if item is not None:
        check_name(ITEM, item, BadRequest)
    limit = query_int(query, "limit", 1, MAX_PAGE)
    return client.alerts(query.get("state") or "open", item, query_int(query, "before_id", 1),
                         50 if limit is None else limit)


def alert(client: LocalClient, query: dict[str, str], body: dict[str, Any]) -> Any:
    alert_id = query_int(query, "id", 1)
    if alert_id is None:
        raise BadRequest("missing 'id' query parameter (the alert's id)")
    return client.alert(alert_id)


def alert_action(client: LocalClient, query: dict[str, str], body: dict[str, Any],
                 caller: str = "") -> Any:
    alert_id, action = body.get("id"), body.get("action")
    owner, text = body.get("owner"), body.get("text", "")
    if type(alert_id) is not int or not 0 < alert_id <= MAX_ID:
        raise BadRequest("the body must hold the alert's 'id' as a positive whole number")
    if not isinstance(action, str) or not action:
        raise BadRequest("the body must name the 'action': acknowledge, assign, note, close "
                         "or reopen")
    if owner is not None and not isinstance(owner, str):
        raise BadRequest(f"'owner' must be a text, got {type(owner).__name__}")
    if not isinstance(text, str):
        raise BadRequest(f"'text' must be a text, got {type(text).__name__}")
    return client.alert_action(alert_id, action, owner, text, user=caller)


# Routes that record who acted: the app passes their handler the authenticated account's name
# (never a name from the request) as a fourth argument.
RECORDS_CALLER = frozenset({("POST", "resend"), ("POST", "queues/action"),
                            ("POST", "alerts/action")})

ROUTES = {
    ("GET", "overview"): overview,
    ("GET", "configuration"): configuration,
    ("PUT", "item"): save_item,
    ("PUT", "production/settings"): save_production_settings,
    ("GET", "messages/search"): search_messages,
    ("GET", "messages/choices"): message_choices,
    ("GET", "message"): message,
    ("GET", "trace"): trace,
    ("POST", "resend"): resend,
    ("GET", "log/search"): search_log,
    ("GET", "queues/details"): queue_details,
    ("GET", "queues/messages"): queue_messages,
    ("POST", "queues/action"): queue_action,
    ("GET", "jobs"): jobs,
    ("GET", "alerts"): alerts,
    ("GET", "alert"): alert,
    ("POST", "alerts/action"): alert_action,
}

_STR = {"type": "string"}
_OBJ = {"type": "object"}
_LIST = {"type": "array", "items": _OBJ}
_FILTERS = ["since", "until", "source", "target", "status", "type", "body_class", "session_id",
            "text", "where", "sort", "before_id", "after_id", "limit"]

# (summary, query parameters, request body schema, success body schema), as in openapi.py.
DOCS: dict[tuple[str, str], tuple[str, list[str], dict[str, Any] | None, dict[str, Any]]] = {
    ("GET", "overview"): ("iop-engine extension: productions with status, default flag and "
                          "whether the running one needs an update", [], None, _LIST),
    ("GET", "configuration"): ("iop-engine extension: items, settings (with category, "
                               "control and editor) and routes of a production",
                               ["production"], None, _OBJ),
    ("PUT", "item"): ("iop-engine extension: validate and save one item's configuration",
                      [], {"type": "object", "required": ["item", "changes"], "properties": {
                          "production": _STR, "item": _STR, "changes": _OBJ}}, _OBJ),
    ("PUT", "production/settings"): (
        "iop-engine extension: validate and save production settings (ShutdownTimeout, "
        "UpdateTimeout, PurgeKeepDays, PurgeBodies, AlertNotification...); empty or default "
        "values remove a setting", [],
        {"type": "object", "required": ["settings"], "properties": {
            "production": _STR, "settings": _OBJ}}, _OBJ),
    ("GET", "messages/search"): ("iop-engine extension: one page of message headers matching "
                                 "the filters, newest first (sort=oldest: oldest first); "
                                 "source/target take a name or part of one, body_class a "
                                 "full or short name, where body conditions one per line "
                                 "(amount > 500)", _FILTERS, None, _OBJ),
    ("GET", "messages/choices"): ("iop-engine extension: item names and body classes for "
                                  "the viewer's filters", [], None, _OBJ),
    ("GET", "message"): ("iop-engine extension: one message's header and body", ["id"], None,
                         _OBJ),
    ("GET", "trace"): ("iop-engine extension: a session's messages in order, one page of "
                       "`limit` (default and most 999) from the start, after `after_id` or "
                       "before `before_id`, with has_earlier / has_later; its counts by "
                       "status, first failures and log lines",
                       ["session_id", "after_id", "before_id", "limit"], None, _OBJ),
    ("POST", "resend"): ("iop-engine extension: send requests again (same body, same target)",
                         [], {"type": "object", "required": ["ids"], "properties": {
                             "ids": {"type": "array", "items": {"type": "integer"}},
                             "new_session": {"type": "boolean"}}}, _LIST),
    ("GET", "log/search"): ("iop-engine extension: event log entries matching type, item, "
                            "session and text, newest first",
                            ["type", "item", "session_id", "text", "before_id", "after_id",
                             "limit"], None, _LIST),
    ("GET", "queues/details"): ("iop-engine extension: queue count and oldest entry's age "
                                "per item", ["production"], None, _OBJ),
    ("GET", "queues/messages"): (
        "iop-engine extension: one page of an item's queue, oldest first: waiting messages "
        "and those in progress (with the job holding them); page on with next_after_id",
        ["item", "after_id", "limit"], None, _OBJ),
    ("POST", "queues/action"): (
        "iop-engine extension: abort (header status aborted) or suspend (to the suspended "
        "messages) waiting messages of an item's queue, all or nothing; a message in "
        "progress is refused (409); logged with the account that acted", [],
        {"type": "object", "required": ["item", "ids", "action"], "properties": {
            "item": _STR, "ids": {"type": "array", "items": {"type": "integer"}},
            "action": {"type": "string", "enum": ["abort", "suspend"]}}}, _LIST),
    ("GET", "jobs"): ("iop-engine extension: job processes (pid, host, state, last activity)",
                      [], None, _LIST),
    ("GET", "alerts"): (
        "iop-engine extension: one page of managed alerts, newest first, in a state (open - "
        "the default -, new, acknowledged, closed or all), with the counts by state; page on "
        "with next_before_id", ["state", "item", "before_id", "limit"], None, _OBJ),
    ("GET", "alert"): ("iop-engine extension: one managed alert with its state, owner and "
                       "the actions taken on it", ["id"], None, _OBJ),
    ("POST", "alerts/action"): (
        "iop-engine extension: acknowledge, assign (owner), note (text), close or reopen a "
        "managed alert; recorded with the account that acted; 409 when its state forbids it",
        [], {"type": "object", "required": ["id", "action"], "properties": {
            "id": {"type": "integer"},
            "action": {"type": "string",
                       "enum": ["acknowledge", "assign", "note", "close", "reopen"]},
            "owner": _STR, "text": _STR}}, _OBJ),
}
