"""Seed 001's Production DSL examples: to_dict(), to_python() and to_mermaid() byte for byte."""

from __future__ import annotations

from pathlib import Path

from compat_harness import differential

COMPONENTS = {"demo_components.py": '''
    from iop import BusinessOperation, PollingBusinessService, target

    class FileService(PollingBusinessService):
        Output = target()

        def on_poll(self):
            pass

    class OrderOperation(BusinessOperation):
        def on_message(self, request):
            return request
'''}

INSTANCE_STYLE = '''
    from iop import Production
    from demo_components import FileService, OrderOperation

    prod = Production("Demo.Production")
    file = prod.service("FileInput", FileService)
    orders = prod.operation(OrderOperation)
    prod.connect(file.Output, orders)
    check("to_dict", lambda: prod.to_dict())
    check("to_python", lambda: prod.to_python())
    check("to_mermaid", lambda: prod.to_mermaid())
'''


def test_instance_style_example(tmp_path: Path) -> None:
    differential(COMPONENTS, INSTANCE_STYLE, tmp_path)
