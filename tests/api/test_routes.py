"""Every /api/iop route over real HTTP, with the exact shapes of shared/spec/remote-api.md."""

from __future__ import annotations

import json
import re
import time
from typing import Any

import pytest
from remote_server import ADMIN, SCENARIO_PRODUCTION, SCENARIO_SETTINGS, ServedEngine

TIME = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}$")
NAME = SCENARIO_PRODUCTION


class Api:
    """GET/POST/PUT/DELETE on /api/iop/<route>?namespace=NS, returning (status, JSON)."""

    def __init__(self, served: ServedEngine, namespace: str, prefix: str = "/api/iop") -> None:
        self.http = served.http()
        self.namespace = namespace
        self.prefix = prefix

    def call(self, method: str, route: str, body: Any = None, **query: Any) -> tuple[int, Any]:
        started = time.monotonic()
        answer = self.http.request(method, f"{self.prefix}/{route}",
                                   params={"namespace": self.namespace, **query},
                                   json=body if method in ("POST", "PUT") else None)
        assert time.monotonic() - started < 30, f"{method} {route} took over 30 s"
        assert answer.headers["content-type"].startswith("application/json")
        return answer.status_code, answer.json()

    def ok(self, method: str, route: str, body: Any = None, **query: Any) -> Any:
        status, data = self.call(method, route, body, **query)
        assert status == 200, f"{method} {route}: {status} {data}"
        assert not (isinstance(data, dict) and "error" in data), data
        return data

    def fails(self, expected: int, method: str, route: str, body: Any = None,
              **query: Any) -> str:
        """The one-line error of a refused call, whose status must be ``expected`` (a refused
        message body also says so: ``"refused": "body"``, which the remote CLI maps to exit 2)."""
        status, data = self.call(method, route, body, **query)
        assert status == expected and list(data) in (["error"], ["error", "refused"]), \
            f"{status} {data}"
        assert data.get("refused", "body") == "body", data
        return str(data["error"])


@pytest.fixture(scope="module")
def api(served: ServedEngine) -> Any:
    ns = served.new_namespace("ROUTES")
    client = Api(served, ns)
    # Empty namespace first: the shapes of "nothing there".
    assert client.ok("GET", "status") == {"production": "", "status": "stopped"}
    assert client.ok("GET", "list") == {}
    assert client.ok("GET", "default") == {"production": ""}
    assert client.ok("GET", "bindings") == []
    answer = client.ok("PUT", "migrate", {
        "namespace": ns, "package": "python", "remote_folder": "", "settings_file": "settings.py",
        "strict_production_validation": False,
        "body": [{"name": "settings.py", "data": SCENARIO_SETTINGS}]})
    assert answer["status"] == "migrated" and answer["output"][-1] == "Migration succeeded"
    assert client.ok("POST", "start", {"production": NAME}) == {"status": "started",
                                                                "production": NAME}
    yield client
    client.ok("POST", "kill", {})
    client.http.close()


def test_version_status_list_default(api: Api) -> None:
    version = api.ok("GET", "version")
    assert version["version"] == "1.0.0" and "iop-engine" in version["description"]
    assert api.ok("GET", "status") == {"production": NAME, "status": "running"}
    listed = api.ok("GET", "list")
    assert list(listed) == [NAME]
    entry = listed[NAME]
    assert entry["Status"] == "Running" and entry["AutoStart"] in (0, 1, False, True)
    assert TIME.match(entry["LastStartTime"])
    assert api.ok("PUT", "default", {"production": "Not.Yet"}) == {"production": "Not.Yet"}
    assert api.ok("GET", "default") == {"production": "Not.Yet"}
    assert api.ok("PUT", "default", {"production": NAME}) == {"production": NAME}


def test_v1_alias_and_openapi_document(api: Api, served: ServedEngine) -> None:
    v1 = Api(served, api.namespace, "/api/iop/v1")
    assert v1.ok("GET", "status") == api.ok("GET", "status")
    doc = api.http.get("/api/iop/openapi.json").json()
    assert doc["openapi"].startswith("3.")
    documented = {(m.upper(), p.removeprefix("/api/iop/")) for p, ops in doc["paths"].items()
                  for m in ops}
    from iop.server.api import ROUTES

    assert documented == set(ROUTES)
    assert doc["components"]["securitySchemes"]["basic"]["scheme"] == "basic"


