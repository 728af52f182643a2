"""The code examples of seed 001 (the Python API document), run on the engine.

Each test uses the example's code as the document shows it and checks its documented effect
through the store: message headers and bodies, the event log, typed tables, files.
"""

from __future__ import annotations

import json
import sqlite3
import textwrap
from pathlib import Path
from typing import Any

import pytest

SEED_COMPONENTS = '''
from typing import Annotated
from pydantic import ValidationError
from iop import (Category, Field, Model, PersistentMessage, PydanticMessage, Setting,
                 controls, target)


@dataclass
class MyRequest(Message):
    request_string: str = None


@dataclass
class MyResponse(Message):
    my_string: str = None


class MyPydanticRequest(PydanticMessage):
    model : str = None


class Address(Model, serial=True):
    City: str


class OrderMessage(PersistentMessage):
    OrderId: str = Field(required=True, max_length=64)
    Amount: float = 0.0
    ShipTo: Address = None

    class Meta:
        classname = "Demo.Msg.OrderMessage"


class UnnamedOrder(PersistentMessage):
    order_id: str = None


@dataclass
class CreateOrder(Message):
    order_id: str = None


@dataclass
class CancelOrder(Message):
    order_id: str = None


class OrderOperation(BusinessOperation):
    @handler(CreateOrder)
    def create_order(self, request):
        self.log_info(f"create {request.order_id}")
        return MyResponse(my_string=f"created {request.order_id}")

    @handler(CancelOrder)
    def cancel_order(self, request):
        self.log_info(f"cancel {request.order_id}")
        return None


class MyOperation(BusinessOperation):
    @handler(MyRequest)
    def handle_my_request(self, request):
        self.log_info(f"Received: {request}")
        return MyResponse(my_string="Hello World")

    def on_message(self, request):
        return MyResponse(my_string=f"generic {type(request).__name__}")


class MyProcess(BusinessProcess):
    def on_request(self, request):
        self.log_info(f"Received: {request}")
        self.send_request_async("MyBusinessOperation", request)

    def on_response(self, request, response, call_request, call_response, completion_key):
        self.log_info(f"Received: {call_response}")
        self.reply(call_response)


class MyService(BusinessService):
    def on_message(self, request):
        self.log_info(f"Received: {request}")


class MyPollingService(PollingBusinessService):
    InputFile = "/data/input.txt"

    def on_poll(self):
        with open(self.InputFile, 'r') as file:
            data = file.read()
        request = MyRequest(request_string=data)
        self.send_request_async("MyBusinessOperation", request)


class FileService(BusinessService):
    InputDirectory = setting(
        "/data/in",
        category=Category.CONNECTION,
        required=True,
        description="Directory to scan",
        control=controls.directory(),
    )

    Target = setting(
        "",
        category=Category.BASIC,
        required=True,
        control=controls.production_item(),
    )


class FramedService(BusinessService):
    Framing: Annotated[
        str,
        Setting(
            "None",
            category=Category.CONNECTION,
            control=controls.framing(),
        ),
    ]


class Checker(BusinessService):
    Limit: int = 3
    Ratio: float = 0.5
    Active: bool = False

    def on_init(self):
        self.seen_at_init = (self.Limit, self.Ratio, self.Active)

    def on_process_input(self, message_input):
        return self.seen_at_init


class NeedsTarget(BusinessOperation):
    Target = setting("", required=True, control=controls.production_item())


class Constructed(BusinessOperation):
    def __init__(self):
        self.never = True

    def on_message(self, request):
        return MyResponse(my_string=str(getattr(self, "never", "not called")))


class TwoWays(BusinessOperation):
    DISPATCH = [("{module}.MyRequest", "by_dispatch")]

    @handler(MyRequest)
    def by_handler(self, request):
        return MyResponse(my_string="handler")

    def by_dispatch(self, request):
        return MyResponse(my_string="dispatch")


class Alive(OutboundAdapter):
    def on_keepalive(self):
        self.business_host.log_info("adapter keepalive")


class KeepOperation(BusinessOperation):
    @classmethod
    def get_adapter_type(cls):
        return "{module}.Alive"

    def on_keepalive(self):
        self.log_info("operation keepalive")
'''

