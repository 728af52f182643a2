"""A user's fake director, written for IoP 4.1.1: every lifecycle helper of Production and
ComponentRef must make the same director calls, with the same arguments, and return or raise
the same things on both packages."""

from __future__ import annotations

from pathlib import Path

from compat_harness import differential

COMPONENTS = {"fake_director.py": '''
    from dataclasses import dataclass

    from iop import BusinessOperation, BusinessProcess, Message, target


    @dataclass
    class Ping(Message):
        text: str = ""


    class Router(BusinessProcess):
        Next = target()

        def on_message(self, request):
            return self.send_request_sync(self.Next, request)


    class Echo(BusinessOperation):
        def on_message(self, request):
            return request


    class FakeDirector:
        """Records every call; answers with what the test set up."""

        def __init__(self, status=None, queue=None):
            self.calls = []
            self._status = status if status is not None else {
                "Production": "Demo.Fake", "Status": "running"}
            self._queue = queue if queue is not None else {
                "production": "Demo.Fake",
                "items": [{"item": "Echo", "queue_name": "Echo", "count": 3}],
                "warnings": ["slow"]}

        def _record(self, name, *args, **kwargs):
            self.calls.append([name, [repr(a) for a in args],
                               {k: repr(v) for k, v in sorted(kwargs.items())}])

        def __getattr__(self, name):
            if name.startswith("_"):
                raise AttributeError(name)

            def method(*args, **kwargs):
                self._record(name, *args, **kwargs)
                if name == "status_production":
                    if isinstance(self._status, Exception):
                        raise self._status
                    return self._status
                if name == "export_production_queue_info":
                    return self._queue
                if name == "test_component":
                    return {"classname": "Ping", "body": "{}", "truncated": False}
                return None

            return method


    def build(director=None, name="Demo.Fake"):
        from iop import Production

        prod = Production(name, director=director) if director is not None else Production(name)
        router = prod.process("Router", Router)
        echo = prod.operation("Echo", Echo)
        prod.connect(router.Next, echo)
        return prod
'''}

