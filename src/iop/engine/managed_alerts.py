"""Managed alerts, as IRIS's Managed Alerts: every alert the production raises (an event log
entry of type alert; the store turns each into one, see the store schema) has a state,
an owner and notes, which operators change through the actions here.

States: ``new`` (just raised), ``acknowledged`` (someone has seen it), ``closed`` (dealt
with). An alert is *open* until closed. Actions: acknowledge (new → acknowledged), assign
(set or clear the owner), note (add words), close (→ closed, with optional words) and
reopen (closed → acknowledged). Each is recorded with the account that took it.
"""

from __future__ import annotations

from typing import Any

from iop.engine.errors import EngineError
from iop.store import records as r
from iop.store.base import Store

NEW, ACKNOWLEDGED, CLOSED = r.ALERT_STATES
OPEN_STATES = (NEW, ACKNOWLEDGED)
ACTIONS = ("acknowledge", "assign", "note", "close", "reopen")
MAX_NOTE = 4000  # characters of one note
MAX_OWNER = 128  # characters of an owner's name
MAX_PAGE = 500
STATE_CHOICES = {"open": OPEN_STATES, "new": (NEW,), "acknowledged": (ACKNOWLEDGED,),
                 "closed": (CLOSED,), "all": r.ALERT_STATES}


class UnknownAlert(EngineError):
    """No managed alert has the id asked for."""


class AlertRefused(EngineError):
    """An action the alert's state forbids now (acknowledging a closed alert...)."""


class BadAlertInput(EngineError, ValueError):
    """An unknown action or state filter, or words too long: bad input."""


def states_of(choice: str | None) -> tuple[str, ...]:
    """The states a list's ``state`` filter names (open, new, acknowledged, closed, all)."""
    found = STATE_CHOICES.get((choice or "open").strip().lower())
    if found is None:
        raise BadAlertInput(f"unknown alert state {choice!r}: use one of "
                           f"{', '.join(STATE_CHOICES)}")
    return found


def alert_page(store: Store, state: str | None = "open", item: str | None = None,
               before_id: int | None = None, limit: int = 50) -> dict[str, Any]:
    """One page of managed alerts, newest first, the id to page on from, and the counts by
    state (for the list's tabs and the navigation)."""
    limit = max(1, min(MAX_PAGE, limit))
    found = store.list_alerts(states=states_of(state), item=item or None,
                              before_id=before_id, limit=limit + 1)
    more = len(found) > limit
    found = found[:limit]
    return {"alerts": [a.to_dict() for a in found],
            "next_before_id": found[-1].id if more else None,
            "counts": counts(store)}


def counts(store: Store, open_only: bool = False) -> dict[str, int]:
    """Managed alerts by state, every state named, and ``open`` (new + acknowledged);
    ``open_only`` leaves the closed ones uncounted (0), which the navigation's badge needs
    not read."""
    found = store.alert_counts(OPEN_STATES if open_only else r.ALERT_STATES)
    every = {state: found.get(state, 0) for state in r.ALERT_STATES}
    every["open"] = every[NEW] + every[ACKNOWLEDGED]
    return every


def get(store: Store, alert_id: int) -> r.ManagedAlert:
    found = store.get_alert(alert_id)
    if found is None:
        raise UnknownAlert(f"alert {alert_id} does not exist in namespace {store.namespace}")
    return found


def act(store: Store, alert_id: int, action: str, user: str, owner: str | None = None,
        text: str = "") -> dict[str, Any]:
    """Take ``action`` on alert ``alert_id`` as ``user`` and return the alert as it is now.
    AlertRefused names what is wrong (unknown action, a closed alert, words too long)."""
    if action not in ACTIONS:
        raise BadAlertInput(f"unknown alert action {action!r}: use one of {', '.join(ACTIONS)}")
    text = (text or "").strip()
    if len(text) > MAX_NOTE:
        raise BadAlertInput(f"a note holds at most {MAX_NOTE} characters, this one has "
                           f"{len(text)}")
    alert = get(store, alert_id)
    state, new_owner = alert.state, alert.owner
    if action == "reopen":
        if alert.state != CLOSED:
            raise AlertRefused(f"alert {alert_id} is {alert.state}, not closed; only a closed "
                               "alert can be reopened")
        state = ACKNOWLEDGED
    elif alert.state == CLOSED:
        raise AlertRefused(f"alert {alert_id} is closed; reopen it first to {action} it")
    elif action == "acknowledge":
        if alert.state != NEW:
            raise AlertRefused(f"alert {alert_id} is already {alert.state}")
        state = ACKNOWLEDGED
    elif action == "assign":
        new_owner = (owner or "").strip()
        if len(new_owner) > MAX_OWNER or any(not c.isprintable() for c in new_owner):
            raise BadAlertInput(f"an owner is a printable name of at most {MAX_OWNER} "
                               "characters")
        text = text or (f"assigned to {new_owner}" if new_owner else "owner cleared")
    elif action == "note":
        if not text:
            raise BadAlertInput("a note needs some words")
    else:  # close
        state = CLOSED
    with store.transaction() as tx:
        if not tx.update_alert(alert_id, alert.state, state, new_owner, user or "anonymous",
                               action, text):
            raise AlertRefused(f"alert {alert_id} changed meanwhile; look at it again and "
                               "retry")
    return get(store, alert_id).to_dict()
