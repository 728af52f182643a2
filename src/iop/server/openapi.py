"""The OpenAPI 3.1 document of /api/iop, built from the route table so it cannot omit one."""

from __future__ import annotations

from typing import Any

from iop.server.api import API_VERSION, ROUTES
from iop.server.api_credentials import DOCS as _CREDENTIALS_DOCS
from iop.server.api_operator import DOCS as _OPERATOR_DOCS
from iop.server.http import MAX_JSON_DEPTH

_STR = {"type": "string"}
_INT = {"type": "integer"}
_BOOL = {"type": "boolean"}
_OBJ = {"type": "object"}
_STR_LIST = {"type": "array", "items": _STR}
_ITEM_BODY = {"type": "object", "required": ["component"],
              "properties": {"component": _STR, "item": _STR}}
_STATUS_ONLY = {"type": "object", "properties": {"status": _STR}}
_COMPONENT_DONE = {"type": "object", "properties": {"status": _STR, "component": _STR}}
_RUNTIME_LIST = {"type": "object", "properties": {
    "production": _STR, "items": {"type": "array", "items": _OBJ}, "warnings": _STR_LIST}}
_LOG_ENTRY = {"type": "object", "properties": {
    "id": _INT, "time_logged": _STR, "type": _STR, "config_name": _STR, "job": _STR,
    "message_id": {"type": ["string", "integer"]}, "session_id": {"type": ["string", "integer"]},
    "source_class": _STR, "source_method": _STR, "text": _STR}}

# (summary, query parameters, request body schema, success body schema) per route.
_DOCS: dict[tuple[str, str], tuple[str, list[str], dict[str, Any] | None, dict[str, Any]]] = {
    ("GET", "version"): ("API identity", [], None,
                         {"type": "object", "properties": {"version": _STR, "description": _STR}}),
    ("GET", "status"): ("Current production and its state (running, stopped, suspended, "
                        "troubled); while a store outage lasts, also `outage` (iop-engine "
                        "extension: since, seconds, reason, hosts)", [], None,
                        {"type": "object", "properties": {
                            "production": _STR, "status": _STR, "outage": {
                                "type": "object", "properties": {
                                    "since": _STR, "seconds": {"type": "number"},
                                    "reason": _STR, "hosts": {"type": "array", "items": _STR},
                                    "stop_after_seconds": {"type": "number"}}}}}),
    ("GET", "list"): ("Every production of the namespace by name", [], None,
                      {"type": "object", "additionalProperties": {
                          "type": "object", "properties": {
                              "Status": _STR, "LastStartTime": _STR, "LastStopTime": _STR,
                              "AutoStart": {"type": ["integer", "boolean"]}}}}),
    ("GET", "default"): ("The default production", [], None,
                         {"type": "object", "properties": {"production": _STR}}),
    ("PUT", "default"): ("Set the default production", [],
                         {"type": "object", "properties": {"production": _STR}},
                         {"type": "object", "properties": {"production": _STR}}),
    ("POST", "start"): ("Start a production (the default one when none is named)", [],
                        {"type": "object", "properties": {"production": _STR}},
                        {"type": "object", "properties": {"status": _STR, "production": _STR}}),
    ("POST", "stop"): ("Graceful stop, forced after 20 s; while the store is unavailable "
                       "the server's own supervisors are signalled (status `stopping`, and "
                       "`note` says what was done)", [], _OBJ,
                       {"type": "object", "properties": {"status": _STR, "note": _STR}}),
    ("POST", "kill"): ("Forced stop", [], _OBJ, _STATUS_ONLY),
    ("POST", "restart"): ("Restart the running (or default) production", [], _OBJ,
                          _STATUS_ONLY),
    ("POST", "update"): ("Restart only the items whose settings or code changed", [], _OBJ,
                         _STATUS_ONLY),
    ("POST", "component/start"): ("Enable one item", [], _ITEM_BODY, _COMPONENT_DONE),
    ("POST", "component/stop"): ("Disable one item", [], _ITEM_BODY, _COMPONENT_DONE),
    ("POST", "component/restart"): ("Disable then enable one item", [], _ITEM_BODY,
                                    _COMPONENT_DONE),
    ("GET", "bindings"): ("Class bindings, sorted by class name", ["unused"], None,
                          {"type": "array", "items": _OBJ}),
    ("DELETE", "binding"): ("Remove one binding not used by any item", ["class", "classname"],
                            None, {"type": "object", "properties": {"status": _STR,
                                                                    "class": _STR}}),
    ("GET", "log"): ("Event log: newest `top` entries (newest first, top 0..10000) or the "
                     "entries after `since_id` (oldest first, at most 10000 a call)",
                     ["top", "since_id"], None,
                     {"type": "array", "items": _LOG_ENTRY}),
    ("GET", "export"): ("A production definition, keyed by its name (IRIS export shape)",
                        ["production"], None, _OBJ),
    ("GET", "connections"): ("Each item's kind and the items it sends to", ["production"],
                             None, _RUNTIME_LIST),
    ("GET", "queues"): ("Queue depth per item", ["production"], None, _RUNTIME_LIST),
    ("POST", "test"): ("Send one test message and wait for the answer (body as JSON text)", [],
                       {"type": "object", "properties": {
                           "target": _STR, "classname": _STR,
                           "body": {"type": ["string", "object"]}, "restart": _BOOL}},
                       {"type": "object", "properties": {"classname": _STR, "body": _STR,
                                                         "truncated": _BOOL}}),
    ("PUT", "migrate"): ("Upload a project (inline text files) and run its migration file",
                         [], {"type": "object", "properties": {
                             "namespace": _STR, "package": _STR, "remote_folder": _STR,
                             "settings_file": _STR, "strict_production_validation": _BOOL,
                             "body": {"type": "array", "items": {
                                 "type": "object", "properties": {"name": _STR,
                                                                  "data": _STR}}}}},
                         {"type": "object", "properties": {"status": _STR,
                                                           "output": _STR_LIST,
                                                           "warnings": _STR_LIST}}),
    ("GET", "hosts"): ("iop-engine extension: the production's status over every host and "
                       "each host's supervisor (status, alive, heartbeat)", [], None,
                       {"type": "object", "properties": {
                           "production": _STR, "status": _STR,
                           "hosts": {"type": "array", "items": _OBJ}}}),
    ("GET", "messages"): ("iop-engine extension: message headers (newest first) or counts "
                          "by status", ["session_id", "status", "target", "source", "limit",
                                        "count"], None,
                          {"type": ["array", "object"]}),
    ("GET", "suspended"): ("iop-engine extension: suspended messages, oldest first", [], None,
                           {"type": "array", "items": _OBJ}),
    ("POST", "resubmit"): ("iop-engine extension: queue suspended messages again; with body, "
                           "an edited copy of one", [],
                           {"type": "object", "required": ["ids"], "properties": {
                               "ids": {"type": "array", "items": _INT}, "body": _STR}},
                           {"type": ["array", "object"]}),
    ("POST", "discard"): ("iop-engine extension: discard suspended messages", [],
                          {"type": "object", "required": ["ids"], "properties": {
                              "ids": {"type": "array", "items": _INT}}},
                          {"type": "array", "items": _OBJ}),
    ("POST", "purge"): ("iop-engine extension: delete complete sessions and log lines older "
                        "than keep_days (dry_run: only count what would go)", [],
                        {"type": "object", "properties": {
                            "keep_days": {"type": "number"}, "bodies": _BOOL,
                            "include_incomplete": _BOOL, "dry_run": _BOOL}},
                        {"type": "object", "properties": {
                            "sessions": _INT, "headers": _INT, "bodies": _INT, "log": _INT,
                            "compacted": _BOOL, "dry_run": _BOOL}}),
    ("POST", "recover"): ("iop-engine extension: clean up a troubled production", [], _OBJ,
                          {"type": "object", "properties": {"production": _STR,
                                                            "status": _STR}}),
}