SCRIPT = '''
    from fake_director import FakeDirector, Ping, build

    def calls_of(action, director):
        def run():
            outcome = action()
            return {"returned": repr(outcome), "calls": director.calls}
        return run

    def case(label, action, **fake):
        director = FakeDirector(**fake)
        prod = build(director)
        check(label, calls_of(lambda: action(prod), director))

    # the production's own lifecycle, while it is the current production
    case("start", lambda p: p.start())
    case("start_attached", lambda p: p.start(detach=False))
    case("stop", lambda p: p.stop())
    case("restart", lambda p: p.restart())
    case("kill", lambda p: p.kill())
    case("update", lambda p: p.update())
    case("status", lambda p: p.status())
    case("export", lambda p: p.export())
    case("set_default", lambda p: p.set_default())
    case("log", lambda p: p.log())
    case("log_top", lambda p: p.log(5))
    case("queue", lambda p: p.queue())
    case("queue_info", lambda p: p.queue_info())
    case("queue_cached", lambda p: (p.queue(), p.queue(refresh=False)))
    case("queue_list", lambda p: p.queue(), queue=[{"name": "Echo", "count": 1}])
    case("queue_mapping", lambda p: p.queue(), queue={"Echo": {"count": 2}, "warnings": []})
    case("queue_invalid", lambda p: p.queue(), queue="nonsense")

    # one component, by name, ComponentRef, target setting path and port
    case("start_component", lambda p: p.start_component("Echo"))
    case("stop_component", lambda p: p.stop_component(p.item("Echo")))
    case("restart_component", lambda p: p.restart_component("Router.Next"))
    case("ref_start", lambda p: p.item("Echo").start())
    case("ref_stop", lambda p: p.item("Echo").stop())
    case("ref_restart", lambda p: p.item("Router").restart())

    # names that designate no item: IoP's ValueError texts, before any director call
    case("unknown_item", lambda p: p.start_component("Nothing"))
    case("unknown_item_in_path", lambda p: p.test("Nobody.Port"))
    case("unconnected_port", lambda p: p.stop_component("Echo.Output"))
    case("unknown_item_inspect", lambda p: p.inspect_component("Nothing"))

    # tests: a dataclass message travels as class name and JSON body
    case("test_component", lambda p: p.test_component("Echo", Ping("hi")))
    case("test_alias", lambda p: p.test("Router.Next", Ping("x")))
    case("test_classname_body", lambda p: p.test_component("Echo", classname="X.Y",
                                                            body={"a": 1}))
    case("test_plain_message", lambda p: p.test_component("Echo", "raw"))
    case("test_no_message", lambda p: p.test_component("Echo"))
    case("ref_test", lambda p: p.item("Echo").test(Ping("ref")))
    case("ref_test_body", lambda p: p.item("Echo").test(classname="A.B", body="{}"))

    # another production is current: every helper refuses with IoP's text
    other = {"status": {"Production": "Other.Prod", "Status": "running"}}
    for label, action in [("stop", lambda p: p.stop()), ("restart", lambda p: p.restart()),
                          ("kill", lambda p: p.kill()), ("update", lambda p: p.update()),
                          ("start_component", lambda p: p.start_component("Echo")),
                          ("stop_component", lambda p: p.stop_component("Echo")),
                          ("restart_component", lambda p: p.restart_component("Echo")),
                          ("test", lambda p: p.test_component("Echo"))]:
        case("other_running_" + label, action, **other)
    stopped_other = {"status": {"Production": "Other.Prod", "Status": "stopped"}}
    case("other_default_stop", lambda p: p.stop(), **stopped_other)
    case("other_default_test", lambda p: p.test_component("Echo"), **stopped_other)
    mine_stopped = {"status": {"Production": "Demo.Fake", "Status": "stopped"}}
    case("stopped_stop", lambda p: p.stop(), **mine_stopped)
    case("stopped_start_component", lambda p: p.start_component("Echo"), **mine_stopped)
    case("stopped_test", lambda p: p.test_component("Echo"), **mine_stopped)
    case("suspended_stop_component", lambda p: p.stop_component("Echo"),
         status={"Production": "Demo.Fake", "Status": "suspended"})
    case("empty_status_stop", lambda p: p.stop(), status={})
    case("status_only_state", lambda p: p.update(), status={"status": "stopped"})
    case("status_lowercase_keys", lambda p: p.update(),
         status={"production": "Demo.Fake", "status": "running"})
    case("status_not_a_dict", lambda p: p.kill(), status=["running"])
    case("status_raises", lambda p: p.restart(), status=ConnectionError("down"))
    case("status_raises_test", lambda p: p.test("Echo"), status=ConnectionError("down"))

    # inspect: the runtime part comes from the director
    def runtime_of(p, **options):
        return p.inspect_component("Echo", **options).get("runtime")
    case("inspect_runtime", runtime_of)
    case("inspect_runtime_other", runtime_of, **other)
    case("inspect_ref_runtime", lambda p: p.item("Echo").inspect().get("runtime"))
    case("inspect_no_refresh", lambda p: runtime_of(p, refresh=False))
    case("inspect_cached", lambda p: (p.queue(), runtime_of(p, refresh=False)))
    case("inspect_status_raises", runtime_of, status=ConnectionError("down"))

    # with_director swaps the director; from_iris asks it for the export and connections
    def swapped():
        first, second = FakeDirector(), FakeDirector()
        prod = build(first).with_director(second)
        prod.stop()
        return {"first": first.calls, "second": second.calls}
    check("with_director", swapped)

    class Exporting(FakeDirector):
        def export_production(self, name):
            self._record("export_production", name)
            return {"Production": {"@Name": name, "@TestingEnabled": "true", "Item": [
                {"@Name": "Echo", "@ClassName": "Python.Echo", "@Enabled": "true"}]}}

        def export_production_connections(self, name):
            self._record("export_production_connections", name)
            return {"production": name, "items": [
                {"item": "Echo", "class_name": "Python.Echo", "kind": "operation",
                 "connections": []}]}

    def from_iris():
        from iop import Production

        director = Exporting()
        prod = Production.from_iris("Demo.Fake", director=director)
        prod.update()
        echo = prod.item("Echo")
        return {"item": [echo.name, echo.class_name], "namespace": prod.namespace,
                "calls": director.calls}
    check("from_iris", from_iris)

    class NoConnections(Exporting):
        def export_production_connections(self, name):
            raise RuntimeError("no connections here")

    def from_iris_without_connections():
        from iop import Production

        director = NoConnections()
        prod = Production.from_iris("Demo.Fake", director=director)
        return {"item": prod.item("Echo").name, "calls": director.calls}
    check("from_iris_connections_fail", from_iris_without_connections)

    # the protocol is exported, and a fake with every method satisfies it
    def protocol():
        from iop import DirectorProtocol

        names = sorted(n for n in vars(DirectorProtocol) if not n.startswith("_"))
        return names
    check("protocol_methods", protocol)

    # the director a Production uses by default takes the same arguments, with the same
    # defaults, as IoP's local director, and satisfies the protocol
    def parameters(cls):
        import inspect

        from iop import DirectorProtocol

        names = sorted(n for n in vars(DirectorProtocol) if not n.startswith("_")
                       and n != "namespace")
        return {n: [[p.name, repr(p.default), p.kind.name]
                    for p in inspect.signature(getattr(cls, n)).parameters.values()]
                for n in names}

    def default_director():
        try:
            from iop.runtime.local import _LocalDirector as LocalDirector  # IoP
        except ImportError:
            from iop import Director as LocalDirector  # ours
        return parameters(LocalDirector)
    check("default_director_parameters", default_director)

    def protocol_parameters():
        from iop import DirectorProtocol

        return parameters(DirectorProtocol)
    check("protocol_parameters", protocol_parameters)

    def fake_satisfies_protocol():
        from iop import DirectorProtocol

        class Complete:
            pass
        for name in vars(DirectorProtocol):
            if not name.startswith("_"):
                setattr(Complete, name, lambda self, *a, **k: None)
        return [isinstance(Complete(), DirectorProtocol), isinstance(object(), DirectorProtocol)]
    check("protocol_runtime_checkable", fake_satisfies_protocol)
'''


def test_fake_director_sees_the_calls_iop_makes(tmp_path: Path) -> None:
    differential(COMPONENTS, SCRIPT, tmp_path)
