"""The Production DSL's behaviours next to IoP 4.1.1's: routes, target defaults, settings,
item changes, exports and the errors a user's mistakes get.

Our errors are ProductionError (a ValueError) where IoP raises a plain ValueError, so the
script reports ``ValueError: text`` for both: a user's ``except ValueError`` sees the same.
"""

from __future__ import annotations

from pathlib import Path

from compat_harness import differential

COMPONENTS = {"flow_components.py": '''
    from iop import BusinessOperation, BusinessProcess, PersistentMessage, PollingBusinessService
    from iop import setting, target

    class Poller(PollingBusinessService):
        Output = target()
        Limit = setting(5)

        def on_poll(self):
            pass

    class Router(BusinessProcess):
        Valid = target()
        Invalid = target("AuditOperation")

    class AuditOperation(BusinessOperation):
        pass

    class Order_Op(BusinessOperation):
        pass

    class Order(PersistentMessage):
        pass
'''}

SCRIPT = '''
from iop import Production, ServiceItem
from flow_components import AuditOperation, Order, Order_Op, Poller, Router


def value_error(fn):
    def run():
        try:
            return ["returned", repr(fn())]
        except ValueError as exc:
            return ["ValueError", str(exc)]
        except TypeError as exc:
            return ["TypeError", str(exc)]
    return run


prod = Production("Demo.Flow")
poller = prod.service("In", Poller)
router = prod.process(Router)
check("target default before its item", lambda: dict(router.host_settings))
audit = prod.operation(AuditOperation)
orders = prod.add_component("Orders", Order_Op, kind="operation")
check("auto class name", lambda: orders.class_name)
check("target default", lambda: [dict(router.host_settings), router.Invalid.resolve()])
check("items", lambda: [ref.name for ref in prod.items])
check("duplicate item", value_error(lambda: prod.operation(AuditOperation)))
check("missing item", value_error(lambda: prod.item("Nowhere")))
check("no class", value_error(lambda: prod.operation("Bare")))
check("unconnected port", value_error(lambda: poller.Output.resolve()))
check("connect to a missing item", value_error(lambda: prod.connect(poller.Output, "Nowhere")))
check("connect a bare target()", value_error(lambda: prod.connect(Poller.Output, audit)))
check("bad mode", value_error(lambda: prod.connect(poller.Output, audit, mode="swap")))
check("connect", lambda: prod.connect(poller.Output, router))
check("path", lambda: [str(poller.Output), poller.Output.path, poller.Output.item_name])
check("resolve", lambda: poller.Output.resolve())
check("fan out", lambda: [poller.connect("Output", orders, mode="add") is poller,
                          poller.host_settings["Output"]])
check("ambiguous", value_error(lambda: poller.Output.resolve()))
check("edges", lambda: sorted([e.source_item, e.source_target_setting, e.target]
                              for e in prod.edges))
check("remove one target", lambda: [prod.connect(poller.Output, orders, mode="remove"),
                                    poller.host_settings["Output"]])
check("remove a target not there",
      value_error(lambda: prod.connect(poller.Output, orders, mode="remove")))
check("resolve_target", lambda: [prod.resolve_target("In.Output"), prod.resolve_target(audit)])
check("disconnect", lambda: [prod.disconnect("In.Output"), dict(poller.host_settings)])
check("disconnect again", value_error(lambda: prod.disconnect("In.Output")))
check("disconnect without a port", value_error(lambda: prod.disconnect("In")))
check("setting by descriptor", lambda: dict(poller.host_setting(Poller.Limit, 9).host_settings))
check("setting values", lambda: dict(poller.host_setting("Flag", True)
                                      .adapter_setting("Rate", 2.5).host_settings))
check("update_component", lambda: update(prod))
check("update unknown field", value_error(lambda: prod.update_component("In", colour="red")))
check("delete_component", lambda: [prod.delete_component(audit), [r.name for r in prod.items],
                                   dict(router.host_settings)])
check("message", lambda: [prod.message("Demo.Order", Order) is prod,
                          [r.iris_classname for r in prod.message_registrations()]])
check("message twice", lambda: prod.message("Demo.Order", Order) is prod)
check("message clash", value_error(lambda: prod.message("Demo.Other", Order)))
check("message not persistent", value_error(lambda: prod.message("Demo.X", Poller)))
check("message no name", value_error(lambda: prod.message(" ", Order)))
check("registrations", lambda: [[r.name for r in prod.component_registrations()],
                                [r.name for r in prod.adapter_registrations()]])
check("component ref to_dict", lambda: poller.to_dict())
check("to_dict", lambda: prod.to_dict())
check("to_xml", lambda: prod.to_xml())
check("to_python", lambda: prod.to_python())
check("to_class", lambda: prod.to_class())
check("to_mermaid TB", lambda: prod.to_mermaid(direction="TB"))
check("to_mermaid bad direction", value_error(lambda: prod.to_mermaid(direction="up")))
prod.connect(router.Valid, orders)
poller.connect("Output", router).connect("Output", "Orders", mode="append")
check("graph text", lambda: str(prod.graph()))
check("graph dict", lambda: prod.graph().to_dict())
check("graph names", lambda: [prod.graph().production_name, len(prod.graph().edges),
                              [node.kind for node in prod.graph().nodes]])
check("mermaid with fan-out", lambda: prod.to_mermaid())


def update(production):
    ref = production.update_component("In", pool_size=3, comment="c",
                                      settings={"Limit": None, "Other": "x"},
                                      adapter_settings={"Rate": None})
    return [ref.pool_size, ref.comment, dict(ref.host_settings), dict(ref.adapter_settings)]


class Unnamed(Production):
    services = (ServiceItem("In", "EnsLib.File.PassthroughService"),)


check("class-style name", lambda: Unnamed().name)
check("class-style to_dict", lambda: Unnamed().to_dict())
check("constructor settings", lambda: Production("Demo.Args", testing_enabled=True,
                                                 shutdown_timeout=30, alert_action_window=60,
                                                 description="d").to_dict())
other = Production("Demo.Other")
stranger = other.operation("Stranger", class_name="Demo.Stranger")
check("connect across productions", value_error(lambda: prod.connect(poller.Output, stranger)))
'''


# ComponentRef.host_settings holds the text IRIS stores (what to_dict writes, in both
# packages); IoP keeps the Python value. Drafts (to_python/to_class) write the value as given.
STORED_AS_TEXT = "ComponentRef settings hold the stored text ('9', 'true'), as the engine reads them"


def test_dsl_behaviour(tmp_path: Path) -> None:
    differential(COMPONENTS, SCRIPT, tmp_path, intended={
        "setting by descriptor": STORED_AS_TEXT, "setting values": STORED_AS_TEXT,
        "graph dict": "the same edges, listed in item order (the engine derives them from the "
                      "items' target settings); IoP lists them in the order connect() was called"})
