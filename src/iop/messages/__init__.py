"""Message classes, their JSON codec and handler dispatch."""

from iop.messages import builtin as _builtin  # noqa: F401  (registers Ens.* messages)
from iop.messages.base import Message, PydanticMessage, is_message_class
from iop.messages.codec import MessageError, decode, encode, register_message_class, resolve_class
from iop.messages.dispatch import DispatchTable, build_dispatch_table, handler
from iop.messages.persistent import Field, Model, PersistentMessage

__all__ = [
    "DispatchTable", "Field", "Message", "MessageError", "Model", "PersistentMessage",
    "PydanticMessage", "build_dispatch_table", "decode", "encode", "handler",
    "is_message_class", "register_message_class", "resolve_class",
]
