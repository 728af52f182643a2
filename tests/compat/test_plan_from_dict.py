"""Production.from_dict(export, connections=..., queue_info=...) as IoP 4.1.1 has it: runtime
connections become runtime edges of the settings that name them, others routes seen only at
runtime, compared through diff() and graph_diff()."""

from __future__ import annotations

from pathlib import Path

from compat_harness import differential

COMPONENTS = {"fd_components.py": '''
    from iop import BusinessOperation, BusinessProcess, setting, target

    class Router(BusinessProcess):
        Next = target()

        def on_message(self, request):
            return request

    class Store(BusinessOperation):
        Folder = setting("/tmp")

        def on_message(self, request):
            return request
'''}

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