_DOCS.update(_OPERATOR_DOCS)
_DOCS.update(_CREDENTIALS_DOCS)


def document() -> dict[str, Any]:
    """The OpenAPI document; every route of ``api.ROUTES`` appears in it."""
    from iop.version import __version__

    error = {"description": "Failure, with a one-line message",
             "content": {"application/json": {"schema": {
                 "type": "object", "properties": {"error": _STR}}}}}
    namespace = {"name": "namespace", "in": "query", "required": False,
                 "schema": {**_STR, "default": "USER"}}
    paths: dict[str, dict[str, Any]] = {}
    for (method, route) in ROUTES:
        summary, params, request, response = _DOCS[(method, route)]
        operation: dict[str, Any] = {
            "summary": summary,
            "parameters": [namespace] + [{"name": p, "in": "query", "required": False,
                                          "schema": _STR} for p in params],
            "responses": {"200": {"description": "Success", "content": {
                "application/json": {"schema": response}}},
                "400": {**error, "description": "Malformed request or refused value"},
                "401": {**error, "description": "Missing or wrong credentials"},
                "403": {**error, "description": "The user may not use this namespace, or "
                                                "a foreign Origin"},
                "404": {**error, "description": "Unknown namespace, production, item, class "
                                                "or message"},
                "409": {**error, "description": "Not possible in the current state"},
                "413": {**error, "description": "Request body over the server's limit"},
                "415": {**error, "description": "Request body that is not application/json"},
                "503": {**error, "description": "The store cannot be reached"},
                "500": {**error, "description": "A bug of the server"}},
        }
        if request is not None:
            operation["requestBody"] = {"required": True, "content": {
                "application/json": {"schema": request}}}
        paths.setdefault(f"/api/iop/{route}", {})[method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {"title": "iop-engine remote API", "version": API_VERSION,
                 "description": f"IoP-compatible /api/iop, served by iop-engine {__version__}. "
                                "Every route is also reachable under /api/iop/v1/. Request "
                                "bodies are JSON (application/json), within the server's "
                                f"size limit, nested at most {MAX_JSON_DEPTH} levels deep."},
        "components": {"securitySchemes": {"basic": {"type": "http", "scheme": "basic"}}},
        "security": [{"basic": []}],
        "paths": paths,
    }