PRODUCTION = '''
prod = Production("Seed.Production", testing_enabled=True)
prod.service("MyService", MyService)
prod.service("Checker", Checker).host_setting("Limit", "7").host_setting("Ratio", "2.5") \\
    .host_setting("Active", "true")
prod.service("MyPolling", MyPollingService).host_setting("InputFile", {input_file!r}) \\
    .adapter_setting("CallInterval", "1")
prod.process("MyProcess", MyProcess)
prod.operation("MyBusinessOperation", MyOperation)
prod.operation("OrderOperation", OrderOperation)
prod.operation("Constructed", Constructed)
prod.operation("TwoWays", TwoWays)
prod.operation("Keep", KeepOperation).adapter_setting("KeepaliveInterval", "1")
PRODUCTIONS = [prod]
'''


@pytest.fixture
def seed(make_project: Any, tmp_path: Path, store: Any) -> Any:
    input_file = tmp_path / "input.txt"
    input_file.write_text("polled data", encoding="utf-8")
    project = make_project("placeholder", "PRODUCTIONS = []")
    project.components.write_text(
        project.components.read_text(encoding="utf-8").replace(
            "placeholder", SEED_COMPONENTS.replace("{module}", project.module)),
        encoding="utf-8")
    project.write_settings(PRODUCTION.format(input_file=str(input_file)))
    project.migrate()
    project.start("Seed.Production")
    project.module_obj = project.import_module()
    return project


def _session(store: Any, session_id: int) -> list[Any]:
    return store.query_headers(session_id=session_id, oldest_first=True, limit=0)


def test_business_operation_handler_returns_the_documented_response(seed: Any, run_iop: Any,
                                                                      store: Any) -> None:
    out = run_iop("-t", "MyBusinessOperation", "-C", seed.message_class("MyRequest"),
                  "-B", '{"request_string": "hi"}').stdout
    assert out.splitlines()[0] == f"classname: {seed.message_class('MyResponse')}"
    assert json.loads(out.split("body:", 1)[1]) == {"my_string": "Hello World"}
    request = store.query_headers(target="MyBusinessOperation", type="request", limit=1)[0]
    assert request.status == "completed"
    assert any("Received: MyRequest(request_string='hi')" in e.text for e in store.log_since(0))


def test_handler_dispatch_by_message_class(seed: Any, run_iop: Any, store: Any) -> None:
    created = run_iop("-t", "OrderOperation", "-C", seed.message_class("CreateOrder"),
                      "-B", '{"order_id": "A1"}').stdout
    assert '"my_string": "created A1"' in created
    assert run_iop("-t", "OrderOperation", "-C", seed.message_class("CancelOrder"),
                   "-B", '{"order_id": "A1"}').stdout.strip() == "{}"
    texts = [e.text for e in store.log_since(0) if e.item == "OrderOperation"]
    assert texts == ["create A1", "cancel A1"]


def test_handler_beats_dispatch_and_the_discarded_one_is_logged(seed: Any, run_iop: Any,
                                                                  store: Any) -> None:
    out = run_iop("-t", "TwoWays", "-C", seed.message_class("MyRequest"), "-B", "{}").stdout
    assert '"my_string": "handler"' in out
    warnings = [e.text for e in store.log_since(0) if e.type == "warning" and e.item == "TwoWays"]
    assert any("discarded DISPATCH handler by_dispatch" in w for w in warnings), warnings


def test_business_process_async_call_and_reply(seed: Any, run_iop: Any, store: Any) -> None:
    out = run_iop("-t", "MyProcess", "-C", seed.message_class("MyRequest"),
                  "-B", '{"request_string": "to process"}').stdout
    assert json.loads(out.split("body:", 1)[1]) == {"my_string": "Hello World"}
    first = store.query_headers(target="MyProcess", type="request", limit=1)[0]
    trace = [(h.source, h.target, h.type, h.status) for h in _session(store, first.session_id)]
    assert trace == [
        ("EnsLib.Testing.Service", "MyProcess", "request", "completed"),
        ("MyProcess", "MyBusinessOperation", "request", "completed"),
        ("MyBusinessOperation", "MyProcess", "response", "completed"),
        ("MyProcess", "EnsLib.Testing.Service", "response", "completed"),
    ]


