"""``EnsLib.SQL.Service.GenericService`` (each polled row to its targets) and
``EnsLib.SQL.Operation.GenericOperation`` (each request runs one parameterised statement)."""

from __future__ import annotations

from typing import Any

from iop.components.operation import BusinessOperation
from iop.components.service import BusinessService
from iop.components.settings import setting, target
from iop.connectors.inbound import targets_of
from iop.connectors.sql.snapshot import Snapshot

__all__ = ["SqlGenericOperation", "SqlGenericService"]


class SqlGenericService(BusinessService):
    """EnsLib.SQL.Service.GenericService: sends each row its adapter polls (an
    EnsLib.SQL.Snapshot of one row) to every item of TargetConfigNames."""

    TargetConfigNames = target(multi_select=True, description="Items each row is sent to")

    @classmethod
    def get_adapter_type(cls) -> str | None:
        return "EnsLib.SQL.InboundAdapter"

    def on_process_input(self, message_input: Any = None) -> None:
        for item in targets_of(self.adapter):
            self.send_request_async(item, message_input)


class SqlGenericOperation(BusinessOperation):
    """EnsLib.SQL.Operation.GenericOperation: runs Query for each request, its ``?`` filled
    from Parameters; a query's rows come back as an EnsLib.SQL.Snapshot, a statement that
    returns none answers nothing."""

    Query = setting("", category="Data", required=True,
                    description="The statement run for each request, with ? parameters")
    Parameters = setting("", category="Data",
                         description="Values of the ? parameters, comma-separated: *Property "
                                     "(of the request), $Property (of this operation), "
                                     "%Property (of the adapter) or a literal")

    @classmethod
    def get_adapter_type(cls) -> str | None:
        return "EnsLib.SQL.OutboundAdapter"

    def on_message(self, request: Any) -> Any:
        params = self._parameter_values(request)
        snapshot: Snapshot = self.adapter.execute_query(str(self.Query or ""), *params)
        return snapshot if snapshot.Columns else None

    def _parameter_values(self, request: Any) -> tuple[Any, ...]:
        text = str(self.Parameters or "").strip()
        if not text:
            return ()
        values = []
        for spec in (part.strip() for part in text.split(",")):
            if spec.startswith("*"):
                values.append(_property(request, spec[1:]))
            elif spec.startswith("$"):
                values.append(getattr(self, spec[1:], None))
            elif spec.startswith("%"):
                values.append(getattr(self.adapter, spec[1:], None))
            else:
                values.append(spec.strip("'\""))
        return tuple(values)


def _property(message: Any, path: str) -> Any:
    """``message``'s property at ``path`` (dotted), None when it has none."""
    value = message
    for name in path.split("."):
        if isinstance(value, dict):
            value = value.get(name)
        else:
            value = getattr(value, name, None)
        if value is None:
            return None
    return value
