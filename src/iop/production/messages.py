"""PersistentMessage classes a production declares with ``Production.message()``."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["MessageRegistration"]


def _python_name(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


@dataclass(frozen=True)
class MessageRegistration:
    """One declared PersistentMessage class and the IRIS class name it is stored under."""

    iris_classname: str
    message_class: type
    sync_schema: bool = True

    @classmethod
    def of(cls, iris_classname: str, msg_cls: type, sync_schema: bool) -> MessageRegistration:
        """A checked registration: a non-empty class name and a concrete PersistentMessage."""
        from iop.messages.persistent import PersistentMessage

        name = str(iris_classname or "").strip()
        if not name:
            raise ValueError("PersistentMessage IRIS classname is required")
        if not (isinstance(msg_cls, type) and issubclass(msg_cls, PersistentMessage)
                and msg_cls is not PersistentMessage):
            raise TypeError("msg_cls must be a concrete PersistentMessage subclass")
        return cls(name, msg_cls, bool(sync_schema))

    def same_as(self, other: MessageRegistration) -> bool:
        """True when ``other`` declares exactly this registration again."""
        return (self.iris_classname == other.iris_classname
                and _python_name(self.message_class) == _python_name(other.message_class)
                and self.sync_schema == other.sync_schema)

    def check_clash(self, other: MessageRegistration) -> None:
        """Refuse a second registration reusing this class name or this class differently."""
        same_class = _python_name(self.message_class) == _python_name(other.message_class)
        if self.iris_classname == other.iris_classname:
            if not same_class:
                raise ValueError("PersistentMessage IRIS classname already registered: "
                                 f"{other.iris_classname}")
            raise ValueError("PersistentMessage registration has conflicting sync_schema "
                             f"for {other.iris_classname}")
        if same_class:
            raise ValueError("PersistentMessage class already registered with IRIS classname "
                             f"{self.iris_classname}")
