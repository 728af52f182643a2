"""intersystems_pyprod: InterSystems pyprod's API for production components, on the iop engine.

Write hosts, adapters and messages by subclassing these classes, bind them with the
``intersystems_pyprod /path/to/file.py`` command, then add them to a production by their
``<iris_package_name>.<ClassName>`` names. They run in the same engine as iop components.
"""

from intersystems_pyprod._adapters import InboundAdapter, OutboundAdapter
from intersystems_pyprod._debug import debug_host
from intersystems_pyprod._hosts import BusinessOperation, BusinessProcess, BusinessService
from intersystems_pyprod._log import IRISLog
from intersystems_pyprod._messages import Column, JsonSerialize, PickleSerialize, ProductionMessage
from intersystems_pyprod._properties import IRISParameter, IRISProperty
from intersystems_pyprod._status import Status, StatusError

__all__ = [
    "BusinessOperation", "BusinessProcess", "BusinessService", "Column", "IRISLog",
    "IRISParameter", "IRISProperty", "InboundAdapter", "JsonSerialize", "OutboundAdapter",
    "PickleSerialize", "ProductionMessage", "Status", "StatusError", "debug_host",
]
