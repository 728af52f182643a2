"""What the client conformance tests share besides fixtures: the project they run, the error
both clients raise, opening either client, and comparing answers read at different moments."""

from __future__ import annotations

from typing import Any

from remote_server import ADMIN, SCENARIO_PRODUCTION, SCENARIO_SETTINGS, ServedEngine

from iop.client.base import Client
from iop.client.local import LocalClient
from iop.client.remote import RemoteClient
from iop.errors import IopError

# What both clients raise for a refused call: LocalClient the engine's or the production's own
# error, RemoteClient its RemoteError carrying the server's message; both are IopErrors.
ClientError = IopError

MODES = ("local", "remote")
ITEMS = ["Router", "Echo", "Gate", "Intake"]
PRODUCTION = SCENARIO_PRODUCTION
PING = "settings.PingMessage"
PONG = "settings.PongMessage"

# remote_server's scenario (Router -> Echo, which answers in upper case) and two more items:
# Gate suspends a request whose text is "down" (after retrying it for 1 s) and answers any
# other; Intake is a service (never a test target). Conformance.SpareOperation is bound but
# used by no item.
SETTINGS = SCENARIO_SETTINGS.replace("PRODUCTIONS = [prod]\n", "") + '''

from iop import BusinessService


class GateOperation(BusinessOperation):
    def on_message(self, request: PingMessage) -> PongMessage:
        if request.text == "down":
            raise ConnectionError("remote system down")
        return PongMessage(text=request.text)


class Intake(BusinessService):
    def on_process_input(self, request):
        return self.send_request_sync("Router", request)


prod.operation("Gate", GateOperation).host_settings_update({
    "ReplyCodeActions": "E=RS", "RetryInterval": 0.2, "FailureTimeout": 1})
prod.service("Intake", Intake)
PRODUCTIONS = [prod]
CLASSES = {"Conformance.SpareOperation": EchoOperation}
'''


def open_client(mode: str, served: ServedEngine, namespace: str) -> Client:
    """A LocalClient on this host's IOP_HOME, or a RemoteClient on the served engine."""
    if mode == "local":
        return LocalClient(namespace)
    return RemoteClient(served.url, *ADMIN, namespace=namespace)


def close_client(client: Client) -> None:
    if isinstance(client, LocalClient):
        client.store.close()
    elif isinstance(client, RemoteClient):
        client.close()


def other_mode(mode: str) -> str:
    return "remote" if mode == "local" else "local"


def migrate_locally(namespace: str, settings_file: str) -> None:
    """Load the project into ``namespace`` from this host, as `iop -m` does."""
    local = LocalClient(namespace)
    try:
        assert local.migrate(settings_file)[-1] == "Migration succeeded"
    finally:
        local.store.close()


# Fields that move between two reads: heartbeats and ages.
CLOCK_FIELDS = ("idle_seconds", "last_activity", "oldest_age", "heartbeat", "heartbeat_age")


def without_clock(value: Any) -> Any:
    """``value`` without the fields that say how long ago something happened (they move
    between two reads)."""
    if isinstance(value, dict):
        return {k: without_clock(v) for k, v in value.items()
                if k not in CLOCK_FIELDS}
    if isinstance(value, list):
        return [without_clock(v) for v in value]
    return value
