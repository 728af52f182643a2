"""Host and adapter callbacks: names, (status, response) and error statuses, MessageMap."""

from __future__ import annotations

import pytest

from intersystems_pyprod import (
    BusinessOperation,
    BusinessProcess,
    BusinessService,
    InboundAdapter,
    JsonSerialize,
    OutboundAdapter,
    Status,
    StatusError,
)
from iop.components import kinds
from iop.messages.builtin import StringRequest
from iop.messages.dispatch import build_dispatch_table

iris_package_name = "unithost"


class Ask(JsonSerialize):
    text: str


class Answer(JsonSerialize):
    text: str


class Other(JsonSerialize):
    n: int


class Mapped(BusinessOperation):
    MessageMap = {"unithost.Ask": "on_ask", StringRequest: "on_string"}

    def on_ask(self, request):
        return Status.OK(), Answer(request.text.upper())

    def on_string(self, request):
        return Status.ERROR(f"no strings: {request.StringValue}")

    def OnMessage(self, request):
        return Status.OK()


class Snake(BusinessProcess):
    def on_request(self, request):
        return Status.OK(), Answer("snake " + request.text)

    def on_response(self, request, response, call_request, call_response, completion_key):
        return Status.ERROR("late answer")


class Annotated(BusinessOperation):
    def handle(self, request: StringRequest):  # an annotation must not bypass the wrapper
        return Status.OK(), Answer("typed")

    def OnMessage(self, request):
        return Status.OK(), Answer("generic")


class WithInit(BusinessService):
    def __init__(self, iris_host_object):
        super().__init__(iris_host_object)
        self.counter = 10

    def OnInit(self):
        self.counter += 1
        return Status.OK()


class FailingInit(BusinessService):
    def on_init(self):
        return Status.ERROR("no connection")


class Feeder(InboundAdapter):
    def on_task(self):
        return Status.OK()


class Plain(OutboundAdapter):
    def send(self, text):
        return Status.OK(), text


def test_roles_are_the_engine_kinds() -> None:
    assert kinds.kind_of(Mapped) == kinds.OPERATION and kinds.kind_of(Snake) == kinds.PROCESS
    assert kinds.kind_of(WithInit) == kinds.SERVICE
    assert kinds.kind_of(Feeder) == kinds.INBOUND_ADAPTER
    assert kinds.kind_of(Plain) == kinds.OUTBOUND_ADAPTER


def test_message_map_routes_by_class_name() -> None:
    op = Mapped()
    assert op.on_message(Ask("hi")) == Answer("HI")
    assert op.on_message(Other(1)) is None  # OnMessage: a status alone, no response


def test_error_status_raises_with_its_text() -> None:
    with pytest.raises(StatusError, match="ERROR #5001: no strings: x") as caught:
        Mapped().on_message(StringRequest("x"))
    assert caught.value.status == Status.ERROR("no strings: x")


def test_snake_case_callbacks_are_pyprod_callbacks() -> None:
    # The engine calls on_request; the class's own on_request became OnRequest.
    assert "OnRequest" in Snake.__dict__ and "on_request" not in Snake.__dict__
    process = Snake()
    assert process.on_request(Ask("x")) == Answer("snake x")
    assert process.OnRequest(Ask("x")) == (Status.OK(), Answer("snake x"))
    with pytest.raises(StatusError, match="late answer"):
        process.on_response(None, None, None, None, "0")
    assert "OnTask" in Feeder.__dict__


def test_operation_without_handler_says_so() -> None:
    class Bare(BusinessOperation):
        MessageMap = {"unithost.Ask": "on_ask"}

        def on_ask(self, request):
            return Status.OK()

    with pytest.raises(NotImplementedError, match="no MessageMap entry for unithost.Other"):
        Bare().on_message(Other(1))


def test_annotated_methods_do_not_take_messages_from_the_callbacks() -> None:
    table = build_dispatch_table(Annotated)
    assert table.method_for(StringRequest("x")) == "on_message"
    assert Annotated().on_message(StringRequest("x")) == Answer("generic")


def test_init_and_oninit_run_from_on_init() -> None:
    service = WithInit.__new__(WithInit)  # as the engine allocates it
    assert WithInit._iop_init_warning is None
    service.on_init()
    assert service.counter == 11 and service.iris_host_object is None
    failing = FailingInit.__new__(FailingInit)
    with pytest.raises(StatusError, match="no connection"):
        failing.on_init()


def test_service_without_callback_says_so() -> None:
    class Empty(BusinessService):
        pass

    with pytest.raises(NotImplementedError, match="Empty must define OnProcessInput"):
        Empty().on_process_input("x")


def test_sending_needs_a_running_production() -> None:
    from iop.components.engine_services import HostNotInProduction

    with pytest.raises(HostNotInProduction):
        WithInit(None).SendRequestSync("Target", Ask("x"))


def test_iop_hosts_route_pyprod_messages_by_annotation() -> None:
    from iop import BusinessOperation as IopOperation

    class Both(IopOperation):
        def on_ask(self, request: Ask) -> Answer:
            return Answer("asked")

        def on_other(self, request: Other) -> None:
            return None

    table = build_dispatch_table(Both)
    assert table.method_for(Ask("x")) == "on_ask" and table.method_for(Other(1)) == "on_other"


def test_only_messages_travel() -> None:
    class Chatty(BusinessOperation):
        def OnMessage(self, request):
            return Status.OK(), "done"

    with pytest.raises(TypeError, match="response Chatty.OnMessage returned is a str; .*"
                                        "must be persistable messages"):
        Chatty().on_message(Ask("x"))
    status, response = WithInit(None).SendRequestSync("Target", {"text": "x"})
    assert not status and response is None
    assert status.text.startswith("the request to Target is a dict; requests and responses")
    assert not WithInit(None).SendRequestAsync("Target", "plain text")
