"""Client methods that start, stop and change a running production: start, stop, kill,
restart, update, component start/stop/restart, hosts, jobs and queues while it runs.

Each test starts the production in a namespace of its own through ``client`` and reads the
outcome through ``other`` (the other path to the same namespace).
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from conformance_support import (
    ITEMS,
    PING,
    PONG,
    PRODUCTION,
    ClientError,
    migrate_locally,
    without_clock,
)

from iop.client.base import Client


@pytest.fixture
def deployed(client: Client, other: Client, namespace: str,
             settings_file: str) -> Iterator[None]:
    """The project migrated into the namespace, with its production as the default; whatever
    the test started is killed afterwards."""
    migrate_locally(namespace, settings_file)
    other.set_default(PRODUCTION)
    yield
    other.kill()


def running_items(reader: Client) -> dict[str, int]:
    """Item -> number of its running jobs, as the namespace's jobs say."""
    counts: dict[str, int] = {}
    for job in reader.jobs():
        if job["state"] == "running":
            counts[job["item"]] = counts.get(job["item"], 0) + 1
    return counts


def running_pids(reader: Client) -> set[int]:
    return {job["pid"] for job in reader.jobs() if job["state"] == "running"}


@pytest.mark.usefixtures("deployed")
def test_start_and_stop(client: Client, other: Client) -> None:
    assert client.start(PRODUCTION) == {"status": "started", "production": PRODUCTION}
    assert other.status() == client.status() == {"production": PRODUCTION, "status": "running"}
    assert other.list_productions()[PRODUCTION]["Status"] == "Running"
    assert running_items(other) == {item: 1 for item in ITEMS}
    with pytest.raises(ClientError, match=f"production {PRODUCTION} is already running"):
        client.start(PRODUCTION)
    with pytest.raises(ClientError, match="is running normally; nothing to recover"):
        client.recover()

    assert client.stop() == {"status": "stopped"}
    assert other.status()["status"] == "stopped"
    assert other.list_productions()[PRODUCTION]["Status"] == "Stopped"
    assert running_items(other) == {}


@pytest.mark.usefixtures("deployed")
def test_start_without_a_name_starts_the_default(client: Client, other: Client) -> None:
    assert client.start() == {"status": "started", "production": PRODUCTION}
    assert other.status() == {"production": PRODUCTION, "status": "running"}


@pytest.mark.usefixtures("deployed")
def test_kill(client: Client, other: Client, pid_alive: Callable[[int], bool],
              wait_for: Callable[..., Any]) -> None:
    other.start(PRODUCTION)
    pids = running_pids(other)
    assert len(pids) == len(ITEMS)
    assert client.kill() == {"status": "killed"}
    assert other.status()["status"] == "stopped"
    assert running_items(other) == {}
    wait_for(lambda: not [pid for pid in pids if pid_alive(pid)], timeout=15,
             what="the killed jobs to end")


@pytest.mark.usefixtures("deployed")
def test_restart_replaces_every_job(client: Client, other: Client) -> None:
    other.start(PRODUCTION)
    before = running_pids(other)
    assert client.restart() == {"status": "restarted"}
    assert other.status() == {"production": PRODUCTION, "status": "running"}
    after = running_pids(other)
    assert len(after) == len(ITEMS) and not before & after
    assert client.test("Router", PING, '{"text": "again"}')["body"] == '{"text":"AGAIN"}'


@pytest.mark.usefixtures("deployed")
def test_update_applies_a_changed_item(client: Client, other: Client,
                                       wait_for: Callable[..., Any]) -> None:
    other.start(PRODUCTION)
    saved = other.save_item(PRODUCTION, "Echo", {"pool_size": "2"})
    assert saved["update_needed"] is True
    assert [row["update_needed"] for row in client.productions_overview()] == [True]
    assert client.update() == {"status": "updated"}
    assert wait_for(lambda: running_items(other).get("Echo") == 2, timeout=30,
                    what="the second Echo job")
    assert [row["update_needed"] for row in other.productions_overview()] == [False]


@pytest.mark.usefixtures("deployed")
def test_component_stop_start_and_restart(client: Client, other: Client,
                                          wait_for: Callable[..., Any]) -> None:
    other.start(PRODUCTION)
    client.component("stop", "Echo")
    assert wait_for(lambda: "Echo" not in running_items(other), timeout=30,
                    what="Echo's job to end")
    assert _enabled(other, "Echo") is False  # the change persists in the definition
    with pytest.raises(ClientError, match="item Echo is disabled"):
        other.test("Echo", PING, '{"text": "x"}')

    client.component("start", "Echo")
    assert wait_for(lambda: running_items(other).get("Echo") == 1, timeout=30,
                    what="Echo's job to come back")
    assert _enabled(other, "Echo") is True
    pid = {j["pid"] for j in other.jobs() if j["item"] == "Echo" and j["state"] == "running"}

    client.component("restart", "Echo")
    assert wait_for(lambda: {j["pid"] for j in other.jobs() if j["item"] == "Echo"
                             and j["state"] == "running"} - pid, timeout=30,
                    what="a new Echo job")
    assert other.test("Echo", PING, '{"text": "x"}') == {"classname": PONG,
                                                          "body": '{"text":"X"}',
                                                          "truncated": False}


@pytest.mark.usefixtures("deployed")
def test_recover_after_the_supervisor_died(client: Client, other: Client,
                                           pid_alive: Callable[[int], bool],
                                           wait_for: Callable[..., Any]) -> None:
    other.start(PRODUCTION)
    supervisor = other.hosts()["hosts"][0]["supervisor_pid"]
    os.kill(supervisor, signal.SIGKILL)
    wait_for(lambda: not pid_alive(supervisor), timeout=15, what="the supervisor to die")
    assert wait_for(lambda: client.status()["status"] == "troubled", timeout=30,
                    what="the production to be troubled")
    assert other.status() == {"production": PRODUCTION, "status": "troubled"}
    assert client.recover() == {"production": PRODUCTION, "status": "stopped"}
    assert other.status()["status"] == "stopped"
    assert any("recovered after its supervisor died" in e["text"] for e in other.log(top=10))
    assert other.start(PRODUCTION)["status"] == "started"  # it can start again


@pytest.mark.usefixtures("deployed")
def test_hosts_jobs_and_queues_of_a_running_production(client: Client, other: Client) -> None:
    other.start(PRODUCTION)
    hosts = client.hosts()
    assert without_clock(hosts) == without_clock(other.hosts())
    assert (hosts["production"], hosts["status"]) == (PRODUCTION, "running")
    assert [(h["production"], h["status"], h["alive"]) for h in hosts["hosts"]] == [
        (PRODUCTION, "running", True)]

    jobs = client.jobs()
    assert without_clock(jobs) == without_clock(other.jobs())
    assert sorted(job["item"] for job in jobs) == sorted(ITEMS)

    queues = client.queues()  # no name: the default production
    assert queues == other.queues(PRODUCTION)
    assert [(q["item"], q["exists"], q["count"]) for q in queues["items"]] == [
        (item, True, 0) for item in ITEMS]
    assert without_clock(client.queue_details()) == without_clock(other.queue_details())


def _enabled(reader: Client, item: str) -> bool:
    rows = reader.configuration(PRODUCTION)["items"]
    return bool(next(row for row in rows if row["name"] == item)["enabled"])
