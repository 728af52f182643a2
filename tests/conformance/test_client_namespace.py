"""Client methods on a namespace whose production is not running: status and the list of
productions, the default production, migration, export, bindings, connections, queues, the
operator's configuration views and the refusals that need a running production.

Each test calls ``client`` (local or remote) and reads the result through ``other``, the other
path to the same namespace, so both paths must agree on what the call did.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from conformance_support import ITEMS, PING, PRODUCTION, ClientError, migrate_locally
from remote_server import ServedEngine

from iop.client.base import Client


def test_describe_names_the_mode(client: Client, mode: str, namespace: str,
                                 served: ServedEngine) -> None:
    # Legitimately different: each names where its calls go.
    assert client.mode == mode and client.namespace == namespace
    if mode == "local":
        assert client.describe().startswith(f"Mode: LOCAL (namespace {namespace}, store ")
    else:
        assert client.describe() == f"Mode: REMOTE ({served.url})"


def test_an_empty_namespace_reads_the_same(client: Client, other: Client) -> None:
    for reader in (client, other):
        assert reader.status() == {"production": "", "status": "stopped"}
        assert reader.list_productions() == {}
        assert reader.get_default() == ""
        assert reader.bindings() == []
        assert reader.productions_overview() == []
        assert reader.suspended() == []
        assert reader.messages() == []
        assert reader.message_counts() == {}
        assert reader.jobs() == []
        assert reader.message_choices() == other.message_choices()


def test_initialize_keeps_the_namespace_usable(client: Client, other: Client, mode: str,
                                               namespace: str) -> None:
    lines = client.initialize()
    # Legitimately different words: the local store says where it is; the server answers
    # IoP's compile request (shared/spec/remote-api.md) with its own console lines.
    assert lines and all(isinstance(line, str) and line for line in lines)
    if mode == "local":
        assert lines[0].startswith(f"namespace {namespace} ready (schema version ")
    assert other.status() == {"production": "", "status": "stopped"}


def test_migrate_stores_the_production_and_its_bindings(client: Client, other: Client,
                                                        mode: str, namespace: str,
                                                        settings_file: str) -> None:
    lines = client.migrate(settings_file)
    # Legitimately different last line: the remote client says where it sent the project.
    if mode == "local":
        assert lines[-1] == "Migration succeeded"
    else:
        assert lines[-1] == f"Migration succeeded in namespace {namespace}: {settings_file}"
    assert list(other.list_productions()) == [PRODUCTION]
    assert client.export(PRODUCTION) == other.export(PRODUCTION)
    bound = {row["class"] for row in other.bindings()}
    assert bound == {row["class"] for row in client.bindings()}
    assert {"Python.settings.Router", "Python.settings.EchoOperation",
            "Python.settings.GateOperation"} <= bound


def test_a_dry_run_migration_stores_nothing(client: Client, other: Client, mode: str,
                                            settings_file: str) -> None:
    lines = client.migrate(settings_file, dry_run=True)
    assert any(PRODUCTION in line for line in lines)
    if mode == "remote":
        assert lines[-1] == "Dry run: nothing was sent"
    assert other.list_productions() == {} and other.bindings() == []


def test_the_default_production_is_shared(client: Client, other: Client, namespace: str,
                                          settings_file: str) -> None:
    migrate_locally(namespace, settings_file)
    assert client.set_default(PRODUCTION) == PRODUCTION
    assert other.get_default() == PRODUCTION == client.get_default()
    assert [row["default"] for row in other.productions_overview()] == [True]
    assert client.set_default("") == ""  # an empty name clears it
    assert other.get_default() == ""
    with pytest.raises(ClientError, match="production name"):
        client.set_default("bad name!")
    assert other.get_default() == ""


def test_list_and_overview_agree(client: Client, other: Client, namespace: str,
                                 settings_file: str) -> None:
    migrate_locally(namespace, settings_file)
    listed = client.list_productions()
    assert listed == other.list_productions()
    assert listed[PRODUCTION]["Status"] == "Stopped"
    overview = client.productions_overview()
    assert overview == other.productions_overview()
    assert [(row["name"], row["status"], row["update_needed"]) for row in overview] == [
        (PRODUCTION, "stopped", False)]


def test_export_gives_the_stored_definition(client: Client, other: Client, namespace: str,
                                            settings_file: str) -> None:
    migrate_locally(namespace, settings_file)
    exported = client.export(PRODUCTION)
    assert exported == other.export(PRODUCTION)
    body = exported["Production"]
    assert body["@Name"] == PRODUCTION
    assert [item["@Name"] for item in body["Item"]] == ITEMS
    client.set_default(PRODUCTION)
    assert client.export() == exported  # no name: the default production
    with pytest.raises(ClientError, match="does not exist"):
        client.export("No.Such")


def test_connections_and_queues_of_a_stopped_production(client: Client, other: Client,
                                                        namespace: str,
                                                        settings_file: str) -> None:
    migrate_locally(namespace, settings_file)
    connections = client.connections(PRODUCTION)
    assert connections == other.connections(PRODUCTION)
    edges = {item["item"]: item["connections"] for item in connections["items"]}
    assert edges == {"Router": ["Echo"], "Echo": [], "Gate": [], "Intake": []}
    kinds = {item["item"]: item["kind"] for item in connections["items"]}
    assert kinds == {"Router": "process", "Echo": "operation", "Gate": "operation",
                     "Intake": "service"}

    queues = client.queues(PRODUCTION)
    assert queues == other.queues(PRODUCTION)
    assert [(q["item"], q["exists"], q["count"]) for q in queues["items"]] == [
        (item, False, 0) for item in ITEMS]
    details = client.queue_details(PRODUCTION)
    assert details == other.queue_details(PRODUCTION)
    assert [(q["item"], q["count"]) for q in details["items"]] == [(item, 0) for item in ITEMS]


def test_bindings_and_unbind(client: Client, other: Client, namespace: str,
                             settings_file: str) -> None:
    migrate_locally(namespace, settings_file)
    rows = client.bindings()
    assert rows == other.bindings()
    used = {row["class"]: row["used"] for row in rows}
    assert used["Python.settings.EchoOperation"] is True
    unused = [row["class"] for row in client.bindings(unused=True)]
    assert unused == [row["class"] for row in other.bindings(unused=True)]
    assert unused == ["Conformance.SpareOperation"]
    client.unbind("Conformance.SpareOperation")
    assert "Conformance.SpareOperation" not in {row["class"] for row in other.bindings()}
    with pytest.raises(ClientError, match="is still used by production items: Remote.Demo/Echo"):
        client.unbind("Python.settings.EchoOperation")
    assert "Python.settings.EchoOperation" in {row["class"] for row in other.bindings()}


def test_configuration_and_saving_an_item(client: Client, other: Client, namespace: str,
                                          settings_file: str) -> None:
    migrate_locally(namespace, settings_file)
    configuration = client.configuration(PRODUCTION)
    assert configuration == other.configuration(PRODUCTION)
    assert [item["name"] for item in configuration["items"]] == ITEMS

    saved = client.save_item(PRODUCTION, "Echo", {"pool_size": "2", "comment": "two"})
    assert saved == other.save_item(PRODUCTION, "Echo", {"pool_size": "2", "comment": "two"}) \
        | {"changed": saved["changed"]}
    echo = _item(other.configuration(PRODUCTION), "Echo")
    assert (echo["pool_size"], echo["comment"]) == (2, "two")
    with pytest.raises(ClientError, match="pool size must be a whole number"):
        client.save_item(PRODUCTION, "Echo", {"pool_size": "many"})
    assert _item(other.configuration(PRODUCTION), "Echo")["pool_size"] == 2


def test_saving_production_settings(client: Client, other: Client, namespace: str,
                                    settings_file: str) -> None:
    migrate_locally(namespace, settings_file)
    done = client.save_production_settings(PRODUCTION, {"PurgeKeepDays": "14"})
    assert done == {"production": PRODUCTION, "changed": ["PurgeKeepDays"],
                    "update_needed": False}  # nothing runs, so nothing needs an update
    rows = {r["name"]: r for r in other.configuration(PRODUCTION)["production_settings"]}
    assert rows["PurgeKeepDays"]["value"] == "14"
    assert {"@Target": "Production", "@Name": "PurgeKeepDays", "#text": "14"} in \
        other.export(PRODUCTION)["Production"]["Setting"]
    with pytest.raises(ClientError, match="PurgeKeepDays must be 0 or more"):
        client.save_production_settings(PRODUCTION, {"PurgeKeepDays": "-1"})
    rows = {r["name"]: r for r in other.configuration(PRODUCTION)["production_settings"]}
    assert rows["PurgeKeepDays"]["value"] == "14"
    # Back to the default: the setting is removed from the definition.
    back = client.save_production_settings(PRODUCTION, {"PurgeKeepDays": "0"})
    assert back["changed"] == ["PurgeKeepDays"]
    assert "Setting" not in other.export(PRODUCTION)["Production"]


def test_calls_that_need_a_running_production_are_refused(client: Client, other: Client,
                                                          namespace: str,
                                                          settings_file: str) -> None:
    with pytest.raises(ClientError, match="no default production is set"):
        client.start()
    migrate_locally(namespace, settings_file)
    with pytest.raises(ClientError, match="no production is running"):
        client.test("Echo", PING, '{"text": "hi"}')
    with pytest.raises(ClientError, match="no production is running"):
        client.update()
    # Nothing to clean up: recover says so, in the same shape through both paths.
    assert client.recover() == other.recover() == {"production": "", "status": "stopped"}
    assert other.status() == {"production": "", "status": "stopped"}
    assert other.messages() == []


def _item(configuration: dict[str, Any], name: str) -> dict[str, Any]:
    return next(item for item in configuration["items"] if item["name"] == name)



def outcome(call: Callable[[Client], Any], reader: Client) -> tuple[str, Any]:
    """("answer", what ``call`` returned) or ("error", its message): a RemoteError's detail
    is the server's own text, without the HTTP status it came with."""
    try:
        return "answer", call(reader)
    except ClientError as exc:
        return "error", getattr(exc, "detail", None) or str(exc)


