"""Business services created inside the caller's own process (for iop.runtime.director's
Director)."""

from __future__ import annotations

import functools
import os
from typing import Any

from iop.engine import control
from iop.engine.config import parse_production
from iop.engine.durability import apply_setting
from iop.engine.errors import UnknownItem, UnknownProduction
from iop.engine.host_runtime import HostRuntime
from iop.engine.hosts import make_host
from iop.store.base import Store


def create_business_service(store: Store, target: str) -> Any:
    """A new instance of the service item ``target`` of the running (else the default)
    production, sending through ``store``."""
    production, status = control.current_status(store)
    name = production if status != "stopped" and production else store.get_meta(
        "default_production")
    definition = store.get_production(name) if name else None
    if definition is None:
        raise UnknownProduction("no running or default production to take the service from")
    config = parse_production(definition)
    item = config.item(target)
    if item is None:
        raise UnknownItem(f"item {target} is not in production {name}")
    apply_setting(store, config.settings)
    runtime = HostRuntime(store, target, f"director:{os.getpid()}", name)
    host = make_host(store, item, runtime).host
    _one_session_per_input(host, runtime)
    return host


def _one_session_per_input(host: Any, runtime: HostRuntime) -> None:
    """Make each call of the service's on_process_input one session, as a job's adapter does."""
    process_input = host.on_process_input

    @functools.wraps(process_input)
    def in_session(*args: Any, **kwargs: Any) -> Any:
        with runtime.begin_input(host):
            return process_input(*args, **kwargs)

    host.on_process_input = in_session