def test_queues_connections_export(api: Api) -> None:
    queues = api.ok("GET", "queues", production=NAME)
    assert queues["production"] == NAME and queues["warnings"] == []
    assert queues["items"] == [
        {"item": "Router", "queue_name": "Router", "class_name": "Python.settings.Router",
         "exists": True, "count": 0},
        {"item": "Echo", "queue_name": "Echo", "class_name": "Python.settings.EchoOperation",
         "exists": True, "count": 0}]
    missing = api.ok("GET", "queues", production="No.Such")
    assert missing["items"] == [] and "No.Such" in missing["warnings"][0]

    connections = api.ok("GET", "connections", production=NAME)
    by_item = {i["item"]: i for i in connections["items"]}
    assert by_item["Router"]["kind"] == "process" and by_item["Echo"]["kind"] == "operation"
    assert by_item["Router"]["connections"] == ["Echo"]
    assert by_item["Router"]["module"] == "settings" and by_item["Router"]["classname"] == "Router"
    assert api.ok("GET", "connections", production="No.Such")["items"] == []

    export = api.ok("GET", "export", production=NAME)
    assert list(export) == [NAME]
    body = export[NAME]
    assert body["@Name"] == NAME and body["@TestingEnabled"] == "true"
    assert isinstance(body["Item"], list)
    for item in body["Item"]:
        assert {"@Name", "@Category", "@ClassName", "@PoolSize", "@Enabled", "@Foreground",
                "@Comment", "@LogTraceEvents", "@Schedule"} <= set(item)
        assert all(isinstance(v, str) for k, v in item.items() if k.startswith("@"))
    assert "does not exist" in api.fails(404, "GET", "export", production="No.Such")
    # IoP's client sends the literal "Not defined" when no default is set.
    assert "no default production" in api.fails(404, "GET", "export", production="Not defined")


def test_test_route_body_as_string_or_object(api: Api) -> None:
    as_text = api.ok("POST", "test", {"target": "Echo", "classname": "settings.PingMessage",
                                      "body": '{"text": "abc"}\n'})
    assert as_text["classname"] == "settings.PongMessage"
    assert isinstance(as_text["body"], str) and json.loads(as_text["body"]) == {"text": "ABC"}
    assert as_text["truncated"] is False
    as_object = api.ok("POST", "test", {"target": "Router", "classname": "settings.PingMessage",
                                        "body": {"text": "obj"}, "restart": False})
    assert json.loads(as_object["body"]) == {"text": "OBJ"}
    assert "NoSuchItem" in api.fails(404, "POST", "test", {"target": "NoSuchItem"})
    assert "not valid JSON" in api.fails(400, "POST", "test", {"target": "Echo",
                                                          "classname": "settings.PingMessage",
                                                          "body": "{broken"})


def test_log_ids_top_and_since(api: Api) -> None:
    newest = api.ok("GET", "log", top=5)
    assert 0 < len(newest) <= 5
    ids = [e["id"] for e in newest]
    assert all(isinstance(i, int) for i in ids) and ids == sorted(ids, reverse=True)
    assert set(newest[0]) == {"id", "time_logged", "type", "config_name", "job", "message_id",
                              "session_id", "source_class", "source_method", "text"}
    assert TIME.match(newest[0]["time_logged"])
    everything = api.ok("GET", "log", since_id=0)
    all_ids = [e["id"] for e in everything]
    assert all_ids == sorted(all_ids) and set(ids) <= set(all_ids)
    assert api.ok("GET", "log", since_id=all_ids[-1]) == []
    assert [e["id"] for e in api.ok("GET", "log", since_id=all_ids[-3])] == all_ids[-2:]


def test_components_bindings_and_unbind(api: Api) -> None:
    assert api.ok("POST", "component/stop", {"component": "Echo"}) == {"status": "stopped",
                                                                       "component": "Echo"}
    echo = next(i for i in api.ok("GET", "export", production=NAME)[NAME]["Item"]
                if i["@Name"] == "Echo")
    assert echo["@Enabled"] == "false"
    assert api.ok("POST", "component/start", {"item": "Echo"}) == {"status": "started",
                                                                   "component": "Echo"}
    assert api.ok("POST", "component/restart", {"component": "Echo"})["status"] == "restarted"
    assert "component" in api.fails(400, "POST", "component/start", {})

    bindings = api.ok("GET", "bindings")
    assert [b["class"] for b in bindings] == ["Python.settings.EchoOperation",
                                              "Python.settings.Router"]
    assert set(bindings[0]) >= {"class", "super", "module", "classname", "classpaths", "used",
                                "used_by"}
    assert bindings[0]["used_by"] == [{"production": NAME, "item": "Echo"}]
    assert api.ok("GET", "bindings", unused="1") == []
    error = api.fails(400, "DELETE", "binding", **{"class": "Python.settings.Router"})
    assert f"{NAME}/Router" in error
    assert "not bound" in api.fails(404, "DELETE", "binding", classname="Python.Nope")


