"""Class-style and fluent DSL mistakes: the exception a user's ``except`` sees and its text,
next to IoP 4.1.1's (our ProductionError is a ValueError, so both report ValueError)."""

from __future__ import annotations

from pathlib import Path

from compat_harness import differential

COMPONENTS = {"err_components.py": '''
    from iop import BusinessOperation, BusinessProcess, target

    class Op(BusinessOperation):
        pass

    class Router(BusinessProcess):
        Out = target()
'''}

SCRIPT = '''
from iop import ComponentItem, OperationItem, Production, Route, ServiceItem
from err_components import Op, Router


def outcome(fn):
    def run():
        try:
            return ["returned", type(fn()).__name__]
        except ValueError as exc:
            return ["ValueError", str(exc)]
        except TypeError as exc:
            return ["TypeError", str(exc)]
    return run


def make(**attrs):
    return type("X", (Production,), {"name": "X", **attrs})()


cases = {
    "wrong group": lambda: make(services=(OperationItem("A", "X.A"),)),
    "not a declaration": lambda: make(services=("A",)),
    "no class": lambda: make(operations=(OperationItem("A"),)),
    "conflicting class": lambda: make(operations=(OperationItem("A", "X.A", class_name="Y.B"),)),
    "duplicate host keys": lambda: make(operations=(
        OperationItem("A", "X.A", settings={"L": 1, "M": 2}, host_settings={"M": 3, "L": 2}),)),
    "route port in host settings": lambda: make(services=(ServiceItem(
        "S", "X.S", settings={"TargetConfigNames": "A"},
        routes=(Route("TargetConfigNames", "A"),)),)),
    "route without targets": lambda: make(services=(ServiceItem(
        "S", "X.S", routes=(Route("TargetConfigNames", ()),)),)),
    "route to a number": lambda: make(services=(ServiceItem(
        "S", "X.S", routes=(Route("TargetConfigNames", 5),)),)),
    "route to a list with a number": lambda: make(services=(ServiceItem(
        "S", "X.S", routes=(Route("TargetConfigNames", ["A", 5]),)),)),
    "route port of another class": lambda: make(components=(ComponentItem(
        "S", Op, routes=(Route(Router.Out, "S"),)),)),
    "routes holding text": lambda: make(services=(ServiceItem("S", "X.S", routes=("x",)),)),
    "connect a port of another class": lambda: Production("Q").operation(Op).connect(
        Router.Out, "Op"),
    "connect from an item, not a port": lambda: (lambda q: q.connect(
        q.operation(Op), q.operation("B", class_name="X.B")))(Production("Q")),
    "route to an item the production lacks": lambda: make(services=(ServiceItem(
        "S", "X.S", routes=(Route("TargetConfigNames", "Ghost"),)),)),
    "negative pool size": lambda: Production("Q").operation(Op).pool(-1),
}
for label, case in cases.items():
    check(label, outcome(case))
'''

INTENDED = {
    "route to an item the production lacks":
        "the engine builds the production and validate() reports the broken route, as for "
        "every route (IoP refuses while building)",
    "negative pool size": "the engine runs the item with that many jobs, so it must be an "
                          "integer >= 0 (IoP stores any value)",
}


def test_dsl_errors(tmp_path: Path) -> None:
    differential(COMPONENTS, SCRIPT, tmp_path, intended=INTENDED)
