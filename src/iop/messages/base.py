"""Message base classes: what a user subclasses to define a request or response body."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict


class Message:
    """Base class for dataclass messages passed between business hosts.

    Subclasses are decorated with ``@dataclass``; the engine stores them as JSON documents.
    """

    _iop_message: ClassVar[bool] = True


class PydanticMessage(BaseModel):
    """Base class for messages validated and serialised by a Pydantic model."""

    model_config = ConfigDict(arbitrary_types_allowed=True, validate_assignment=False)
    _iop_message: ClassVar[bool] = True

    def __init__(self, *args: Any, **data: Any) -> None:
        # Allow positional construction in field order, as dataclass messages do.
        if args:
            names = list(type(self).model_fields)
            if len(args) > len(names):
                raise TypeError(f"{type(self).__name__} takes at most {len(names)} positional arguments")
            for name, value in zip(names, args, strict=False):
                data.setdefault(name, value)
        super().__init__(**data)

    def __setattr__(self, name: str, value: Any) -> None:
        # @dataclass replaces __init__ with one that sets fields before pydantic is ready;
        # say what is wrong (IoP's text) instead of pydantic's AttributeError.
        if "__dataclass_fields__" in type(self).__dict__:
            from iop.messages.codec import SerializationError, mixed_dataclass_text

            raise SerializationError(mixed_dataclass_text(type(self)))
        super().__setattr__(name, value)


def is_message_class(cls: object) -> bool:
    """True when ``cls`` is a message class the engine can persist."""
    return isinstance(cls, type) and bool(getattr(cls, "_iop_message", False))