def test_unknown_names_are_refused_alike(client: Client, other: Client, mode: str,
                                         namespace: str, settings_file: str) -> None:
    migrate_locally(namespace, settings_file)
    calls: dict[str, Callable[[Client], Any]] = {
        "start": lambda c: c.start("No.Such"),
        "connections": lambda c: c.connections("No.Such"),
        "configuration": lambda c: c.configuration("No.Such"),
        "save_item": lambda c: c.save_item(PRODUCTION, "Nope", {"comment": "x"}),
        "component": lambda c: c.component("stop", "Nope"),
        "trace": lambda c: c.trace(987654),
        "discard": lambda c: c.discard([987654]),
        "resubmit": lambda c: c.resubmit([987654]),
        "unbind": lambda c: c.unbind("No.Such.Class"),
    }
    for name, call in calls.items():
        assert outcome(call, client) == outcome(call, other), name
    missing = f"production No.Such does not exist in namespace {namespace}"
    assert outcome(calls["start"], client) == ("error", missing)
    assert outcome(calls["save_item"], client) == ("error",
                                                   "item Nope is not in production Remote.Demo")
    kind, trace = outcome(calls["trace"], client)
    assert kind == "answer"
    assert (trace["session_id"], trace["messages"], trace["log"], trace["total"]) == \
        (987654, [], [], 0)
    # Legitimately different: the remote API answers /queues for a production it cannot load
    # with 200 and a warning (shared/spec/remote-api.md 6.15, as IoP's server does), while
    # LocalClient refuses, so that a local `iop -q NAME` fails with one error line
    # (tests/cli/test_bad_input.py).
    queues = outcome(lambda c: c.queues("No.Such"), client)
    if mode == "local":
        assert queues == ("error", missing)
    else:
        assert queues == ("answer", {"production": "No.Such", "items": [], "warnings": [missing]})
    assert other.list_productions()[PRODUCTION]["Status"] == "Stopped"
