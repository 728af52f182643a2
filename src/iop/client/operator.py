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
from iop.engine import suspended as suspended_notes
from iop.engine.config import parse_production
from iop.engine.errors import EngineError, UnknownItem
from iop.store import queries as q
from iop.store import records as r
from iop.store.base import Store
from iop.store.conditions import Condition, parse_conditions

PAGE_SIZE = 50
COUNT_CAP = 10_000  # a result count stops there ("10,000 or more"): it reads no further
EXPORT_ROWS = 5000  # the most messages one export holds
TRACE_ERRORS = 20  # failures a trace names, whatever its page
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
    # The portal's script sends UTC times as ISO 8601 with a Z (Date.toISOString()).
    whole, _, fraction = value.removesuffix("Z").removesuffix("z").partition(".")
    extra = float("0." + fraction) if fraction.isdigit() else 0.0
    for pattern in _TIME_FORMATS:
        try:
            return float(calendar.timegm(time.strptime(whole, pattern))) + extra
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
        text=text("text"), conditions=_conditions(params.get("where")),
        oldest_first=_oldest_first(params.get("sort")))


def _conditions(text: Any) -> tuple[Condition, ...]:
    try:
        return parse_conditions(str(text or ""))
    except ValueError as exc:
        raise EngineError(str(exc)) from None


