"""The state light of a production item, by the rules of IRIS's Production Monitor and
configuration diagram: one pure function of what the monitor read, so it is tested alone.

Colours (the portal's CSS): running green, error red, retrying purple, inactive yellow,
disabled grey (hollow), stopped dark grey. An error stays until an operator acknowledges it.
"""

from __future__ import annotations

from dataclasses import dataclass

RUNNING, ERROR, RETRYING = "running", "error", "retrying"
INACTIVE, DISABLED, STOPPED = "inactive", "disabled", "stopped"
LIGHTS = (RUNNING, ERROR, RETRYING, INACTIVE, DISABLED, STOPPED)

MEANING = {
    RUNNING: "running",
    ERROR: "an error not yet acknowledged",
    RETRYING: "retrying a message that failed",
    INACTIVE: "running, but idle for longer than its InactivityTimeout",
    DISABLED: "disabled in the configuration",
    STOPPED: "enabled, but not running",
}


@dataclass(frozen=True)
class ItemState:
    """What decides an item's light."""

    enabled: bool
    production_running: bool
    jobs: int  # the item's live jobs
    unacknowledged_error: bool
    retrying: bool
    inactivity_timeout: float = 0.0  # seconds; 0 never inactive
    idle_seconds: float | None = None  # since its last activity; None: never active


def light(state: ItemState) -> str:
    """The light of one item; the first rule that holds wins.

    Disabled beats all (IRIS greys out a disabled item whatever happened before); an
    unacknowledged error shows even once the item stopped, so a crash is not hidden; then
    stopped, retrying, inactive, and running."""
    if not state.enabled:
        return DISABLED
    if state.unacknowledged_error:
        return ERROR
    if not state.production_running or state.jobs <= 0:
        return STOPPED
    if state.retrying:
        return RETRYING
    if state.inactivity_timeout > 0 and state.idle_seconds is not None \
            and state.idle_seconds > state.inactivity_timeout:
        return INACTIVE
    return RUNNING
