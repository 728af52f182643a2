"""The operator's views of a namespace on the local store: productions overview, message
search, a message, a session's trace, resend, event log search, queues and jobs.

A mixin of LocalClient; every result is plain JSON so the remote API can send it unchanged
and RemoteClient returns the same shapes.
"""

from __future__ import annotations

import calendar
import json
import time
from typing import Any

from iop.engine import control, managed_alerts, queue_actions
from iop.engine.config import parse_production
from iop.engine.errors import EngineError, UnknownItem
from iop.store import queries as q
from iop.store import records as r
from iop.store.base import Store

PAGE_SIZE = 50
_TIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M",
                 "%Y-%m-%d")
RESENT_FROM = "Resent from message "


class MessageNotFound(EngineError):
    """No message has the id asked for."""


def parse_time(text: str, what: str) -> float | None:
    """Epoch seconds of a UTC time written as the portal shows times (or epoch seconds)."""
    value = (text or "").strip()
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    for pattern in _TIME_FORMATS:
        try:
            return float(calendar.timegm(time.strptime(value.split(".")[0], pattern)))
        except ValueError:
            continue
    raise EngineError(f"{what} {value!r} is not a time (write YYYY-MM-DD HH:MM:SS, UTC)")


def _whole(text: Any, what: str) -> int | None:
    if text in (None, ""):
        return None
    try:
        return int(str(text).strip())
    except ValueError as exc:
        raise EngineError(f"{what} must be a whole number, got {text!r}") from exc


def message_filter(params: dict[str, Any]) -> q.MessageFilter:
    """A MessageFilter from query parameters (texts); EngineError names a bad one."""
    status = (params.get("status") or "").strip().lower() or None
    if status is not None and status not in r.STATUSES:
        raise EngineError(f"status {status!r} is not one of {', '.join(r.STATUSES)}")
    kind = (params.get("type") or "").strip().lower() or None
    if kind is not None and kind not in (r.REQUEST, r.RESPONSE):
        raise EngineError(f"type {kind!r} is not request or response")
    text = lambda key: (params.get(key) or "").strip() or None  # noqa: E731
    return q.MessageFilter(
        since=parse_time(params.get("since") or "", "since"),
        until=parse_time(params.get("until") or "", "until"),
        source=text("source"), target=text("target"), status=status, type=kind,
        body_class=text("body_class"), session_id=_whole(params.get("session_id"), "session"),
        text=text("text"))


def log_filter(params: dict[str, Any]) -> q.LogFilter:
    kind = (params.get("type") or "").strip().lower() or None
    if kind is not None and kind not in r.LOG_TYPES:
        raise EngineError(f"log type {kind!r} is not one of {', '.join(r.LOG_TYPES)}")
    return q.LogFilter(type=kind, item=(params.get("item") or "").strip() or None,
                       session_id=_whole(params.get("session_id"), "session"),
                       text=(params.get("text") or "").strip() or None)


def header_view(h: r.Header) -> dict[str, Any]:
    """A header as JSON, with its times also as epoch seconds (for durations and diagrams)."""
    view = h.to_dict()
    view.update(created=h.created, processed=h.processed, body_id=h.body_id,
                resent_from=_resent_from(h.description))
    return view


def _resent_from(description: str | None) -> int | None:
    if description and description.startswith(RESENT_FROM):
        head = description[len(RESENT_FROM):].split()[0] if description[len(RESENT_FROM):] \
            else ""
        return int(head) if head.isdigit() else None
    return None


