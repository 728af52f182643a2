"""validate(strict): broken routes, unknown fields and settings that can be checked locally."""

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
        assert _valid().validate() == []
        assert _valid().validate(strict=True) == []


def test_route_to_a_missing_item_is_an_error() -> None:
    prod = _valid()
    prod.item("In").connect("Output", "Nowhere")
    with pytest.warns(ProductionValidationWarning, match="routes to Nowhere"):
        issues = prod.validate()
    assert [(i.level, i.item) for i in issues] == [("error", "In")]
    with pytest.raises(ProductionValidationError) as caught:
        prod.validate(strict=True)
    assert "item In: port Output routes to Nowhere, which is not an item of production " \
           "Demo.Valid" in str(caught.value)
    assert caught.value.issues == issues


def test_settings_checked_against_the_python_class() -> None:
    prod = Production("Demo.Settings")
    prod.service("In", Service).host_setting("Limit", "lots").host_setting("Typo", "1") \
        .host_setting("%settings", "a=1").host_setting("RetryInterval", "5")
    prod.production_setting("Unknown", "x").production_setting("ShutdownTimeout", "soon")
    # the engine's scheduled purge settings are known, not reported
    prod.production_setting("PurgeKeepDays", 30).production_setting("PurgeBodies", True)
    with pytest.warns(ProductionValidationWarning):
        issues = prod.validate()
    texts = sorted(str(i) for i in issues)
    assert texts == sorted([
        "item In: host setting Limit='lots' is not a valid int",
        "item In: host setting Typo is not declared by Service",
        "item In: required host setting Directory has no value",
        "production Demo.Settings: unknown production setting Unknown",
        "production Demo.Settings: production setting ShutdownTimeout must be an integer, "
        "not 'soon'",
    ])
    assert all(i.level == "warning" for i in issues)
    with pytest.raises(ProductionValidationError, match=r"and 4 more issue"):
        prod.validate(strict=True)


def test_unknown_export_fields_are_reported() -> None:
    data = _valid().to_dict()
    data["Demo.Valid"]["Custom"] = "x"
    data["Demo.Valid"]["Item"][0]["@Mystery"] = "y"
    prod = Production.from_dict(data)
    with pytest.warns(ProductionValidationWarning):
        texts = {str(i) for i in prod.validate()}
    assert texts == {"production Demo.Valid: unknown production field Custom",
                     "item Out: unknown item field @Mystery"}


def test_class_name_items_are_not_second_guessed() -> None:
    prod = Production("Demo.Builtins")
    out = prod.operation("FileOut", class_name="EnsLib.File.PassthroughOperation")
    prod.service("FileIn", class_name="EnsLib.File.PassthroughService") \
        .adapter_setting("FilePath", "/tmp/in").host_setting("Anything", "1") \
        .connect("TargetConfigNames", out)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert prod.validate(strict=True) == []
