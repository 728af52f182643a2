"""validate(strict=): IoP's report of broken routes, unknown fields and settings that can be
checked locally (tests/compat/test_validate_report.py compares it with IoP's)."""

from __future__ import annotations

import warnings

import pytest

from iop import (
    BusinessOperation,
    BusinessService,
    Production,
    ProductionValidationError,
    setting,
    target,
)
from iop.production import ProductionValidationWarning


class Service(BusinessService):
    Output = target()
    Limit = setting(10)
    Directory = setting("", required=True)


class Operation(BusinessOperation):
    pass


def _valid() -> Production:
    prod = Production("Demo.Valid")
    op = prod.operation("Out", Operation)
    prod.service("In", Service).host_setting("Directory", "/tmp").connect("Output", op)
    return prod


def test_a_valid_production_has_no_issues() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert _valid().validate().issues == ()
        assert _valid().validate(strict=True).issues == ()


def test_route_to_a_missing_item_is_an_error() -> None:
    prod = _valid()
    prod.item("In").connect("Output", "Nowhere")
    with pytest.warns(ProductionValidationWarning, match="missing production item 'Nowhere'"):
        report = prod.validate()
    assert [(i.kind, i.path) for i in report.issues] == [("route",
                                                          "items.In.settings.Host.Output")]
    with pytest.raises(ProductionValidationError) as caught:
        prod.validate(strict=True)
    assert "route items.In.settings.Host.Output: Target setting references missing production " \
           "item 'Nowhere'." in str(caught.value)
    assert caught.value.report == report


def test_settings_checked_against_the_python_class() -> None:
    prod = Production("Demo.Settings")
    prod.service("In", Service).host_setting("Limit", "lots").host_setting("Typo", "1") \
        .host_setting("%settings", "a=1").host_setting("RetryInterval", "5")
    prod.production_setting("Unknown", "x").production_setting("ShutdownTimeout", "soon")
    # the engine's scheduled purge settings are known, not reported
    prod.production_setting("PurgeKeepDays", 30).production_setting("PurgeBodies", True)
    with pytest.warns(ProductionValidationWarning):
        report = prod.validate()
    assert [issue.to_text() for issue in report.issues] == [
        "production production.settings.Unknown: Unknown production-level setting.",
        "production production.settings.ShutdownTimeout: Production setting value 'soon' is "
        "not an integer.",
        "setting items.In.settings.Host.Limit: Value 'lots' is not a valid int.",
        "setting items.In.settings.Host.Typo: Unknown setting name.",
        "setting items.In.settings.Host.Directory: Required setting has no value.",
    ]
    with pytest.raises(ProductionValidationError, match=r"Typo: Unknown setting name"):
        prod.validate(strict=True)


def test_unknown_export_fields_are_reported() -> None:
    data = _valid().to_dict()
    data["Demo.Valid"]["Custom"] = "x"
    data["Demo.Valid"]["Item"][0]["@Mystery"] = "y"
    prod = Production.from_dict(data)
    with pytest.warns(ProductionValidationWarning):
        texts = {issue.to_text() for issue in prod.validate().issues}
    assert texts == {"production production.Custom: Unknown production dictionary key.",
                     "item items.Out.@Mystery: Unknown item dictionary key."}


def test_iris_class_items_are_checked_against_the_engine_built_ins() -> None:
    prod = Production("Demo.Builtins")
    out = prod.operation("FileOut", class_name="EnsLib.File.PassthroughOperation")
    service = prod.service("FileIn", class_name="EnsLib.File.PassthroughService") \
        .adapter_setting("FilePath", "/tmp/in").host_setting("RetryInterval", "5") \
        .connect("TargetConfigNames", out)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert prod.validate(strict=True).issues == ()
    service.host_setting("Anything", "1").adapter_setting("FilPath", "/tmp")
    with pytest.raises(ProductionValidationError) as caught:
        prod.validate(strict=True)
    assert [issue.path for issue in caught.value.report.issues] == [
        "items.FileIn.settings.Host.Anything", "items.FileIn.settings.Adapter.FilPath"]