class OperatorViews:
    """Views for the portal (and the remote API's engine extension) on ``self.store``."""

    store: Store
    namespace: str

    def get_default(self) -> str:
        raise NotImplementedError  # provided by LocalClient

    # ------------------------------------------------------------ productions
    def productions_overview(self) -> list[dict[str, Any]]:
        """Each production: status, whether it is the default, and whether the running one
        differs from its stored definition (it needs an update)."""
        running, status = control.current_status(self.store)
        default = self.get_default()
        rows = []
        for p in self.store.list_productions():
            name = p["name"]
            state = status if name == running else "stopped"
            update_needed = False
            if state in ("running", "troubled", "suspended"):
                applied = self.store.get_applied(name)
                stored = self.store.get_production(name)
                update_needed = applied is not None and json.dumps(applied, sort_keys=True) \
                    != json.dumps(stored, sort_keys=True)
            rows.append({"name": name, "status": state, "default": name == default,
                         "last_start": r.format_time(p["last_start"]),
                         "last_stop": r.format_time(p["last_stop"]),
                         "update_needed": update_needed})
        return rows

    def configuration(self, production: str) -> dict[str, Any]:
        """Items, settings (with their editors) and routes of ``production``."""
        from iop.client.item_config import configuration

        return configuration(self.store, production)

    def save_item(self, production: str, item: str, changes: dict[str, Any]) -> dict[str, Any]:
        """Validate and store changes to one item's configuration (see item_config)."""
        from iop.client.item_config import save_item

        return save_item(self.store, production, item, changes,
                         control.current_status(self.store))

    def save_production_settings(self, production: str,
                                 changes: dict[str, Any]) -> dict[str, Any]:
        """Validate and store production-level settings (ShutdownTimeout, PurgeKeepDays...):
        all or nothing, see production_settings."""
        from iop.client import production_settings

        return production_settings.save(self.store, production, changes,
                                        control.current_status(self.store))

    # ------------------------------------------------------------ messages
    def search_messages(self, filters: dict[str, Any] | None = None, before_id: int | None = None,
                        after_id: int | None = None, limit: int = PAGE_SIZE) -> dict[str, Any]:
        """One page of message headers matching ``filters`` (texts), newest first; one more
        row is read than shown, to tell whether an older page exists."""
        f = message_filter(filters or {})
        limit = max(1, min(q.MAX_PAGE - 1, int(limit)))
        rows = self.store.search_messages(f, before_id=before_id, after_id=after_id,
                                          limit=limit + 1)
        if after_id is not None and before_id is None:
            newer = len(rows) > limit
            rows = rows[-limit:] if newer else rows
            older = True
        else:
            older = len(rows) > limit
            rows = rows[:limit]
            newer = before_id is not None
        return {"messages": [header_view(h) for h in rows], "has_older": older,
                "has_newer": newer, "filters": f.active()}

    def message_choices(self) -> dict[str, list[str]]:
        """Values worth offering in the viewer's filters: item names and body classes."""
        items: set[str] = set()
        for p in self.store.list_productions():
            definition = self.store.get_production(p["name"]) or {}
            try:
                items.update(i.name for i in parse_production(definition).items)
            except EngineError:
                continue
        return {"items": sorted(items), "body_classes": self.store.recent_body_classes(),
                "statuses": list(r.STATUSES)}

    def message(self, message_id: int) -> dict[str, Any]:
        """A message's header, body text, and the request/response it corresponds to."""
        header = self.store.get_header(int(message_id))
        if header is None:
            raise MessageNotFound(f"message {message_id} does not exist in namespace "
                                  f"{self.namespace}")
        return {"header": header_view(header), "body": self.store.get_body(header)}

    def trace(self, session_id: int) -> dict[str, Any]:
        """Every message of a session in order, and its event log lines."""
        headers = self.store.query_headers(session_id=int(session_id), limit=0,
                                           oldest_first=True)
        log = self.store.search_log(q.LogFilter(session_id=int(session_id)), limit=500)
        return {"session_id": int(session_id), "messages": [header_view(h) for h in headers],
                "log": [e.to_dict() for e in reversed(log)]}

    def resend(self, message_ids: list[int], new_session: bool = False,
               user: str = "") -> list[dict[str, Any]]:
        """Send each request again, whatever its status (completed, error, discarded...), as
        a new message with the same body to the same target (IRIS's resend; a suspended one
        is resubmitted instead, as the same message).

        The new message names the original in its description ("Resent from message N") and
        stays in the original's session unless ``new_session``; each resend is logged.
        """
        running, _ = control.current_status(self.store)
        production = running or self.get_default()
        definition = self.store.get_production(production) if production else None
        items = {i.name for i in parse_production(definition).items} if definition else set()
        originals = []
        for message_id in message_ids:
            header = self.store.get_header(int(message_id))
            if header is None:
                raise MessageNotFound(f"message {message_id} does not exist in namespace "
                                      f"{self.namespace}; nothing was resent")
            if header.type != r.REQUEST:
                raise EngineError(f"message {message_id} is a response; only requests can be "
                                  "resent, nothing was resent")
            if header.target not in items:
                raise UnknownItem(f"message {message_id} went to {header.target}, which is not "
                                  f"an item of production {production or '(none)'}; nothing "
                                  "was resent")
            body = self.store.get_body(header)
            if body is None and header.body_class:
                raise EngineError(f"message {message_id}'s body was purged; it cannot be "
                                  "resent, nothing was resent")
            originals.append((header, body))
        results = []
        by = f" by {user}" if user else ""
        for header, body in originals:
            draft = r.MessageDraft(
                source=header.source, target=header.target, body_class=header.body_class,
                body_text=body, priority=r.ASYNC,
                session_id=None if new_session else header.session_id,
                description=f"{RESENT_FROM}{header.id}{by}")
            new_id = self.store.send([draft])[0]
            session = new_id if new_session else header.session_id
            self.store.log([r.LogEntry(
                "info", f"message {header.id} resent to {header.target} as message {new_id}{by}",
                item=header.target, session_id=session, message_id=new_id,
                source_class="iop.portal", source_method="resend")])
            results.append({"original": header.id, "resent": new_id, "session_id": session,
                            "target": header.target})
        self.store.flush_acknowledged()  # durable before the caller is told
        return results

    # ------------------------------------------------------------ log, queues, jobs
    def search_log(self, filters: dict[str, Any] | None = None, before_id: int | None = None,
                   after_id: int | None = None, limit: int = 100) -> list[dict[str, Any]]:
        """One page of event log entries matching ``filters`` (texts), newest first."""
        entries = self.store.search_log(log_filter(filters or {}), before_id=before_id,
                                        after_id=after_id, limit=max(1, min(q.MAX_PAGE, limit)))
        return [e.to_dict() for e in entries]

    def queue_details(self, production: str | None = None) -> dict[str, Any]:
        """Per item of the production (and any other queue): waiting count, oldest age."""
        name = production or control.current_status(self.store)[0] or self.get_default()
        definition = self.store.get_production(name) if name else None
        items = [i.name for i in parse_production(definition).items] if definition else []
        stats = self.store.queue_stats()  # item -> (count, oldest enqueue time)
        now = time.time()
        rows = []
        for item in items + sorted(set(stats) - set(items)):
            count, oldest = stats.get(item, (0, None))
            rows.append({"item": item, "count": count,
                         "oldest": r.format_time(oldest),
                         "oldest_age": round(now - oldest, 3) if oldest else None,
                         "in_production": item in items})
        return {"production": name or "", "items": rows}

    def queue_messages(self, item: str, after_id: int | None = None,
                       limit: int = PAGE_SIZE) -> dict[str, Any]:
        """One page of ``item``'s queue, oldest first: waiting and in-progress messages."""
        return queue_actions.queue_page(self.store, item, after_id, limit)

    def queue_action(self, item: str, message_ids: list[int], action: str,
                     user: str = "") -> list[dict[str, Any]]:
        """Abort or suspend waiting messages of ``item``'s queue (all or nothing), logged
        with ``user``; a message in progress is refused."""
        return queue_actions.act(self.store, item, [int(i) for i in message_ids], action, user)

    def jobs(self) -> list[dict[str, Any]]:
        """Every job the namespace's supervisors recorded (all hosts on PostgreSQL)."""
        records = self.store.list_jobs()  # every host's
        now = time.time()
        return [{"id": j.id, "item": j.item, "slot": j.slot, "pid": j.pid, "host": j.host,
                 "state": j.state, "started": r.format_time(j.started),
                 "last_activity": r.format_time(j.heartbeat),
                 "idle_seconds": round(max(0.0, now - j.heartbeat), 1),
                 "processed": j.processed} for j in records]

    def alerts(self, state: str | None = "open", item: str | None = None,
               before_id: int | None = None, limit: int = 50) -> dict[str, Any]:
        """One page of managed alerts (open, new, acknowledged, closed or all), newest
        first, with the counts by state."""
        return managed_alerts.alert_page(self.store, state, item, before_id, limit)

    def alert(self, alert_id: int) -> dict[str, Any]:
        """One managed alert with the actions taken on it."""
        return managed_alerts.get(self.store, int(alert_id)).to_dict()

    def alert_action(self, alert_id: int, action: str, owner: str | None = None,
                     text: str = "", user: str = "") -> dict[str, Any]:
        """Acknowledge, assign, note, close or reopen a managed alert as ``user``."""
        return managed_alerts.act(self.store, int(alert_id), action, user, owner, text)

    def alert_counts(self, open_only: bool = False) -> dict[str, int]:
        """Managed alerts by state, and how many are open (``open_only``: closed ones are
        not counted, reported as 0)."""
        return managed_alerts.counts(self.store, open_only)
