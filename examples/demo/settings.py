"""Migration file for the demo production: `iop -m examples/demo/settings.py`."""

from demo_components import (
    AuditOperation,
    OrderPoller,
    OrderProcess,
    OrderService,
    PricingOperation,
)

from iop import Production

prod = Production("Demo.Production", testing_enabled=True)
service = prod.service("OrderService", OrderService)
poller = prod.service("OrderPoller", OrderPoller).adapter_setting("CallInterval", "1")
process = prod.process("OrderProcess", OrderProcess)
pricing = prod.operation("PricingOperation", PricingOperation).pool(2)
audit = prod.operation("AuditOperation", AuditOperation)

PRODUCTIONS = [prod]
