"""Message and host behaviour that needs no IRIS, on IoP 4.1.1 and on ours: what a sender
refuses, the default handlers' warnings, a custom __init__'s RuntimeWarning, InboundAdapter's
default on_task, unregister_component's check and @dataclass on a PydanticMessage."""

from __future__ import annotations

from pathlib import Path

from compat_harness import differential

SCRIPT = '''
    from dataclasses import dataclass

    from iop import (BusinessOperation, BusinessProcess, BusinessService, InboundAdapter,
                     Message, OutboundAdapter, PydanticMessage, unregister_component)

    operation = BusinessOperation()
    for label, request in [("number", 42), ("text", "hello"), ("list", [1, 2]),
                           ("dict", {"a": 1})]:
        check(f"send_request_sync {label}",
              lambda request=request: operation.send_request_sync("Target", request))
        check(f"send_request_async {label}",
              lambda request=request: operation.send_request_async("Target", request))
    check("process send_request_async number",
          lambda: BusinessProcess().send_request_async("Target", 42))

    check("operation on_message default", lambda: operation.on_message(None))
    check("service on_message default", lambda: BusinessService().on_message(None))
    check("service on_process_input default", lambda: BusinessService().on_process_input(None))
    check("process on_request default", lambda: BusinessProcess().on_request(None))
    check("inbound adapter on_task default", lambda: InboundAdapter().on_task())

    def define_with_init():
        class WithInit(BusinessOperation):
            def __init__(self):
                self.ready = True
        return None

    def inherit_init():
        class Base(BusinessService):
            def __init__(self):
                pass

        class Child(Base):
            pass
        return None

    def define_adapter_with_init():
        class Adapter(OutboundAdapter):
            def __init__(self):
                pass
        return None

    def define_plain():
        class Plain(BusinessOperation):
            def on_init(self):
                pass
        return None

    check("custom __init__ warns", define_with_init)
    check("inherited __init__ warns", inherit_init)
    check("adapter __init__ warns", define_adapter_with_init)
    check("no __init__, no warning", define_plain)

    check("unregister_component empty", lambda: unregister_component(""))
    check("unregister_component blank", lambda: unregister_component("   "))

    @dataclass
    class Extra(Message):
        a: int = 0

    def extra_attribute():
        msg = Extra(1)
        msg.note = "kept"
        return sorted(vars(msg))

    check("attribute added after construction", extra_attribute)
'''


def test_messages_and_hosts_match_iop(tmp_path: Path) -> None:
    theirs = differential({}, SCRIPT, tmp_path)
    assert theirs["send_request_sync number"]["raises"] == "TypeError"
    assert theirs["custom __init__ warns"]["warnings"][0][0] == "RuntimeWarning"


MIXED = '''
    from dataclasses import dataclass

    from iop import PydanticMessage

    @dataclass
    class Mixed(PydanticMessage):
        a: int = 0

    check("construct a @dataclass PydanticMessage", lambda: Mixed(a=1))
'''


def test_dataclass_on_a_pydantic_message(tmp_path: Path) -> None:
    differential({}, MIXED, tmp_path, intended={
        "construct a @dataclass PydanticMessage":
            "IoP fails in pydantic with an AttributeError and gives its clear "
            "'combines @dataclass with PydanticMessage' SerializationError only when the "
            "message is serialised; the engine gives that error at construction",
    })
