"""Client methods on the messages of a running production: test messages, message queries
and counts, the operator's search, a message and its session's trace, resend, the event log,
suspended messages (resubmit, edit, discard) and purge.

The module shares one running production per client mode; each test reads what ``client``
did through ``other`` (the other path to the same namespace).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from conformance_support import PING, PONG, PRODUCTION, ClientError, migrate_locally
from remote_server import ADMIN, ServedEngine

from iop.client.base import Client
from iop.client.local import LocalClient
from iop.store import records as r


@pytest.fixture(scope="module")
def namespace(served: ServedEngine, settings_file: str, mode: str) -> Iterator[str]:
    """One namespace per client mode, its production running for the whole module."""
    ns = served.new_namespace(f"MSG{mode[0].upper()}")
    migrate_locally(ns, settings_file)
    starter = LocalClient(ns)
    try:
        starter.start(PRODUCTION)
        yield ns
        starter.kill()
    finally:
        starter.store.close()


def ping(reader: Client, text: str) -> dict[str, Any]:
    return reader.test("Router", PING, f'{{"text": "{text}"}}')


def last_request(reader: Client, target: str) -> dict[str, Any]:
    """The newest request to ``target``."""
    found = reader.search_messages({"target": target, "type": "request"}, limit=1)["messages"]
    assert found, f"no request to {target}"
    return dict(found[0])


def test_a_test_message_gets_the_same_answer(client: Client, other: Client) -> None:
    expected = {"classname": PONG, "body": '{"text":"HI"}', "truncated": False}
    assert ping(client, "hi") == expected == ping(other, "hi")
    # The body may also be a JSON object, or plain text for a class with one text field.
    assert client.test("Echo", PING, {"text": "obj"})["body"] == '{"text":"OBJ"}'
    assert client.test("Echo", PING, "plain")["body"] == '{"text":"PLAIN"}'
    assert client.test("Echo", PING, '"quoted"', restart=True)["body"] == '{"text":"QUOTED"}'


def test_test_messages_that_are_refused(client: Client, other: Client) -> None:
    before = other.message_counts()
    with pytest.raises(ClientError, match="item 'Nope' is not in production Remote.Demo"):
        client.test("Nope", PING, "{}")
    with pytest.raises(ClientError, match="item Intake is a business service"):
        client.test("Intake", PING, "{}")
    with pytest.raises(ClientError, match="test body is not valid JSON"):
        client.test("Echo", PING, '{"text": ')
    with pytest.raises(ClientError, match="test body does not fit settings.PingMessage"):
        client.test("Echo", PING, '{"text": 1, "extra": 2}')
    assert other.message_counts() == before  # nothing was sent


def test_messages_and_counts_agree(client: Client, other: Client) -> None:
    ping(client, "count")
    for filters in ({}, {"target": "Echo"}, {"source": "Router"}, {"status": "completed"}):
        assert client.messages(**filters) == other.messages(**filters)
        assert client.message_counts(**filters) == other.message_counts(**filters)
    headers = client.messages(target="Echo")
    assert headers and {h["target"] for h in headers} == {"Echo"}
    session = headers[0]["session_id"]
    assert client.messages(session_id=session) == other.messages(session_id=session)
    assert client.message_counts(session_id=session) == {"completed": 4}  # 2 requests, 2 answers


def test_extended_search_through_either_client(client: Client, other: Client) -> None:
    """The extended search's keys go through the API unchanged: conditions, order, names."""
    ping(client, "cond one")
    for filters in ({"where": 'text = "cond one"'}, {"where": "text contains COND",
                                                     "sort": "oldest"},
                    {"target": "ech", "where": "text != nothing"}):
        page = client.search_messages(filters, limit=5)
        assert page == other.search_messages(filters, limit=5)
        assert page["messages"] and page["filters"]["conditions"]
    found = client.search_messages({"where": 'text = "cond one"'}, limit=5)["messages"]
    assert {m["target"] for m in found} == {"Echo", "Router"}
    with pytest.raises(ClientError, match="not 'field operator value'"):
        client.search_messages({"where": "text ~ x"})
    with pytest.raises(ClientError, match="sort 'sideways' is not newest or oldest"):
        client.search_messages({"sort": "sideways"})


