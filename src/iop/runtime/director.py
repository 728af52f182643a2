"""Director: IoP's director protocol on a Client, plus in-process business services.

Like IoP's, a Director works on this host's engine (a ``LocalClient`` on the namespace's store)
unless remote settings are set (``IOP_URL``, or ``IOP_SETTINGS`` naming a file with
``REMOTE_SETTINGS``): then every call goes to that server's /api/iop through a
``RemoteClient``. Business services created in the caller's process need the local store.
"""

from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING, Any

from iop.client.base import Client
from iop.client.event_log import format_log_line
from iop.engine.errors import EngineError, UnknownProduction
from iop.engine.in_process_service import create_business_service
from iop.store.base import Store

if TYPE_CHECKING:
    from iop.client.local import LocalClient

# The clients are imported when first used: ``import iop`` (and so every job process) loads
# this module, and needs neither the HTTP client nor the local client's modules.

__all__ = ["Director"]

NOT_DEFINED = "Not defined"  # IoP's answer when no default production is set
FOLLOW_SECONDS = 0.5
SHUTDOWN_FORCE_SECONDS = 10.0  # IoP's shutdown: StopProduction(10, 1), forced after 10 s


class Director:
    """Production management (IoP's DirectorProtocol) and in-process business services."""

    def __init__(self, namespace: str | None = None, store: Store | None = None,
                 client: Client | None = None) -> None:
        if client is None:
            if store is not None:
                from iop.client.local import LocalClient

                client = LocalClient(store=store)
            else:
                from iop.client.connection import default_client

                client = default_client(namespace)
        self.client: Client = client
        self._services: dict[str, Any] = {}

    @property
    def namespace(self) -> str:
        return self.client.namespace

    @property
    def mode(self) -> str:
        """``local`` or ``remote``: where the calls go."""
        return self.client.mode

    @property
    def store(self) -> Store | None:
        """The local store, or None in remote mode."""
        local = self._local_client()
        return local.store if local is not None else None

    def _local_client(self) -> LocalClient | None:
        """The client as a LocalClient, or None in remote mode."""
        if self.client.mode != "local":
            return None
        from iop.client.local import LocalClient

        return self.client if isinstance(self.client, LocalClient) else None

    def _local_store(self, what: str) -> Store:
        store = self.store
        if store is None:
            raise EngineError(f"{what} needs the local engine; this Director works on "
                              f"{self.client.describe()}")
        return store

    # ------------------------------------------------------------ production lifecycle
    def get_default_production(self) -> str:
        """The default production's name, or ``Not defined``."""
        return self.client.get_default() or NOT_DEFINED

    def set_default_production(self, production_name: str = "") -> None:
        """Set (or, with an empty name, clear) the default production."""
        self.client.set_default(production_name)

    def list_productions(self) -> dict[str, Any]:
        """Every production of the namespace with its status and start/stop times."""
        return self.client.list_productions()

    def status_production(self) -> dict[str, Any]:
        """``{"Production": ..., "Status": ...}`` (remotely the server's ``production`` and
        ``status``, as IoP's remote director answers): the production component calls act
        on, the live one, else the default one (else the last one run)."""
        status = self.client.status()
        state = status.get("status") or "stopped"
        production = status.get("production") or ""
        if state == "stopped":  # start/stop_component then act on the default production
            production = self.client.get_default() or production
        if self.store is None:  # IoP's remote director answers with the server's own keys
            return {**status, "production": production or NOT_DEFINED}
        return {"Production": production or NOT_DEFINED, "Status": state}

    def start_production(self, production_name: str | None = None) -> None:
        """Start a production (the default one when no name is given), detached."""
        name = production_name or self.client.get_default()
        if not name:
            raise UnknownProduction("no production name given and no default production is set")
        self.client.start(name)

    def start_production_with_log(self, production_name: str | None = None) -> None:
        """Start a production, print its event log as it grows, and stop it on Ctrl+C."""
        self.start_production(production_name)
        try:
            self._follow_log()
        finally:
            self.stop_production()

    def stop_production(self) -> None:
        """Stop the running production (nothing happens when none runs)."""
        self.client.stop()

    def shutdown_production(self) -> None:
        """Stop the running production gracefully, forcing it after 10 s (IRIS's
        StopProduction(10, 1)); remotely the server's kill, as IoP's remote director."""
        local = self._local_client()
        if local is not None:
            local.stop(SHUTDOWN_FORCE_SECONDS)
        else:
            self.client.kill()

    def kill_production(self) -> None:
        """Force the running production to stop at once."""
        self.client.kill()

    def restart_production(self) -> None:
        """Restart the running (or default) production."""
        self.client.restart()

    def update_production(self) -> None:
        """Apply configuration changes to the running production."""
        self.client.update()

    def start_component(self, component_name: str) -> None:
        """Enable one item of the running (or default) production; its jobs start if it runs."""
        self.client.component("start", component_name)

    def stop_component(self, component_name: str) -> None:
        """Disable one item; its jobs stop if the production runs."""
        self.client.component("stop", component_name)

    def restart_component(self, component_name: str) -> None:
        """Stop then start one item."""
        self.client.component("restart", component_name)

    def list_bindings(self, unused_only: bool = False) -> list[dict[str, Any]]:
        """The class registry's bindings (only those no production uses, if asked)."""
        return self.client.bindings(unused_only)

    def unbind_component(self, iris_classname: str) -> None:
        """Remove one class binding."""
        self.client.unbind(iris_classname)

    # ------------------------------------------------------------ event log
    def log_production_top(self, top: int = 10) -> None:
        """Print the last ``top`` event log entries, oldest first."""
        production = self.client.status().get("production") or ""
        for entry in reversed(self.client.log(top=top)):
            print(format_log_line(entry, production))

    def log_production(self) -> None:
        """Print the last entries, then the event log as it grows until Ctrl+C."""
        self.log_production_top(10)
        self._follow_log()

    def _follow_log(self) -> None:
        top = self.client.log(top=1)
        last = int(top[0].get("id") or 0) if top else 0
        try:
            while True:
                production = self.client.status().get("production") or ""
                for entry in self.client.log(since_id=last):
                    last = max(last, int(entry.get("id") or 0))
                    print(format_log_line(entry, production), flush=True)
                time.sleep(FOLLOW_SECONDS)
        except KeyboardInterrupt:
            sys.stdout.flush()

    # ------------------------------------------------------------ testing
    def test_component(self, target: str | None, message: Any = None,
                       classname: str | None = None, body: str | dict[str, Any] | None = None,
                       restart: bool = True) -> Any:
        """Send one message to ``target`` of the running production and return the answer.

        Locally the answer is the response object (``restart`` is ignored, as in IoP);
        remotely ``message`` cannot travel, and the answer is the server's
        ``{"classname", "body", "truncated"}``.
        """
        local = self._local_client()
        if local is not None:
            from iop.client.local import build_message

            request = message if message is not None else build_message(classname, body)
            return local.test_message(target or "", request)
        from iop.client.remote import RemoteError
        from iop.errors import BodyRefused

        try:
            return self.client.test(target or "", classname, body, restart)
        except RemoteError as exc:  # IoP's remote director: RuntimeError, server's text
            raise RuntimeError(exc.detail if exc.detail is not None
                               else f"Remote test component error: {exc}") from exc
        except BodyRefused as exc:  # the server's text too, whatever it refused
            raise RuntimeError(str(exc)) from exc

    # ------------------------------------------------------------ exports and plans
    def export_production(self, production_name: str) -> dict[str, Any]:
        """The production's definition: ``{"Production": {...}}`` locally, keyed by its name
        remotely (the wire's shape, which IoP's remote director returns as is)."""
        definition = self.client.export(production_name)
        if self.store is None:
            return {production_name: definition.get("Production", definition)}
        return definition

    def export_production_connections(self, production_name: str) -> dict[str, Any]:
        """Each item's kind and the items it sends to."""
        return self.client.connections(production_name)

    def export_production_queue_info(self, production_name: str) -> dict[str, Any]:
        """Each item's queue counters."""
        return self.client.queues(production_name)

    def apply_production_plan(self, plan: dict[str, Any],
                              allow_destructive: bool = False) -> dict[str, Any]:
        """Apply a change plan (as a dict) to the local store; refused remotely, as in IoP."""
        if self.store is None:
            raise RuntimeError("Remote production plan apply is not supported in v1. "
                               "Run apply from a local IRIS environment.")
        from iop.production.deploy import apply_plan
        from iop.production.plan import ProductionChangePlan

        result = apply_plan(self.store, ProductionChangePlan.from_dict(plan),
                            allow_destructive=allow_destructive)
        return result.to_dict()

    # ------------------------------------------------------------ setup and migration
    def setup(self, path: str | None = None) -> None:
        """Create or upgrade the namespace (``path`` is IRIS's class folder: not needed)."""
        for line in self.client.initialize():
            print(line)

    def migrate(self, path: str, strict_production_validation: bool = False) -> None:
        """Register a settings file's classes and productions."""
        for line in self.client.migrate(path, strict=strict_production_validation):
            print(line)

    # ------------------------------------------------------------ business services
    def create_business_service(self, target: str) -> Any:
        """A new instance of the service item ``target``, sending through the local store."""
        return create_business_service(self._local_store("a business service"), target)

    def get_business_service(self, target: str, force_session_id: bool = False) -> Any:
        """The cached service instance for ``target`` in this process (created on first use).

        ``force_session_id`` is accepted for IoP's signature: every call of the service's
        on_process_input is a session of its own already.
        """
        service = self._services.get(target)
        if service is None:
            service = self._services[target] = self.create_business_service(target)
        return service

    # ------------------------------------------------------------ operations (engine extension)
    def recover_production(self) -> str:
        """Clean up a troubled production (its supervisor died); returns the state now."""
        return self.client.recover()["status"]

    def suspended_messages(self) -> list[dict[str, Any]]:
        """Suspended messages (headers), oldest first."""
        return self.client.suspended()

    def resubmit_messages(self, ids: list[int], body: str | None = None) -> Any:
        """Queue suspended messages again; with ``body`` (JSON text), an edited copy of one."""
        return self.client.resubmit(ids, body)

    def discard_messages(self, ids: list[int]) -> list[dict[str, Any]]:
        """Discard suspended messages for good (they stay in the trace)."""
        return self.client.discard(ids)

    def purge(self, keep_days: float = 7, bodies: bool = False,
              include_incomplete: bool = False) -> dict[str, Any]:
        """Delete complete sessions and event log lines older than ``keep_days`` days."""
        return self.client.purge(keep_days, bodies, include_incomplete)
