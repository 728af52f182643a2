"""IRISProperty and IRISParameter as production settings, through iop's settings metadata."""

from __future__ import annotations

import pytest

from intersystems_pyprod import (
    BusinessOperation,
    BusinessService,
    InboundAdapter,
    IRISParameter,
    IRISProperty,
    OutboundAdapter,
)
from iop.components.settings import apply_settings, describe_settings, missing_required

iris_package_name = "unitset"
ITEMS = "selector?context={Ens.ContextSearch/ProductionItems?targets=1&productionName=@productionId}"


class Poller(InboundAdapter):
    folder = IRISProperty("/tmp", description="Where to look", settings="Basic")


class Sender(OutboundAdapter):
    retries = IRISProperty(3, datatype="%Integer", settings="Connection")


class Feed(BusinessService):
    ADAPTER = IRISParameter("unitset.Poller")
    VERSION = IRISParameter(2, datatype="int")
    target = IRISProperty(settings="Target")
    route = IRISProperty(settings=f"Basic:{ITEMS}")
    limit = IRISProperty(10, datatype="int", description="Largest batch", settings="Basic")
    ratio: float = IRISProperty(0.5, settings="")
    enabled = IRISProperty(True, datatype="bool", settings=":checkbox")
    seen = IRISProperty([])                      # an instance variable, not a setting
    counter = IRISProperty(0, settings="-")      # also not a setting


class Quieter(Feed):
    limit = IRISProperty(settings="-")            # hides the inherited setting


class Writer(BusinessOperation):
    ADAPTER = IRISParameter("unitset.Sender")
    MessageMap = {"unitset.Nothing": "OnMessage"}


def _by_name(cls: type) -> dict:
    return {info.name: info for info in describe_settings(cls)}


def test_properties_with_settings_are_item_settings() -> None:
    settings = _by_name(Feed)
    # The engine's own settings of every service (alerting) come first, as base classes do.
    engine_settings = [i.name for i in describe_settings(BusinessService)]
    assert engine_settings == ["AlertOnError", "InactivityTimeout"]
    assert list(settings) == [*engine_settings, "target", "route", "limit", "ratio", "enabled"]
    limit = settings["limit"]
    assert (limit.python_type, limit.default, limit.category, limit.description) == \
        ("int", 10, "Basic", "Largest batch")
    assert settings["target"].category == "Target" and settings["target"].control is None
    assert settings["ratio"].python_type == "float" and settings["ratio"].section == "Python Attributes"
    assert settings["enabled"].control == "checkbox" and settings["enabled"].python_type == "bool"


def test_production_item_selector_makes_a_route_port() -> None:
    settings = _by_name(Feed)
    assert settings["route"].is_target and settings["route"].control == ITEMS
    assert not settings["target"].is_target


def test_parameters_messagemap_and_plain_properties_are_not_settings() -> None:
    assert "ADAPTER" not in _by_name(Feed) and "VERSION" not in _by_name(Feed)
    assert "MessageMap" not in _by_name(Writer)
    assert "seen" not in _by_name(Feed) and "counter" not in _by_name(Feed)


def test_dash_hides_an_inherited_setting() -> None:
    assert "limit" not in _by_name(Quieter) and "target" in _by_name(Quieter)


def test_adapter_properties_are_adapter_settings() -> None:
    assert _by_name(Poller)["folder"].default == "/tmp"
    retries = _by_name(Sender)["retries"]
    assert (retries.python_type, retries.category) == ("int", "Connection")
    assert "CallInterval" in _by_name(Poller)  # inherited from the engine's inbound adapter


def test_configured_text_is_converted_to_the_declared_type() -> None:
    feed = Feed()
    assert apply_settings(feed, {"limit": "25", "enabled": "false", "ratio": "0.25",
                                 "target": "Router"}) == []
    assert (feed.limit, feed.enabled, feed.ratio, feed.target) == (25, False, 0.25, "Router")
    assert Feed().limit == 10  # values belong to the instance
    with pytest.raises(ValueError, match="'limit'.*not a valid int"):
        apply_settings(Feed(), {"limit": "many"})
    assert missing_required(Feed, {}) == []


def test_instance_variables_are_per_instance() -> None:
    one, two = Feed(), Feed()
    one.seen.append(1)
    one.counter += 1
    assert two.seen == [] and two.counter == 0 and one.counter == 1


def test_adapter_parameter_names_the_adapter_class() -> None:
    assert Feed.get_adapter_type() == "unitset.Poller"
    assert Writer.get_adapter_type() == "unitset.Sender"
    assert BusinessService.get_adapter_type() is None
    feed = Feed()
    assert feed.ADAPTER is None and feed.VERSION == 2
    adapter = Poller()
    feed.Adapter = adapter  # what the engine does when it starts the host
    assert feed.ADAPTER is adapter
    with pytest.raises(AttributeError, match="class constant"):
        feed.VERSION = 3


def test_names_use_the_package() -> None:
    assert Feed._pyprod_name == "unitset.Feed"
    assert Poller._pyprod_name == "unitset.Poller"


class Exported(BusinessService):
    target_name = IRISProperty(settings="Basic")
    batch_size = IRISProperty(5, datatype="int", settings="Basic")


def test_settings_exported_from_iris_under_pascal_names_are_adopted() -> None:
    # IRIS shows `target_name` as TargetName; a production exported from IRIS uses that name.
    service = Exported.__new__(Exported)
    assert apply_settings(service, {"TargetName": "Router", "BatchSize": "7"}) == \
        ["TargetName", "BatchSize"]
    service.on_init()
    assert (service.target_name, service.batch_size) == ("Router", 7)
    assert "TargetName" not in service.__dict__


def test_target_category_gets_the_item_picker() -> None:
    from iop.components.widgets import widget_for

    target = _by_name(Feed)["target"]
    widget = widget_for(target.control, target.python_type or "str", target.is_target,
                        target.category)
    assert (widget.kind, widget.targets, widget.multi) == ("item", True, False)
    limit = _by_name(Feed)["limit"]
    assert widget_for(limit.control, "int", limit.is_target, limit.category).kind == "number"
