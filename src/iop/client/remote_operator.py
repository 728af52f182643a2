"""The operator's views over HTTP: RemoteClient's side of iop.client.operator (the routes of
iop.server.api_operator), so a remote client gets the same shapes as a local one."""

from __future__ import annotations

from typing import Any


class RemoteOperatorViews:
    """A mixin of RemoteClient; ``_call`` sends one request to /api/iop."""

    def _call(self, method: str, route: str, body: Any = None, **query: Any) -> Any:
        raise NotImplementedError  # provided by RemoteClient

    def productions_overview(self) -> list[dict[str, Any]]:
        return self._call("GET", "overview") or []  # type: ignore[no-any-return]

    def configuration(self, production: str) -> dict[str, Any]:
        return self._call("GET", "configuration",  # type: ignore[no-any-return]
                          production=production)

    def save_item(self, production: str, item: str, changes: dict[str, Any]) -> dict[str, Any]:
        return self._call("PUT", "item",  # type: ignore[no-any-return]
                          {"production": production, "item": item, "changes": changes})

    def save_production_settings(self, production: str,
                                 changes: dict[str, Any]) -> dict[str, Any]:
        return self._call("PUT", "production/settings",  # type: ignore[no-any-return]
                          {"production": production, "settings": changes})

    def search_messages(self, filters: dict[str, Any] | None = None, before_id: int | None = None,
                        after_id: int | None = None, limit: int = 50) -> dict[str, Any]:
        query = {k: v for k, v in (filters or {}).items() if v not in (None, "")}
        return self._call("GET", "messages/search",  # type: ignore[no-any-return]
                          before_id=before_id, after_id=after_id, limit=limit, **query)

    def message_choices(self) -> dict[str, list[str]]:
        return self._call("GET", "messages/choices")  # type: ignore[no-any-return]

    def message(self, message_id: int) -> dict[str, Any]:
        return self._call("GET", "message", id=message_id)  # type: ignore[no-any-return]

    def trace(self, session_id: int, after_id: int | None = None,
              before_id: int | None = None, limit: int = 0) -> dict[str, Any]:
        return self._call("GET", "trace", session_id=session_id,  # type: ignore[no-any-return]
                          after_id=after_id, before_id=before_id, limit=limit or None)

    def resend(self, message_ids: list[int], new_session: bool = False,
               user: str = "") -> list[dict[str, Any]]:
        return self._call("POST", "resend",  # type: ignore[no-any-return]
                          {"ids": list(message_ids), "new_session": new_session}) or []

    def search_log(self, filters: dict[str, Any] | None = None, before_id: int | None = None,
                   after_id: int | None = None, limit: int = 100) -> list[dict[str, Any]]:
        query = {k: v for k, v in (filters or {}).items() if v not in (None, "")}
        return self._call("GET", "log/search", before_id=before_id,  # type: ignore[no-any-return]
                          after_id=after_id, limit=limit, **query) or []

    def queue_details(self, production: str | None = None) -> dict[str, Any]:
        return self._call("GET", "queues/details",  # type: ignore[no-any-return]
                          production=production)

    def queue_messages(self, item: str, after_id: int | None = None,
                       limit: int = 50) -> dict[str, Any]:
        return self._call("GET", "queues/messages",  # type: ignore[no-any-return]
                          item=item, after_id=after_id, limit=limit)

    def queue_action(self, item: str, message_ids: list[int], action: str,
                     user: str = "") -> list[dict[str, Any]]:
        # The server records its own authenticated account, never a name sent to it.
        return self._call("POST", "queues/action",  # type: ignore[no-any-return]
                          {"item": item, "ids": list(message_ids), "action": action}) or []

    def jobs(self) -> list[dict[str, Any]]:
        return self._call("GET", "jobs") or []  # type: ignore[no-any-return]

    def alerts(self, state: str | None = "open", item: str | None = None,
               before_id: int | None = None, limit: int = 50) -> dict[str, Any]:
        return self._call("GET", "alerts", state=state, item=item,  # type: ignore[no-any-return]
                          before_id=before_id, limit=limit)

    def alert(self, alert_id: int) -> dict[str, Any]:
        return self._call("GET", "alert", id=alert_id)  # type: ignore[no-any-return]

    def alert_action(self, alert_id: int, action: str, owner: str | None = None,
                     text: str = "", user: str = "") -> dict[str, Any]:
        # The server records its own authenticated account, never a name sent to it.
        body: dict[str, Any] = {"id": alert_id, "action": action, "text": text}
        if owner is not None:
            body["owner"] = owner
        return self._call("POST", "alerts/action", body)  # type: ignore[no-any-return]

    def alert_counts(self, open_only: bool = False) -> dict[str, int]:
        # The alerts route counts every state; open_only only spares a local store the work.
        return self.alerts(limit=1)["counts"]  # type: ignore[no-any-return]