def test_search_a_message_and_its_trace(client: Client, other: Client) -> None:
    ping(client, "trace me")
    for filters in ({}, {"target": "Echo"}, {"type": "response"}, {"text": "TRACE ME"},
                    {"body_class": PONG}):
        page = client.search_messages(filters, limit=3)
        assert page == other.search_messages(filters, limit=3)
        assert page["messages"]
    page = client.search_messages({"target": "Echo"}, limit=1)
    assert page["has_older"] is True and page["has_newer"] is False
    older = client.search_messages({"target": "Echo"}, before_id=page["messages"][0]["id"])
    assert older == other.search_messages({"target": "Echo"},
                                          before_id=page["messages"][0]["id"])
    with pytest.raises(ClientError, match="is not one of"):
        client.search_messages({"status": "lost"})

    request = last_request(client, "Echo")
    shown = client.message(request["id"])
    assert shown == other.message(request["id"])
    assert shown["header"]["id"] == request["id"]
    assert shown["body"] == '{"text":"trace me"}'
    with pytest.raises(ClientError, match="message 987654 does not exist"):
        client.message(987654)

    trace = client.trace(request["session_id"])
    assert trace == other.trace(request["session_id"])
    assert [(m["source"], m["target"], m["type"]) for m in trace["messages"]] == [
        ("EnsLib.Testing.Service", "Router", "request"), ("Router", "Echo", "request"),
        ("Echo", "Router", "response"), ("Router", "EnsLib.Testing.Service", "response")]
    assert trace["total"] == 4 and trace["counts"] == {"completed": 4}
    assert trace["started"] == trace["messages"][0]["created"] and trace["errors"] == []
    ids = [m["id"] for m in trace["messages"]]
    # One page at a time, oldest first, both ways, the same locally and over HTTP.
    first = client.trace(request["session_id"], limit=3)
    assert first == other.trace(request["session_id"], limit=3)
    assert [m["id"] for m in first["messages"]] == ids[:3]
    assert (first["has_earlier"], first["has_later"]) == (False, True)
    rest = client.trace(request["session_id"], after_id=ids[2], limit=3)
    assert rest == other.trace(request["session_id"], after_id=ids[2], limit=3)
    assert [m["id"] for m in rest["messages"]] == ids[3:]
    assert (rest["has_earlier"], rest["has_later"]) == (True, False)
    back = client.trace(request["session_id"], before_id=ids[3], limit=2)
    assert back == other.trace(request["session_id"], before_id=ids[3], limit=2)
    assert [m["id"] for m in back["messages"]] == ids[1:3]
    assert (back["has_earlier"], back["has_later"]) == (True, True)
    last = client.trace(request["session_id"], before_id=ids[-1] + 1, limit=2)
    assert last == other.trace(request["session_id"], before_id=ids[-1] + 1, limit=2)
    assert [m["id"] for m in last["messages"]] == ids[2:]
    assert (last["has_earlier"], last["has_later"]) == (True, False)

    choices = client.message_choices()
    assert choices == other.message_choices()
    assert {"Router", "Echo", "Gate", "Intake"} <= set(choices["items"])
    assert {PING, PONG} <= set(choices["body_classes"])


def test_resend_sends_a_request_again(client: Client, other: Client, mode: str,
                                      wait_for: Callable[..., Any]) -> None:
    ping(client, "again")
    original = last_request(client, "Echo")
    done = client.resend([original["id"]], user="alice")
    new_id = done[0]["resent"]
    assert done == [{"original": original["id"], "resent": new_id,
                     "session_id": original["session_id"], "target": "Echo"}]
    resent = wait_for(lambda: (m := other.message(new_id))["header"]["status"] == "completed"
                      and m, timeout=30, what="the resent message to complete")
    assert resent["body"] == '{"text":"again"}'
    assert resent["header"]["resent_from"] == original["id"]
    # LocalClient records the user it is given; the server does not take a caller's word for
    # who it is and records the account that authenticated the request instead.
    by = " by alice" if mode == "local" else f" by {ADMIN[0]}"
    assert resent["header"]["description"] == f"Resent from message {original['id']}{by}"
    logged = [e["text"] for e in other.log(top=20)]
    assert f"message {original['id']} resent to Echo as message {new_id}{by}" in logged

    fresh = client.resend([original["id"]], new_session=True)
    assert fresh[0]["session_id"] == fresh[0]["resent"] != original["session_id"]
    response = client.search_messages({"type": "response"}, limit=1)["messages"][0]["id"]
    with pytest.raises(ClientError, match="only requests can be resent"):
        client.resend([response])
    with pytest.raises(ClientError, match="message 987654 does not exist"):
        client.resend([987654])