def test_director_service_logs_and_polling_service_sends(seed: Any, store: Any,
                                                           wait_for: Any) -> None:
    from iop import Director

    service = Director().get_business_service("MyService")
    assert service.on_process_input(seed.module_obj.MyRequest("from director")) is None
    assert any(e.item == "MyService" and "from director" in e.text for e in store.log_since(0))
    polled = wait_for(lambda: [h for h in store.query_headers(source="MyPolling", limit=0)
                               if h.status == "completed"], timeout=20, what="a polled message")
    body = store.get_body(polled[0])
    assert json.loads(body) == {"request_string": "polled data"}


def test_settings_are_typed_and_applied_before_on_init(seed: Any) -> None:
    from iop import Director

    checker = Director().get_business_service("Checker")
    assert checker.on_process_input(None) == (7, 2.5, True)


def test_settings_metadata_of_the_seed_examples(seed: Any) -> None:
    from iop.components.settings import describe_settings

    module = seed.module_obj
    infos = {i.name: i for i in describe_settings(module.FileService)}
    assert infos["InputDirectory"].category == "Connection"
    assert infos["InputDirectory"].required and infos["InputDirectory"].default == "/data/in"
    assert infos["InputDirectory"].control == "directorySelector"
    assert infos["Target"].control == (
        "selector?context={Ens.ContextSearch/ProductionItems?targets=1&productionName=@productionId}")
    framing = {i.name: i for i in describe_settings(module.FramedService)}["Framing"]
    assert (framing.default, framing.category) == ("None", "Connection")
    assert framing.control == (
        "selector?context={Ens.ContextSearch/getDisplayList?host=@currHostId&prop=Framing}")
    assert module.FramedService.__new__(module.FramedService).Framing == "None"


def test_init_is_not_called_and_a_warning_says_so(seed: Any, run_iop: Any, store: Any) -> None:
    out = run_iop("-t", "Constructed", "-C", seed.message_class("MyRequest"), "-B", "{}").stdout
    assert '"my_string": "not called"' in out
    assert any(e.type == "warning" and e.item == "Constructed" and "__init__" in e.text
               and "on_init" in e.text for e in store.log_since(0))


def test_keepalive_runs_at_the_adapter_interval(seed: Any, store: Any, wait_for: Any) -> None:
    def count(text: str) -> int:
        return sum(1 for e in store.log_since(0) if e.item == "Keep" and e.text == text)

    wait_for(lambda: count("adapter keepalive") >= 2 and count("operation keepalive") >= 2,
             timeout=20, what="two keepalive rounds")


def test_persistent_message_typed_table_and_class_name(seed: Any, store: Any) -> None:
    from iop.engine.host_runtime import HostRuntime
    from iop.messages.persistent import decode_class_name

    module = seed.module_obj
    runtime = HostRuntime(store, "Tester", "test")
    runtime.send(None, "OrderOperation", module.OrderMessage(
        OrderId="A-1", Amount=9.5, ShipTo=module.Address(City="Lyon")), sync=False,
        response_required=False)
    runtime.send(None, "OrderOperation", module.UnnamedOrder(order_id="B-2"), sync=False,
                 response_required=False)
    header = store.query_headers(target="OrderOperation", limit=2, oldest_first=False)
    assert header[1].body_class == "Demo.Msg.OrderMessage"
    unnamed = header[0].body_class
    assert "_" not in unnamed and decode_class_name(unnamed) == f"{seed.module}.UnnamedOrder"
    with sqlite3.connect(store.location) as db:
        rows = db.execute('SELECT OrderId, Amount, ShipTo FROM "msg_Demo_Msg_OrderMessage"').fetchall()
    assert rows == [("A-1", 9.5, '{"City":"Lyon"}')]
    with pytest.raises(ValueError, match="OrderId"):
        module.OrderMessage(OrderId="x" * 65)
    with pytest.raises(ValueError, match="required"):
        module.OrderMessage(Amount=1.0)


