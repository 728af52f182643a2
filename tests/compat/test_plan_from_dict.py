"""Production.from_dict(export, connections=..., queue_info=...) as IoP 4.1.1 has it: runtime
connections become runtime edges of the settings that name them, others routes seen only at
runtime, compared through diff() and graph_diff()."""

from __future__ import annotations

from pathlib import Path

from compat_harness import SHARED_COMPONENTS, differential

COMPONENTS = {"fd_components.py": SHARED_COMPONENTS}

SCRIPT = '''
    from iop import Production
    from fd_components import Router, Store

    prod = Production("FromDict.Production")
    router = prod.process("Router", Router, class_name="Demo.Router")
    store = prod.operation("Store", Store, class_name="Demo.Store")
    prod.operation("Audit", class_name="Demo.Audit")
    prod.connect(router.Next, store)
    export = prod.to_dict()

    items = {"items": [{"item": "Router", "kind": "process", "connections": [
        {"target": "Store", "source_target_setting": "Next"},
        {"target": "Audit", "interaction": "async"}, "Ens.Alert"]}]}
    by_source = {"Router": ["Store", "Audit"]}
    edges = [{"source": "Router.Next", "target": "Store"}]
    for label, connections in (("items", items), ("by source", by_source), ("edges", edges)):
        imported = Production.from_dict(export, connections=connections,
                                        queue_info={"Store": {"count": 3}})
        check(f"{label}: graph_diff", lambda: prod.graph_diff(imported).to_dict())
        check(f"{label}: diff", lambda: prod.diff(imported).to_dict())
    check("no connections", lambda: prod.graph_diff(Production.from_dict(export)).to_dict())
    check("namespace", lambda: Production.from_dict(export, namespace="OTHER").namespace)
'''


def test_from_dict_with_runtime_connections(tmp_path: Path) -> None:
    differential(COMPONENTS, SCRIPT, tmp_path)


SOURCES = {"src_hosts.py": '''
    from iop import BusinessOperation, BusinessProcess, target

    class Router(BusinessProcess):
        Next = target()
        AUDIT = "Audit"

        def on_message(self, request):
            self.send_request_async(self.AUDIT, request)
            self.send_request_async("Archive", request)
            return self.send_request_sync(self.Next, request)

    class Store(BusinessOperation):
        def on_message(self, request):
            return request
'''}

SOURCE_SCRIPT = '''
    from iop import Production

    export = {"Production": {"@Name": "Src.Production", "Item": [
        {"@Name": "Router", "@ClassName": "Python.src_hosts.Router",
         "Setting": [{"@Target": "Host", "@Name": "Next", "#text": "Store"},
                     {"@Target": "Host", "@Name": "%module", "#text": "src_hosts"},
                     {"@Target": "Host", "@Name": "%classname", "#text": "Router"}]},
        {"@Name": "Plain", "@ClassName": "Python.src_hosts.Router"},
        {"@Name": "Store", "@ClassName": "Python.src_hosts.Store"},
        {"@Name": "Audit", "@ClassName": "Python.src_hosts.Store"},
        {"@Name": "Archive", "@ClassName": "Python.src_hosts.Store"}]}}
    imported = Production.from_dict(export)
    bare = Production("Src.Production")
    for name in ("Router", "Plain", "Store", "Audit", "Archive"):
        router = name in ("Router", "Plain")
        bare.operation(name, class_name=f"Python.src_hosts.{'Router' if router else 'Store'}")
    check("routes the sources show", lambda: bare.graph_diff(imported).to_dict())
    check("deployable diff", lambda: bare.diff(imported).to_dict())
'''


def test_from_dict_infers_routes_from_python_sources(tmp_path: Path) -> None:
    differential(SOURCES, SOURCE_SCRIPT, tmp_path)
