"""Director: drive productions and create business services inside the caller's own process."""

from __future__ import annotations

import functools
import os
import sys
import time
from typing import Any

from iop.engine import control, maintenance, registry, suspended
from iop.engine.config import parse_production
from iop.engine.errors import EngineError, UnknownItem, UnknownProduction
from iop.engine.hosts import make_host
from iop.engine.runtime import HostRuntime
from iop.store import open_store
from iop.store.base import Store


class Director:
    """Production management and in-process business services (e.g. inside a Flask app)."""

    def __init__(self, namespace: str | None = None, store: Store | None = None) -> None:
        self.store = store or open_store(namespace)
        self._services: dict[str, Any] = {}

    # ------------------------------------------------------------ production management
    def start_production(self, production_name: str | None = None) -> None:
        """Start a production (the default one when no name is given), detached."""
        name = production_name or self.get_default_production()
        if not name:
            raise UnknownProduction("no production name given and no default production is set")
        control.start_detached(self.store, name)

    def stop_production(self) -> None:
        """Stop the running production."""
        control.stop(self.store)

    def shutdown_production(self) -> None:
        """Gracefully shut the production down."""
        control.stop(self.store)

    def kill_production(self) -> None:
        """Force the production to stop."""
        control.kill(self.store)

    def restart_production(self) -> None:
        """Restart the running (or default) production."""
        control.restart(self.store, self.get_default_production())

    def update_production(self) -> None:
        """Apply configuration changes to the running production."""
        control.update(self.store)

    def status_production(self) -> dict[str, str]:
        """Current production name and status."""
        production, status = control.current_status(self.store)
        return {"Production": production, "Status": status}

    def set_default_production(self, production_name: str) -> None:
        self.store.set_meta("default_production", production_name)

    def get_default_production(self) -> str:
        return self.store.get_meta("default_production")

    # ------------------------------------------------------------ business services
    def create_business_service(self, target: str) -> Any:
        """A new instance of the service item ``target``, sending through the store."""
        production, status = control.current_status(self.store)
        name = production if status != "stopped" and production else self.get_default_production()
        definition = self.store.get_production(name) if name else None
        if definition is None:
            raise UnknownProduction("no running or default production to take the service from")
        item = parse_production(definition).item(target)
        if item is None:
            raise UnknownItem(f"item {target} is not in production {name}")
        runtime = HostRuntime(self.store, target, f"director:{os.getpid()}", name)
        host = make_host(self.store, item, runtime).host
        _one_session_per_input(host, runtime)
        return host

    def get_business_service(self, target: str) -> Any:
        """The cached service instance for ``target`` in this process (created on first use)."""
        service = self._services.get(target)
        if service is None:
            service = self._services[target] = self.create_business_service(target)
        return service

    def test_component(self, target: str, message: Any = None, classname: str | None = None,
                       body: Any = None, restart: bool = False) -> Any:
        """Send one message synchronously to ``target`` and return its response object."""
        from iop.client.local import TESTING_SOURCE, build_message

        registry.add_classpaths(self.store.list_classpaths())
        request = message if message is not None else build_message(classname, body)
        runtime = HostRuntime(self.store, TESTING_SOURCE, f"director:{os.getpid()}")
        return runtime.send(None, target, request, sync=True, timeout=-1)

    # ------------------------------------------------------------ operations
    def recover_production(self) -> str:
        """Clean up a troubled production (its supervisor died); returns the state now."""
        return control.recover(self.store)

    def suspended_messages(self) -> list[dict[str, Any]]:
        """Suspended messages (headers), oldest first."""
        return [h.to_dict() for h in suspended.list_suspended(self.store)]

    def resubmit_messages(self, ids: list[int], body: str | None = None) -> Any:
        """Queue suspended messages again; with ``body`` (JSON text), an edited copy of one."""
        if body is not None:
            if len(ids) != 1:
                raise EngineError("an edited body resubmits exactly one message")
            return suspended.resubmit_edited(self.store, ids[0], body)
        return suspended.resubmit(self.store, ids)

    def discard_messages(self, ids: list[int]) -> list[dict[str, Any]]:
        """Discard suspended messages for good (they stay in the trace)."""
        return suspended.discard(self.store, ids)

    def purge(self, keep_days: float = 7, bodies: bool = False,
              include_incomplete: bool = False) -> dict[str, Any]:
        """Delete complete sessions and event log lines older than ``keep_days`` days."""
        return maintenance.purge(self.store, keep_days, bodies=bodies,
                                 include_incomplete=include_incomplete)

    # ------------------------------------------------------------ log
    def log_production_top(self, top: int = 10) -> None:
        """Print the last ``top`` event log entries, oldest first."""
        production = control.current_status(self.store)[0]
        for entry in reversed(self.store.log_top(top)):
            print(format_log_line(entry.to_dict(), production))

    def log_production(self) -> None:
        """Print the event log as it grows until Ctrl+C."""
        last = 0
        top = self.store.log_top(1)
        if top:
            last = top[0].id
        try:
            while True:
                for entry in self.store.log_since(last):
                    last = entry.id
                    print(format_log_line(entry.to_dict(), control.current_status(self.store)[0]),
                          flush=True)
                time.sleep(0.2)
        except KeyboardInterrupt:
            sys.stdout.flush()


def _one_session_per_input(host: Any, runtime: HostRuntime) -> None:
    """Make each call of the service's on_process_input one session, as a job's adapter does."""
    process_input = host.on_process_input

    @functools.wraps(process_input)
    def in_session(*args: Any, **kwargs: Any) -> Any:
        with runtime.begin_input(host):
            return process_input(*args, **kwargs)

    host.on_process_input = in_session


def format_log_line(entry: dict[str, Any], production: str = "") -> str:
    """One log entry as the seed shows it: ``time [item] TYPE: text``.

    Production-level entries (no item) show the production's name, as IRIS does.
    """
    where = entry.get("config_name") or production or "production"
    return f"{entry['time_logged']} [{where}] {str(entry['type']).upper()}: {entry['text']}"