def test_lifecycle_routes_answer_within_the_client_timeout(api: Api) -> None:
    assert api.ok("POST", "update", {}) == {"status": "updated"}
    assert api.ok("POST", "restart", {}) == {"status": "restarted"}
    assert api.ok("GET", "status") == {"production": NAME, "status": "running"}
    assert "already running" in api.fails(409, "POST", "start", {"production": NAME})
    assert api.ok("POST", "stop", {}) == {"status": "stopped"}
    assert api.ok("POST", "stop", {}) == {"status": "stopped"}  # idempotent
    assert api.ok("POST", "kill", {}) == {"status": "killed"}
    assert api.ok("GET", "status")["status"] == "stopped"
    assert "no production is running" in api.fails(409, "POST", "update", {})
    assert api.ok("POST", "start", {}) == {"status": "started", "production": NAME}


def test_messages_extension_route(api: Api) -> None:
    counts = api.ok("GET", "messages", count="1")
    assert counts.get("completed", 0) >= 4  # two tests above, each a request and a response
    headers = api.ok("GET", "messages", target="Echo", limit="10")
    assert headers and all(h["target"] == "Echo" for h in headers)


def test_operations_extension_routes(api: Api) -> None:
    assert api.ok("GET", "suspended") == []
    assert "does not exist" in api.fails(409, "POST", "resubmit", {"ids": [987654]})
    assert "non-empty list" in api.fails(400, "POST", "discard", {"ids": []})
    assert "non-empty list" in api.fails(400, "POST", "resubmit", {"ids": ["1"]})
    # an edited body is checked against its class in an isolated child: same one-line error
    assert "message 987654 does not exist" in api.fails(409, "POST", "resubmit",
                                                        {"ids": [987654], "body": "{}"})
    kept = api.ok("POST", "purge", {"keep_days": 3650})
    assert kept["sessions"] == 0 and kept["headers"] == 0 and isinstance(kept["compacted"], bool)
    assert "keep_days" in api.fails(400, "POST", "purge", {"keep_days": "soon"})
    assert "running normally" in api.fails(409, "POST", "recover", {})
    assert api.ok("GET", "status")["status"] == "running"


def test_production_settings_route(api: Api, served: ServedEngine) -> None:
    from iop.client.remote import RemoteClient

    refused = api.fails(400, "PUT", "production/settings",
                        {"settings": {"PurgeKeepDays": "-1", "Nope": "1"}})
    assert refused.startswith(f"production {NAME} settings were not saved: ")
    assert "PurgeKeepDays must be 0 or more" in refused
    assert "unknown production setting 'Nope'" in refused
    assert "'settings' as an object" in api.fails(400, "PUT", "production/settings", {"x": 1})

    remote = RemoteClient(served.url, *ADMIN, namespace=api.namespace)
    try:  # RemoteClient gets the same shapes as LocalClient
        done = remote.save_production_settings(NAME, {"PurgeKeepDays": "14",
                                                      "PurgeBodies": True})
        assert done == {"production": NAME, "changed": ["PurgeKeepDays", "PurgeBodies"],
                        "update_needed": True}  # the running production has not applied it
        rows = {r["name"]: r for r in remote.configuration(NAME)["production_settings"]}
        assert (rows["PurgeKeepDays"]["value"], rows["PurgeBodies"]["value"]) == ("14", "1")
        assert rows["ShutdownTimeout"] == {
            "name": "ShutdownTimeout", "kind": "number", "default": "120", "section": "Basic",
            "description": rows["ShutdownTimeout"]["description"], "whole": True,
            "value": None}
        body = api.ok("GET", "export", production=NAME)[NAME]
        assert {"@Target": "Production", "@Name": "PurgeKeepDays", "#text": "14"} in \
            body["Setting"]
        # back to the defaults: the settings are removed, nothing is left to update
        back = remote.save_production_settings(NAME, {"PurgeKeepDays": "0", "PurgeBodies": "0"})
        assert back["changed"] == ["PurgeKeepDays", "PurgeBodies"] and not back["update_needed"]
        assert "Setting" not in api.ok("GET", "export", production=NAME)[NAME]
    finally:
        remote.close()
