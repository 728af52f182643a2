"""Components of the demo production: orders flow service → process → operations."""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass, field

from iop import (
    BusinessOperation,
    BusinessProcess,
    BusinessService,
    Category,
    Message,
    PollingBusinessService,
    controls,
    handler,
    setting,
    target,
)


@dataclass
class OrderRequest(Message):
    order_id: str = ""
    amount: float = 0.0
    items: list[str] = field(default_factory=list)


@dataclass
class OrderResponse(Message):
    order_id: str = ""
    accepted: bool = False
    note: str = ""


@dataclass
class AuditEvent(Message):
    order_id: str = ""
    text: str = ""


class OrderService(BusinessService):
    """Entry point used by a Director (an HTTP app, a script): sends orders synchronously."""

    Target = target("OrderProcess", description="Where orders go")

    def on_process_input(self, message_input):
        return self.send_request_sync(self.Target, message_input)


class OrderPoller(PollingBusinessService):
    """Makes a new order every CallInterval seconds and sends it asynchronously."""

    Target = target("OrderProcess", description="Where orders go")

    def on_init(self):
        self._counter = itertools.count(1)

    def on_poll(self):
        n = next(self._counter)
        self.send_request_async(self.Target, OrderRequest(order_id=f"poll-{n}", amount=10.0 * n,
                                                          items=["widget"] * (n % 3 + 1)))


class OrderProcess(BusinessProcess):
    """Checks an order with the pricing operation (sync), audits it (async), replies."""

    PricingTarget = target("PricingOperation", description="Prices each order (sync call)")
    AuditTarget = target("AuditOperation", description="Records each order (async call)")
    Limit = setting(1000.0, category=Category.BASIC,
                    description="Largest order amount that is accepted")

    def on_request(self, request):
        priced = self.send_request_sync(self.PricingTarget, request)
        self.send_request_async(self.AuditTarget, AuditEvent(request.order_id, "priced"),
                                completion_key="audit")
        self.verdict = OrderResponse(request.order_id, priced.accepted and request.amount <= self.Limit,
                                     priced.note)

    def on_response(self, request, response, call_request, call_response, completion_key):
        self.log_info(f"order {request.order_id}: {completion_key} done")

    def on_complete(self, request, response):
        self.reply(self.verdict)


class PricingOperation(BusinessOperation):
    TaxRate = setting(1.2, category=Category.BASIC, description="Multiplier applied to amounts")

    @handler(OrderRequest)
    def price(self, request):
        total = round(request.amount * self.TaxRate, 2)
        return OrderResponse(request.order_id, True, f"{len(request.items)} item(s), total {total}")


class AuditOperation(BusinessOperation):
    ArchiveDirectory = setting("", category=Category.CONNECTION, control=controls.directory(),
                               description="Folder where audit lines are also appended to "
                                           "audit.log (empty: none)")
    Charset = setting("UTF-8", category=Category.CONNECTION, control=controls.character_set(),
                      description="Encoding of audit.log")

    def on_message(self, request):
        self.log_info(f"audit {request.order_id}: {request.text}")
        if self.ArchiveDirectory:
            path = os.path.join(self.ArchiveDirectory, "audit.log")
            with open(path, "a", encoding=self.Charset) as fh:
                fh.write(f"{request.order_id}\t{request.text}\n")
        return AuditEvent(request.order_id, "recorded")