def test_the_event_log_reads_the_same(client: Client, other: Client) -> None:
    ping(client, "log")
    newest = client.log(top=5)
    assert newest == other.log(top=5) and len(newest) == 5
    first = newest[-1]["id"]
    assert client.log(since_id=first) == other.log(since_id=first)
    assert [e["id"] for e in client.log(since_id=first)][0] > first
    for filters in ({}, {"type": "info"}, {"text": "started"}):
        found = client.search_log(filters, limit=20)
        assert found == other.search_log(filters, limit=20) and found
    with pytest.raises(ClientError, match="log type 'loud' is not one of"):
        client.search_log({"type": "loud"})


def test_suspended_messages_are_resubmitted_edited_or_discarded(
        client: Client, other: Client, wait_for: Callable[..., Any]) -> None:
    with pytest.raises(ClientError, match="suspended"):
        client.test("Gate", PING, '{"text": "down"}')
    with pytest.raises(ClientError, match="suspended"):
        other.test("Gate", PING, '{"text": "down"}')
    suspended = client.suspended()
    assert suspended == other.suspended()
    assert [(h["target"], h["status"]) for h in suspended] == [("Gate", "suspended")] * 2
    first, second = (h["id"] for h in suspended)

    assert client.resubmit([first]) == [{"id": first, "status": "queued"}]
    assert other.search_log({"text": f"message {first} resubmitted"})
    wait_for(lambda: other.message(first)["header"]["status"] == "suspended", timeout=30,
             what="the resubmitted message to fail and be suspended again")
    assert client.discard([first]) == [{"id": first, "status": "discarded"}]
    assert other.message(first)["header"]["status"] == "discarded"

    edited = client.resubmit([second], body='{"text": "up"}')
    assert edited == {"id": second, "status": "discarded", "resubmitted_as": edited[
        "resubmitted_as"]}
    copy = wait_for(lambda: (m := other.message(edited["resubmitted_as"]))["header"]["status"]
                    == "completed" and m, timeout=30, what="the edited copy to complete")
    assert copy["body"] == '{"text":"up"}'
    assert client.suspended() == other.suspended() == []
    with pytest.raises(ClientError, match="is completed, not suspended|is discarded"):
        client.resubmit([second])


def test_purge_keeps_recent_sessions(client: Client, other: Client) -> None:
    ping(client, "kept")
    counts = other.message_counts()
    kept = client.purge(3650)
    assert (kept["sessions"], kept["headers"]) == (0, 0)
    # A dry run counts what would go and deletes nothing, the same both ways.
    sessions = len({m["session_id"] for m in other.search_messages({}, limit=900)["messages"]})
    would = client.purge(0, include_incomplete=True, dry_run=True)
    assert would == other.purge(0, include_incomplete=True, dry_run=True)
    assert would["dry_run"] is True and would["headers"] == sum(counts.values()) - 1
    assert would["sessions"] in (sessions - 1, sessions)  # the newest message always stays
    assert set(kept) == set(other.purge(3650, bodies=True))
    assert other.message_counts() == counts


def test_managed_alerts_are_listed_and_acted_on_alike(client: Client, other: Client,
                                                       namespace: str, mode: str) -> None:
    writer = LocalClient(namespace)
    try:  # an alert as an item logs one (log_alert): the store makes it a managed alert
        writer.store.log([r.LogEntry("alert", f"conformance alert ({mode})", "Router")])
    finally:
        writer.store.close()
    (found,) = [a for a in client.alerts("new")["alerts"]
                if a["text"] == f"conformance alert ({mode})"]
    assert found == other.alert(found["id"])  # the same fields either way
    done = client.alert_action(found["id"], "assign", owner="night shift", user="alice")
    assert done["owner"] == "night shift" and done["state"] == "new"
    # Locally the caller names who acted; a server records its authenticated account.
    assert done["notes"][-1]["user"] == ("alice" if mode == "local" else ADMIN[0])
    assert other.alert(found["id"])["owner"] == "night shift"
    with pytest.raises(ClientError, match="unknown alert action 'shred'"):
        client.alert_action(found["id"], "shred")
    client.alert_action(found["id"], "close", text="handled")
    assert found["id"] in [a["id"] for a in other.alerts("closed")["alerts"]]
    assert client.alert_counts() == other.alert_counts()
