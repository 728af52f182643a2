"""Production.validate() as IoP 4.1.1 has it: the report, its issues, the warnings and the strict
error, for the checks IoP makes without IRIS."""

from __future__ import annotations

from pathlib import Path

from compat_harness import SHARED_COMPONENTS, differential

COMPONENTS = {"val_components.py": SHARED_COMPONENTS}

INSTANCE_STYLE = '''
    from iop import (Production, ProductionValidationError, ProductionValidationIssue,
                     ProductionValidationReport, ProductionValidationWarning)
    from val_components import Poller, Router, Store

    def _raised(fn, kind=ProductionValidationError):
        try:
            fn()
        except kind as exc:
            return [exc]
        return []

    def build():
        prod = Production("Val.Production")
        poller = prod.service("Poller", Poller)
        router = prod.process("Router", Router)
        store = prod.operation("Store", Store)
        prod.connect(poller.Output, router)
        prod.connect(router.Next, store)
        return prod

    clean = build()
    check("clean report", lambda: clean.validate().to_dict())
    check("clean text", lambda: str(clean.validate()))
    check("clean has_issues", lambda: clean.validate().has_issues)
    check("clean strict", lambda: clean.validate(strict=True).issues)

    broken = build()
    broken.testing_enabeld = True          # a typo: not a Production field
    broken.item("Store").host_setting("Foldr", "/data")
    broken.item("Poller").host_setting("Limit", 7)
    broken.item("Router").host_setting("Next", "Ghost")
    broken.item("Router").adapter_setting("Port", "9")
    check("report", lambda: broken.validate().to_dict())
    check("report text", lambda: broken.validate().to_text())
    check("issue types", lambda: [type(i).__name__ for i in broken.validate().issues])
    check("issue text", lambda: [i.to_text() for i in broken.validate().issues])
    check("report type", lambda: type(broken.validate()).__name__)
    check("strict", lambda: broken.validate(strict=True))
    check("strict error", lambda: [isinstance(e, ValueError) and e.report.to_dict()
                                   for e in _raised(lambda: broken.validate(strict=True))])
    check("warning class", lambda: issubclass(ProductionValidationWarning, UserWarning))
    check("issue fields", lambda: ProductionValidationIssue("setting", "a.b", "m").to_dict())
    check("issue suggestion", lambda: ProductionValidationIssue("k", "p", "m", "s").to_text())
    check("empty report", lambda: ProductionValidationReport("X").to_text())
    check("positional strict", lambda: [type(e).__name__ for e in _raised(
        lambda: broken.validate(True), TypeError)])
'''

CLASS_STYLE = '''
    from iop import OperationItem, Production, Route, ServiceItem
    from val_components import Poller, Store

    STORE = OperationItem("Store", Store, settings={"Folder": "/x", "Colour": "blue"})

    class Declared(Production):
        name = "Val.Declared"
        services = (ServiceItem("Poller", Poller, routes=(Route(Poller.Output, STORE),)),)
        operations = (STORE,)

    prod = Declared()
    check("class-style report", lambda: prod.validate().to_dict())
    prod.descripton = "typo"
    check("class-style unknown attribute", lambda: prod.validate().to_dict())
'''


IRIS_ADAPTERS = {"file_components.py": '''
    from iop import BusinessService

    class FileIn(BusinessService):
        @classmethod
        def get_adapter_type(cls):
            return "EnsLib.File.InboundAdapter"

        def on_process_input(self, message_input):
            return None
'''}

IRIS_ADAPTER_SETTINGS = '''
    from iop import Production
    from file_components import FileIn

    prod = Production("Val.Files")
    prod.service("Python", FileIn).adapter_setting("FilePath", "/in").adapter_setting("FilePth", "x")
    prod.service("Builtin", class_name="EnsLib.File.PassthroughService") \\
        .adapter_setting("FileSpec", "*.txt").adapter_setting("ArchivPath", "/done")
    check("typo in a default IRIS adapter's settings", lambda: prod.validate().to_dict())
    prod.item("Python").adapter_setting("FilePth", None)
    prod.item("Builtin").adapter_setting("ArchivPath", None)
    check("default IRIS adapter settings spelled right", lambda: prod.validate().to_dict())
'''


def test_validate_flags_unknown_settings_of_default_iris_adapters(tmp_path: Path) -> None:
    theirs = differential(IRIS_ADAPTERS, IRIS_ADAPTER_SETTINGS, tmp_path, intended={
        "typo in a default IRIS adapter's settings":
            "IoP asks the IRIS class dictionary (nothing without IRIS); the engine knows the "
            "settings of the IRIS adapters it implements"})
    assert theirs["typo in a default IRIS adapter's settings"]["value"]["has_issues"] is False


def test_validate_report_warnings_and_strict_error(tmp_path: Path) -> None:
    differential(COMPONENTS, INSTANCE_STYLE, tmp_path)


def test_validate_class_style_production(tmp_path: Path) -> None:
    differential(COMPONENTS, CLASS_STYLE, tmp_path)


def test_ours_flags_the_typos_in_default_iris_adapter_settings(tmp_path: Path) -> None:
    from compat_harness import OURS, run

    ours = run(OURS, IRIS_ADAPTERS, IRIS_ADAPTER_SETTINGS, tmp_path / "ours")
    issues = ours["typo in a default IRIS adapter's settings"]["value"]["issues"]
    assert issues == [
        {"kind": "setting", "path": "items.Python.settings.Adapter.FilePth",
         "message": "Unknown setting name."},
        {"kind": "setting", "path": "items.Builtin.settings.Adapter.ArchivPath",
         "message": "Unknown setting name."},
    ]