def _oldest_first(text: Any) -> bool:
    order = str(text or "newest").strip().lower()
    if order not in ("newest", "oldest"):
        raise EngineError(f"sort {order[:20]!r} is not newest or oldest")
    return order == "oldest"


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

    def edit_production(self, production: str, edit: dict[str, Any]) -> dict[str, Any]:
        """Add, copy or remove an item, or change its connections, saved through the change
        plan with a backup (see production_edit)."""
        from iop.client.production_edit import apply_edit, check_edit

        return apply_edit(self.store, production, check_edit(self.store, production, edit))

    def production_backups(self, production: str) -> list[dict[str, Any]]:
        """The newest backups the production's edits wrote (see production_edit)."""
        from iop.client.production_edit import backups

        return backups(self.namespace, production)

    def rollback_edit(self, production: str, backup_id: str) -> dict[str, Any]:
        """Restore ``production`` from one of its edit backups (see production_edit)."""
        from iop.client.production_edit import rollback

        return rollback(self.store, production, backup_id)

    def host_classes(self) -> list[dict[str, str]]:
        """Bound service, process and operation classes, for a new item."""
        from iop.client.production_edit import host_classes

        return host_classes(self.store)

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
        """One page of message headers matching ``filters`` (texts), newest first (oldest
        first with ``sort=oldest``); one more row is read than shown, to tell whether a page
        exists beyond it."""
        f = self._named(message_filter(filters or {}))
        limit = max(1, min(q.MAX_PAGE - 1, int(limit)))
        rows = self.store.search_messages(f, before_id=before_id, after_id=after_id,
                                          limit=limit + 1)
        # The page is read away from where it starts: up from after_id, down from
        # before_id, else in the result's order; the extra row lies at the far end.
        if after_id is not None and before_id is None:
            upwards = True
        elif before_id is not None and after_id is None:
            upwards = False
        else:
            upwards = f.oldest_first
        more = len(rows) > limit
        rows = sorted(rows, key=lambda h: h.id, reverse=not upwards)[:limit]
        rows.sort(key=lambda h: h.id, reverse=not f.oldest_first)
        if upwards:
            newer, older = more, after_id is not None
        else:
            older, newer = more, before_id is not None
        return {"messages": [header_view(h) for h in rows], "has_older": older,
                "has_newer": newer, "filters": f.active()}

    def count_messages(self, filters: dict[str, Any] | None = None,
                       cap: int = COUNT_CAP) -> dict[str, Any]:
        """How many messages match ``filters``, counted up to ``cap``: {count, capped}."""
        count = self.store.count_messages(self._named(message_filter(filters or {})), cap)
        return {"count": count, "capped": count >= cap}

    def export_messages(self, filters: dict[str, Any] | None = None,
                        limit: int = EXPORT_ROWS) -> list[dict[str, Any]]:
        """Up to ``limit`` messages matching ``filters``, in the result's order, each a
        header with its body (parsed when it is JSON), for a CSV or JSON export."""
        f = self._named(message_filter(filters or {}))
        left = max(1, min(EXPORT_ROWS, int(limit)))
        found: list[dict[str, Any]] = []
        after = before = None
        while left > 0:
            page = self.store.search_messages(f, before_id=before, after_id=after,
                                              limit=min(left, q.MAX_PAGE))
            for h in page:
                view = header_view(h)
                view["body"] = self.store.get_body(h)
                found.append(view)
            if len(page) < min(left, q.MAX_PAGE):
                break
            left -= len(page)
            if f.oldest_first:
                after = page[-1].id
            else:
                before = page[-1].id
        return found

    def message_choices(self) -> dict[str, list[str]]:
        """Values worth offering in the viewer's filters: item names and body classes."""
        return {"items": sorted(self._production_items()),
                "body_classes": self.store.recent_body_classes(),
                "statuses": list(r.STATUSES)}

    def _production_items(self) -> set[str]:
        """The names of the items of every stored production."""
        items: set[str] = set()
        for p in self.store.list_productions():
            definition = self.store.get_production(p["name"]) or {}
            try:
                items.update(i.name for i in parse_production(definition).items)
            except EngineError:
                continue
        return items

    def _named(self, f: q.MessageFilter) -> q.MessageFilter:
        """``f`` knowing the productions' item names, when it filters on a name."""
        if f.source or f.target:
            f.item_names = tuple(sorted(self._production_items()))
        return f

    def message(self, message_id: int) -> dict[str, Any]:
        """A message's header, body text, and the request/response it corresponds to."""
        header = self.store.get_header(int(message_id))
        if header is None:
            raise MessageNotFound(f"message {message_id} does not exist in namespace "
                                  f"{self.namespace}")
        return {"header": header_view(header), "body": self.store.get_body(header)}

    def trace(self, session_id: int, after_id: int | None = None,
              before_id: int | None = None, limit: int = 0) -> dict[str, Any]:
        """A session's messages in order and its event log lines. ``limit`` > 0 gives one
        page of that many (after ``after_id``, or the page before ``before_id``), with
        ``has_earlier``/``has_later``; 0 gives them all (the API answers at most 999 a
        request, so a remote 0 is one page of 999). Either way come the session's
        counts by status, its first failures and suspended messages (at most TRACE_ERRORS
        each), its resubmissions with the status of the message that carried each, and its
        start time, so every page measures times from the same moment."""
        session = int(session_id)
        if limit > 0:
            wanted = min(int(limit), q.MAX_PAGE - 1)
            f = q.MessageFilter(session_id=session)
            if before_id is not None:
                rows = self.store.search_messages(f, before_id=int(before_id), limit=wanted + 1)
                headers = rows[:wanted][::-1]
                earlier = len(rows) > wanted
                later = bool(headers) and bool(self.store.search_messages(
                    f, after_id=headers[-1].id, limit=1))
            else:
                start = session - 1 if after_id is None else int(after_id)
                rows = self.store.search_messages(f, after_id=start, limit=wanted + 1)[::-1]
                earlier, later = after_id is not None and start >= session, len(rows) > wanted
                headers = rows[:wanted]
        else:
            headers = self.store.query_headers(session_id=session, limit=0, oldest_first=True)
            earlier = later = False
        first = self.store.get_header(session)
        if first is None or first.session_id != session:  # a purged first message
            oldest = self.store.query_headers(session_id=session, limit=1, oldest_first=True)
            first = oldest[0] if oldest else None
        errors = self.store.query_headers(session_id=session, status=r.ERROR,
                                          limit=TRACE_ERRORS, oldest_first=True)
        suspended = self.store.query_headers(session_id=session, status=r.SUSPENDED,
                                             limit=TRACE_ERRORS, oldest_first=True)
        counts = self.store.count_by_status(session_id=session)
        log = self.store.search_log(q.LogFilter(session_id=session), limit=500)
        resubmitted = []
        for original, carrier, where in suspended_notes.resubmissions(list(reversed(log))):
            now = self.store.get_header(carrier)
            resubmitted.append({"id": original, "carrier": carrier, "where": where,
                                "status": now.status if now is not None else "purged"})
        return {"session_id": session, "messages": [header_view(h) for h in headers],
                "log": [e.to_dict() for e in reversed(log)],
                "started": first.created if first is not None else None,
                "counts": counts, "total": sum(counts.values()),
                "errors": [header_view(h) for h in errors],
                "suspended": [header_view(h) for h in suspended], "resubmitted": resubmitted,
                "has_earlier": earlier, "has_later": later}

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