def test_pydantic_message_body_is_validated(seed: Any, run_iop: Any) -> None:
    ok = run_iop("-t", "MyBusinessOperation", "-C", seed.message_class("MyPydanticRequest"),
                 "-B", '{"model": "gpt"}').stdout
    assert '"my_string": "generic MyPydanticRequest"' in ok
    bad = run_iop("-t", "MyBusinessOperation", "-C", seed.message_class("MyPydanticRequest"),
                  "-B", '{"model": 42}', check=False)
    # Besides the one error line, only IoP's RuntimeWarning for the module's Constructed
    # (its __init__), given when the CLI imports the module to build the message.
    errors = [line for line in bad.stderr.splitlines() if line.startswith("error:")]
    # Exit 2, as for every body the CLI cannot use (issue 25; IoP would exit 1).
    assert bad.returncode == 2 and len(errors) == 1 and "model" in errors[0]
    assert "Traceback" not in bad.stderr
    others = [line for line in bad.stderr.splitlines() if not line.startswith("error:")]
    assert all("Constructed" in line for line in others), others


def test_missing_required_setting_fails_the_start_naming_item_and_setting(
        make_project: Any, run_iop: Any, store: Any) -> None:
    project = make_project('''
        class NeedsTarget(BusinessOperation):
            Target = setting("", required=True)
        ''', '''
        prod = Production("Seed.Required")
        prod.operation("Sender", NeedsTarget)
        PRODUCTIONS = [prod]
        ''')
    project.migrate()
    result = run_iop("-s", "Seed.Required", "-D", check=False)
    assert result.returncode == 1
    assert result.stderr.strip() == "error: item Sender: required setting Target has no value"
    assert store.get_runtime().status == "stopped"


def test_builtin_file_passthrough_production(make_project: Any, tmp_path: Path, store: Any,
                                             wait_for: Any) -> None:
    inbox, outbox, archive = (tmp_path / d for d in ("in", "out", "archive"))
    for folder in (inbox, outbox, archive):
        folder.mkdir()
    project = make_project("", textwrap.dedent(f'''
        from iop import OperationItem, Route, ServiceItem

        FILE_OUT = OperationItem("FileOut", "EnsLib.File.PassthroughOperation",
                                 adapter_settings={{"FilePath": {str(outbox)!r}}})


        class FileProduction(Production):
            name = "Demo.FileProduction"

            services = (
                ServiceItem(
                    "FileIn",
                    "EnsLib.File.PassthroughService",
                    adapter_settings={{"FilePath": {str(inbox)!r}, "ArchivePath": {str(archive)!r},
                                      "CallInterval": "1"}},
                    routes=(Route("TargetConfigNames", FILE_OUT),),
                ),
            )
            operations = (FILE_OUT,)


        PRODUCTIONS = [FileProduction()]
        '''))
    project.migrate()
    project.start("Demo.FileProduction")
    (inbox / "order.txt").write_text("line 1\n", encoding="utf-8")
    # The operation writes its file in place: wait for the content, not only the name.
    written = wait_for(lambda: [f for f in outbox.iterdir() if f.read_text(encoding="utf-8")],
                       timeout=20, what="the file written out")
    assert written[0].name.startswith("order.txt_")
    assert written[0].read_text(encoding="utf-8") == "line 1\n"
    assert (archive / "order.txt").exists() and not (inbox / "order.txt").exists()
    # The operation writes the file inside its handler; its completion commits just after.
    sent = wait_for(lambda: [h for h in store.query_headers(source="FileIn", limit=1)
                             if h.status == "completed"], timeout=20,
                    what="the message to complete")[0]
    assert (sent.target, sent.body_class) == ("FileOut", "Ens.StreamContainer")


def test_director_in_a_flask_app(seed: Any, store: Any) -> None:
    import flask

    from iop import Director

    app = flask.Flask(__name__)
    director = Director()

    @app.route("/")
    def hello_world() -> Any:
        bs = director.get_business_service("MyService")
        return str(bs.on_process_input("Hello, World!"))

    response = app.test_client().get("/")
    assert response.status_code == 200 and response.text == "None"
    assert any(e.item == "MyService" and e.text == "Received: Hello, World!"
               for e in store.log_since(0))
