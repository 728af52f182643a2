"""The Client the portal uses inside the server: LocalClient on the namespace's store, with
every call that imports user code sent to an isolated child (iop.server.isolated) under the
same deadlines as the REST API's routes."""

from __future__ import annotations

from typing import Any

from iop.client.local import LocalClient
from iop.server import api, api_operator, isolated
from iop.store.base import Store


class ServedClient(LocalClient):
    """A LocalClient that never imports a project's modules into the server process."""

    def __init__(self, namespace: str, store: Store) -> None:
        super().__init__(namespace, store=store)

    def start(self, production: str | None = None) -> dict[str, str]:
        return isolated.call(self.namespace, "start",  # type: ignore[no-any-return]
                             api.START_SECONDS, production=production)

    def restart(self, stop_timeout: float | None = None) -> dict[str, str]:
        return isolated.call(self.namespace, "restart",  # type: ignore[no-any-return]
                             api.RESTART_SECONDS,
                             stop_timeout=stop_timeout or api.RESTART_STOP_SECONDS)

    def stop(self, timeout: float | None = None) -> dict[str, str]:
        return super().stop(timeout or api.STOP_SECONDS)

    def update(self, timeout: float = api.UPDATE_SECONDS) -> dict[str, str]:
        return super().update(timeout)

    def configuration(self, production: str) -> dict[str, Any]:
        return isolated.call(self.namespace, "configuration",  # type: ignore[no-any-return]
                             api_operator.CONFIGURATION_SECONDS, production=production)

    def resubmit(self, ids: list[int], body: str | None = None) -> Any:
        if body is None:
            return super().resubmit(ids)
        # Checking an edited body against its message class imports the project's code.
        return isolated.call(self.namespace, "resubmit", api_operator.CONFIGURATION_SECONDS,
                             ids=ids, body=body)

    def save_item(self, production: str, item: str, changes: dict[str, Any]) -> dict[str, Any]:
        return isolated.call(self.namespace, "save_item",  # type: ignore[no-any-return]
                             api_operator.CONFIGURATION_SECONDS, production=production,
                             item=item, changes=changes)

    def edit_production(self, production: str, edit: dict[str, Any]) -> dict[str, Any]:
        """Add, copy or remove an item, or change its connections: checked in the contained
        child, saved here through the change plan (see iop.client.production_edit)."""
        return isolated.call(self.namespace, "edit_production",  # type: ignore[no-any-return]
                             api_operator.CONFIGURATION_SECONDS, production=production,
                             edit=edit)

    def message_forms(self, production: str, item: str) -> dict[str, Any]:
        """The message classes ``item`` handles with their fields (the Test form)."""
        return isolated.call(self.namespace, "message_forms",  # type: ignore[no-any-return]
                             api_operator.CONFIGURATION_SECONDS, production=production,
                             item=item)
